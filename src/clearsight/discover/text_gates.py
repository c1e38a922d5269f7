"""Which of the detectors' gate words a text holds, found in one pass over it when Hyperscan is installed.

Why: most files in a big tree matter to no detector, and each detector settles that first by searching the text
for a few words ("connect", "ModelGuard", "load"…). Those searches were a third of discovery's time on a tree of
installed packages: fifty-odd passes over every Python file, each a fast C loop, but fifty of them. With the
optional Hyperscan library (``pip install 'clearsight[fast]'``) every registered word and pattern is found in one
pass; without it, each word is searched for the first time a detector asks, as before. A detector gets the same
answers either way, so no report depends on whether the library is there.

Detectors register their words when their module is imported (:func:`register_words`); a word that was never
registered is still answered, by a plain search. Three kinds of question:

- :meth:`Gates.holds` — ``word in text``, exactly.
- :meth:`Gates.folded_found` — which registered lower-case ASCII words are in the text folded as Python folds
  identifiers (NFKC, then lower case), answered from the pass when folding cannot make an ASCII letter, digit or
  "_" out of the text's other characters (the Kelvin sign folds to "k", "ﬁ" to "fi"): ASCII texts, and texts
  whose non-ASCII parts (accents in names, dashes and symbols in docstrings) fold to none.
- :meth:`Gates.may_match` — False only when a registered pattern (:func:`register_pattern`) certainly does not
  match; True without the library or for texts that are not ASCII (for a pattern registered ``folded=True``:
  texts ``folded_found`` answers for). For gates whose exact test is slower Python.
- :meth:`Gates.nowhere` — the pass's own answer for a pattern, for any text: a caller that knows which of its
  lines holding characters that are not ASCII could matter asks a second pattern about those.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearsight.discover.folding import makes_word_chars

log = logging.getLogger(__name__)

_words: dict[str, int] = {}  # word -> id, case-sensitive
_folded: dict[str, int] = {}  # lower-case word -> id, matched without regard to ASCII case
_patterns: dict[str, tuple[int, bytes, bytes]] = {}  # name -> (id, expression on ASCII bytes, a text it matches)
_folded_patterns: set[str] = set()  # patterns asked about the folded text (see register_pattern)
_later: list[Callable[[], Iterable[str]]] = []  # folded words listed when the database is built
_lock = threading.RLock()


def register_words(words: Iterable[str]) -> None:
    """Words :meth:`Gates.holds` should answer from the single pass."""
    _add(_words, words)


def register_folded(words: Iterable[str]) -> None:
    """Lower-case ASCII words :meth:`Gates.folded_found` should answer from the single pass."""
    _add(_folded, _checked_folded(words))


def register_folded_later(words: Callable[[], Iterable[str]]) -> None:
    """Like :func:`register_folded`, for words that take work to list (the catalogue's): listed when the
    database is built, so importing a detector stays cheap."""
    with _lock:
        _later.append(words)
        _Engine.stale = True


def register_pattern(name: str, expression: str, example: str, *, folded: bool = False) -> None:
    """A Hyperscan expression (no look-arounds or back-references) over ASCII text, asked by name. ``example``
    is a text it matches: every database, compiled or read from the cache, must find each example before it is
    used.

    ``folded``: the caller's exact test reads the folded text with every other character as an ASCII letter
    (:func:`~clearsight.discover.python_imports.ascii_stand_in`), and the expression matches caselessly and
    takes any byte that is not ASCII as a character that is no letter, digit or "_" (``[^a-z_]``): on a text
    whose other characters fold to no ASCII it then matches wherever the exact test could, so it is asked
    about those texts too instead of answering "may match"."""
    entry = (expression.encode(), example.encode())
    with _lock:
        if name in _patterns and (_patterns[name][1:] != entry or (name in _folded_patterns) != folded):
            raise ValueError(f"gate pattern {name!r} registered twice with different expressions")
        if name not in _patterns:
            _patterns[name] = (_next_id(), *entry)
            if folded:
                _folded_patterns.add(name)
            _Engine.stale = True


def _checked_folded(words: Iterable[str]) -> list[str]:
    words = list(dict.fromkeys(words))  # a repeated word must not take two numbers
    if any(not w.isascii() or w != w.lower() for w in words):
        raise ValueError("folded gate words must be lower-case ASCII")
    return words


def _add(table: dict[str, int], words: Iterable[str]) -> None:
    with _lock:
        for word in words:
            if word and word not in table:
                table[word] = _next_id()
                _Engine.stale = True


def _next_id() -> int:
    return len(_words) + len(_folded) + len(_patterns)


@dataclass(frozen=True)
class _Compiled:
    """One build, published whole, so a thread never sees a database without its scratch space or names."""

    database: Any
    prototype: Any  # a scratch space for the database, cloned once per thread
    folded_by_id: dict[int, str]
    folded: frozenset[str]


class _Engine:
    """The compiled database of every registered word and pattern, rebuilt when more are registered."""

    stale = True
    compiled: _Compiled | None = None
    available: bool | None = None  # None: not tried yet
    scratch: threading.local = threading.local()

    @classmethod
    def get(cls) -> _Compiled | None:
        if cls.available is False:
            return None
        if cls.stale:
            with _lock:
                if cls.stale:
                    cls._build()
        return cls.compiled

    @classmethod
    def _build(cls) -> None:
        try:
            import hyperscan
        except ImportError:
            cls.available = False
            return
        try:
            while _later:
                _add(_folded, _checked_folded(_later[0]()))
                _later.pop(0)  # only once its words are in: a listing that failed is tried again next build
        except Exception as exc:  # the words stay unknown to the pass, so every answer falls back to a search
            log.warning("gate words not listed (%s); searching word by word", exc)
            cls.available = False
            return
        expressions: list[bytes] = []
        ids: list[int] = []
        flags: list[int] = []
        single = hyperscan.HS_FLAG_SINGLEMATCH
        for word, ident in _words.items():
            expressions.append(re.escape(word).encode())
            ids.append(ident)
            flags.append(single)
        for word, ident in _folded.items():
            expressions.append(re.escape(word).encode())
            ids.append(ident)
            flags.append(single | hyperscan.HS_FLAG_CASELESS)
        for ident, expression, _example in _patterns.values():
            expressions.append(expression)
            ids.append(ident)
            flags.append(single)
        if not expressions:
            cls.compiled, cls.available, cls.stale = None, True, False
            return
        version = getattr(hyperscan, "__version__", "")
        key = hashlib.sha256(repr((version, expressions, ids, flags)).encode()).hexdigest()[:32]
        database = _cached(hyperscan, key)
        if database is not None and not _finds_everything(hyperscan, database):
            log.warning("cached gate words in %s do not find what they must; compiling them again", cache_dir())
            database = None
        if database is None:
            try:
                database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
                if not _finds_everything(hyperscan, database):
                    raise ValueError("a pattern misses its own example")
            except Exception as exc:  # a pattern Hyperscan refuses: search word by word, as without the library
                log.warning("gate words not compiled (%s); searching word by word", exc)
                cls.available = False
                return
            _keep(hyperscan, key, database)
        cls.compiled = _Compiled(database=database, prototype=hyperscan.Scratch(database),
                                 folded_by_id={ident: word for word, ident in _folded.items()},
                                 folded=frozenset(_folded))
        cls.available, cls.stale = True, False  # published last: other threads wait on the lock until now

    @classmethod
    def scan(cls, data: bytes) -> tuple[_Compiled, set[int]] | None:
        build = cls.get()
        if build is None:
            return None
        local = cls.scratch
        scratch = local.value if getattr(local, "build", None) is build else None
        if scratch is None:
            scratch = local.value = build.prototype.clone()
            local.build = build
        found: set[int] = set()
        build.database.scan(data, match_event_handler=_collect, context=found, scratch=scratch)
        return build, found


def _finds_everything(hyperscan: Any, database: Any) -> bool:
    """Whether the database finds every registered word, folded word (written in capitals, so the case is
    ignored as it must be) and pattern (in its example): a database that misses one would silently make a
    detector skip files. Checked on every database before use, compiled or read from the cache."""
    scratch = hyperscan.Scratch(database)
    probes = [
        ("\n".join(_words).encode("utf-8", "surrogatepass"), set(_words.values())),
        ("\n".join(_folded).upper().encode(), set(_folded.values())),
        *((example, {ident}) for ident, _expression, example in _patterns.values()),
    ]
    for data, wanted in probes:
        found: set[int] = set()
        database.scan(data, match_event_handler=_collect, context=found, scratch=scratch)
        if not wanted <= found:
            return False
    return True


# Compiling the database takes about half a second (the personal-data pattern), more than the pass saves on a
# small tree, so the compiled form is kept in a cache folder, keyed by the expressions and the library's version.
_MAGIC = b"clearsight-gates-1\n"
_MAX_CACHE_BYTES = 64 << 20


def cache_dir() -> Path:
    """``$CLEARSIGHT_CACHE_DIR``, else ``$XDG_CACHE_HOME/clearsight``, else ``~/.cache/clearsight``."""
    explicit = os.environ.get("CLEARSIGHT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "clearsight"


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (where the platform has owners)."""
    getuid = getattr(os, "getuid", None)
    return getuid is None or (info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _cached(hyperscan: Any, key: str) -> Any:
    """The compiled database from the cache, or None.

    Only a regular file (not followed through a symlink, never a FIFO that would block) of a bounded size, in a
    folder, both this user's own and writable by no one else, is read: anyone who can write there could put a
    database that finds nothing (the caller also checks that it finds every registered word). The digest
    catches a file cut short or damaged on disk, which Hyperscan does not always refuse."""
    try:
        folder = cache_dir()
        if not _private(os.stat(folder)):
            return None
        fd = os.open(folder / f"gates-{key}.hsdb",
                     os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except (OSError, RuntimeError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_CACHE_BYTES or not _private(info):
            return None
        blob = b""
        while len(blob) <= _MAX_CACHE_BYTES:
            piece = os.read(fd, _MAX_CACHE_BYTES + 1 - len(blob))
            if not piece:
                break
            blob += piece
    except OSError:
        return None
    finally:
        os.close(fd)
    head, digest, payload = blob[:len(_MAGIC)], blob[len(_MAGIC):len(_MAGIC) + 32], blob[len(_MAGIC) + 32:]
    if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        return hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
    except Exception:
        return None


def _keep(hyperscan: Any, key: str, database: Any) -> None:
    """Write the compiled database to the cache (atomically) in place of earlier ones; a cache that cannot be
    written is skipped."""
    try:
        payload = hyperscan.dumpb(database)
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"gates-{key}.hsdb"
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".gates-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for old in folder.glob("gates-*.hsdb"):  # other word lists, other versions: each is ~0.5 MB
            if old.name != name:
                old.unlink(missing_ok=True)
    except Exception as exc:
        log.debug("compiled gate words not cached: %s", exc)


def _collect(ident: int, _start: int, _end: int, _flags: int, found: set[int]) -> None:
    found.add(ident)


def any_of(words: Sequence[bytes]) -> Callable[[bytes], bool]:
    """A test of whether bytes hold one of ``words``: one Hyperscan pass for all of them (a database of their
    own, compiled in a millisecond) where the library is installed, else one search per word."""
    try:
        import hyperscan

        database: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(expressions=[re.escape(w.decode("latin-1")).encode("latin-1") for w in words],
                         ids=list(range(len(words))), elements=len(words),
                         flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(words))
        scratch = hyperscan.Scratch(database)
    except Exception:  # no library, or words it refuses: the plain search answers the same
        return lambda data: any(word in data for word in words)

    def holds(data: bytes) -> bool:
        found: set[int] = set()
        database.scan(data, match_event_handler=_collect, context=found, scratch=scratch)
        return bool(found)

    return holds


def available() -> bool:
    """Whether the single pass is in use (Hyperscan imported and every registered expression compiled)."""
    _Engine.get()
    return bool(_Engine.available)


class Gates:
    """Answers about one text; the pass runs on the first question, and again only if the database was rebuilt
    since (more words registered)."""

    __slots__ = ("_answers", "_ascii", "_plain", "_scan", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._scan: tuple[_Compiled, set[int]] | None = None
        self._ascii: bool | None = None
        self._plain: bool | None = None
        self._answers: dict[str, bool] = {}

    def _scanned(self) -> tuple[_Compiled, set[int]] | None:
        if _Engine.available is False:
            return None
        scan = self._scan
        if scan is None or scan[0] is not _Engine.compiled or _Engine.stale:
            scan = self._scan = _Engine.scan(self._text.encode("utf-8", "surrogatepass"))
        return scan

    def _is_ascii(self) -> bool:
        if self._ascii is None:
            self._ascii = self._text.isascii()
        return self._ascii

    def _folds_plainly(self) -> bool:
        """Whether folding makes no ASCII letter, digit or "_" out of the text's other characters
        (:func:`~clearsight.discover.folding.makes_word_chars`; no word a detector asks about holds punctuation,
        and a pattern asked about the folded text takes any character that is not ASCII as punctuation). A few
        hundred files of a big tree have a dash or an accent in a docstring; folding each whole one to ask
        about its words was most of the Python detector's time on the files it then found nothing in. Folding
        can also lose an ASCII letter (``e`` and a combining accent make ``é``): then the pass reports a word
        the folded text no longer holds, never the other way round."""
        if self._plain is None:
            self._plain = self._is_ascii() or not makes_word_chars(self._text)
        return self._plain

    def holds(self, word: str) -> bool:
        """``word in text``."""
        scan = self._scanned()
        ident = _words.get(word)
        if scan is not None and ident is not None:
            return ident in scan[1]
        answer = self._answers.get(word)
        if answer is None:
            answer = self._answers[word] = word in self._text
        return answer

    def folded_found(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """(registered lower-case words in the folded text, every registered lower-case word) from the pass;
        None when only the caller's own folding can tell (no library, or a text whose other characters fold to
        ASCII letters or digits). A word outside the second set was never registered, so its absence from the first says
        nothing; the first may hold a word folding removed (see :meth:`_folds_plainly`), never miss one."""
        if not self._folds_plainly():
            return None
        scan = self._scanned()
        if scan is None:
            return None
        compiled, found = scan
        by_id = compiled.folded_by_id
        return frozenset(by_id[ident] for ident in found if ident in by_id), compiled.folded

    def may_match(self, name: str) -> bool:
        """False only when the registered pattern ``name`` certainly does not match the (ASCII) text."""
        if not (self._is_ascii() or (name in _folded_patterns and self._folds_plainly())):
            return True
        scan = self._scanned()
        entry = _patterns.get(name)
        return True if scan is None or entry is None else entry[0] in scan[1]

    def nowhere(self, name: str) -> bool:
        """True only when the registered pattern ``name`` matches nowhere in the text's UTF-8 bytes, whatever
        the text holds; False without the library. For a pattern that keeps to one line, a text that is not
        ASCII then has no ASCII line it matches: what the caller knows of its lines with other characters
        (a second pattern, say) settles the rest."""
        scan = self._scanned()
        entry = _patterns.get(name)
        return scan is not None and entry is not None and entry[0] not in scan[1]

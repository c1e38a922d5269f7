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
- :meth:`Gates.folded_found` — which registered lower-case ASCII words are in ``text.lower()``, answered from the
  pass only for ASCII texts (elsewhere lower-casing can turn other characters into ASCII letters: the Kelvin sign
  is "k").
- :meth:`Gates.may_match` — False only when a registered pattern (:func:`register_pattern`) certainly does not
  match; True without the library or for texts that are not ASCII. For gates whose exact test is slower Python.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_words: dict[str, int] = {}  # word -> id, case-sensitive
_folded: dict[str, int] = {}  # lower-case word -> id, matched without regard to ASCII case
_patterns: dict[str, tuple[int, bytes]] = {}  # name -> (id, Hyperscan expression on ASCII bytes)
_later: list[Callable[[], Iterable[str]]] = []  # folded words listed when the database is built
_lock = threading.Lock()


def register_words(words: Iterable[str]) -> None:
    """Words :meth:`Gates.holds` should answer from the single pass."""
    _add(_words, words)


def register_folded(words: Iterable[str]) -> None:
    """Lower-case ASCII words :meth:`Gates.folded_found` should answer from the single pass."""
    words = list(words)
    if any(not w.isascii() or w != w.lower() for w in words):
        raise ValueError("folded gate words must be lower-case ASCII")
    _add(_folded, words)


def register_folded_later(words: Callable[[], Iterable[str]]) -> None:
    """Like :func:`register_folded`, for words that take work to list (the catalogue's): listed when the
    database is built, so importing a detector stays cheap."""
    with _lock:
        _later.append(words)
        _Engine.stale = True


def register_pattern(name: str, expression: str) -> None:
    """A Hyperscan expression (no look-arounds or back-references) over ASCII text, asked by name."""
    with _lock:
        if name in _patterns and _patterns[name][1] != expression.encode():
            raise ValueError(f"gate pattern {name!r} registered twice with different expressions")
        if name not in _patterns:
            _patterns[name] = (_next_id(), expression.encode())
            _Engine.stale = True


def _add(table: dict[str, int], words: Iterable[str]) -> None:
    with _lock:
        for word in words:
            if word and word not in table:
                table[word] = _next_id()
                _Engine.stale = True


def _next_id() -> int:
    return len(_words) + len(_folded) + len(_patterns)


class _Engine:
    """The compiled database of every registered word and pattern, rebuilt when more are registered."""

    stale = True
    database: Any = None
    prototype: Any = None  # a scratch space for the database, cloned once per thread
    scratch: threading.local = threading.local()
    available: bool | None = None  # None: not tried yet
    folded_by_id: dict[int, str] = {}  # noqa: RUF012  (replaced whole on each build)
    folded: frozenset[str] = frozenset()

    @classmethod
    def get(cls) -> Any:
        if cls.available is False:
            return None
        if cls.stale:
            with _lock:
                if cls.stale:
                    cls._build()
        return cls.database

    @classmethod
    def _build(cls) -> None:
        try:
            import hyperscan
        except ImportError:
            cls.available = False
            return
        while _later:
            words = [w for w in _later.pop()() if w not in _folded]
            if any(not w.isascii() or w != w.lower() for w in words):
                raise ValueError("folded gate words must be lower-case ASCII")
            for word in words:
                _folded[word] = _next_id()
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
        for ident, expression in _patterns.values():
            expressions.append(expression)
            ids.append(ident)
            flags.append(single)
        if not expressions:
            cls.database, cls.available, cls.stale = None, True, False
            return
        version = getattr(hyperscan, "__version__", "")
        key = hashlib.sha256(repr((version, expressions, ids, flags)).encode()).hexdigest()[:32]
        database = _cached(hyperscan, key)
        if database is None:
            try:
                database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
            except Exception as exc:  # a pattern Hyperscan refuses: search word by word, as without the library
                log.warning("gate words not compiled (%s); searching word by word", exc)
                cls.available = False
                return
            _keep(hyperscan, key, database)
        cls.database, cls.available, cls.stale = database, True, False
        cls.folded_by_id = {ident: word for word, ident in _folded.items()}
        cls.folded = frozenset(_folded)
        cls.scratch = threading.local()
        cls.prototype = hyperscan.Scratch(database)

    @classmethod
    def scan(cls, data: bytes) -> set[int] | None:
        database = cls.get()
        if database is None:
            return None if cls.available is False else set()
        scratch = getattr(cls.scratch, "value", None)
        if scratch is None or getattr(cls.scratch, "database", None) is not database:
            scratch = cls.prototype.clone()
            cls.scratch.value, cls.scratch.database = scratch, database
        found: set[int] = set()
        database.scan(data, match_event_handler=_collect, context=found, scratch=scratch)
        return found


# Compiling the database takes about half a second (the personal-data pattern), more than the pass saves on a
# small tree, so the compiled form is kept in a cache folder, keyed by the expressions and the library's version.
_MAGIC = b"clearsight-gates-1\n"


def cache_dir() -> Path:
    """``$CLEARSIGHT_CACHE_DIR``, else ``$XDG_CACHE_HOME/clearsight``, else ``~/.cache/clearsight``."""
    explicit = os.environ.get("CLEARSIGHT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "clearsight"


def _cached(hyperscan: Any, key: str) -> Any:
    """The compiled database from the cache, or None. The payload's digest is checked first: Hyperscan loads a
    damaged database without complaint, and scanning with one could crash the process."""
    try:
        blob = (cache_dir() / f"gates-{key}.hsdb").read_bytes()
    except (OSError, RuntimeError):
        return None
    head, digest, payload = blob[:len(_MAGIC)], blob[len(_MAGIC):len(_MAGIC) + 32], blob[len(_MAGIC) + 32:]
    if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        return hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
    except Exception:
        return None


def _keep(hyperscan: Any, key: str, database: Any) -> None:
    """Write the compiled database to the cache (atomically); a cache that cannot be written is skipped."""
    try:
        payload = hyperscan.dumpb(database)
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".gates-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(temporary, folder / f"gates-{key}.hsdb")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except Exception as exc:
        log.debug("compiled gate words not cached: %s", exc)


def _collect(ident: int, _start: int, _end: int, _flags: int, found: set[int]) -> None:
    found.add(ident)


def available() -> bool:
    """Whether the single pass is in use (Hyperscan imported and every registered expression compiled)."""
    _Engine.get()
    return bool(_Engine.available)


class Gates:
    """Answers about one text; the pass runs on the first question, at most once."""

    __slots__ = ("_answers", "_ascii", "_found", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._found: set[int] | None = None
        self._ascii: bool | None = None
        self._answers: dict[str, bool] = {}

    def _scanned(self) -> set[int] | None:
        found = self._found
        if found is None and _Engine.available is not False:
            found = self._found = _Engine.scan(self._text.encode("utf-8", "surrogatepass"))
        return found

    def _is_ascii(self) -> bool:
        if self._ascii is None:
            self._ascii = self._text.isascii()
        return self._ascii

    def holds(self, word: str) -> bool:
        """``word in text``."""
        if _Engine.stale:
            _Engine.get()  # words listed later are numbered when the database is built
        ident = _words.get(word)
        if ident is not None:
            found = self._scanned()
            if found is not None:
                return ident in found
        answer = self._answers.get(word)
        if answer is None:
            answer = self._answers[word] = word in self._text
        return answer

    def folded_found(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """(registered lower-case words in ``text.lower()``, every registered lower-case word) from the pass;
        None when only the caller's own folding can tell (no library, or a text that is not ASCII). A word
        outside the second set was never registered, so its absence from the first says nothing."""
        if _Engine.stale:
            _Engine.get()
        if not self._is_ascii():
            return None
        found = self._scanned()
        if found is None:
            return None
        by_id = _Engine.folded_by_id
        return frozenset(by_id[ident] for ident in found if ident in by_id), _Engine.folded

    def may_match(self, name: str) -> bool:
        """False only when the registered pattern ``name`` certainly does not match the (ASCII) text."""
        if _Engine.stale:
            _Engine.get()
        entry = _patterns.get(name)
        if entry is None or not self._is_ascii():
            return True
        found = self._scanned()
        return True if found is None else entry[0] in found

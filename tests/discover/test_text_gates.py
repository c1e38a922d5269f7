"""The shared word search must answer exactly as searching the text would, with Hyperscan and without it."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_repos import build_repos
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearsight.discover import text_gates
from clearsight.discover.detectors.data import _PHRASES, _field_gate, _field_names, classify_field
from clearsight.discover.folding import makes_word_chars
from clearsight.discover.run import discover
from clearsight.discover.text_gates import Gates, register_words

hyperscan = pytest.importorskip("hyperscan")  # in the test extra; the fallback is tested with it switched off

WORDS = ("connect", "Client", "load", "model", "é", "x\u00e9y", "ab", "ba")
FOLDED = ("model", "load", "kelvin")
register_words(WORDS)  # at import, so the test session compiles one database for every module's words
text_gates.register_folded(FOLDED)


@pytest.fixture(params=["hyperscan", "word by word"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "word by word":
        monkeypatch.setattr(text_gates._Engine, "available", False)
    else:
        assert text_gates.available()
    yield request.param


TEXTS = st.lists(st.sampled_from([*"abcdeilmnotxyCAB_: \n\r", "é", "\u212a", "\ud800", "load", "connect", "…",
                                  "\u0301", "²", "ｌ", "ﬁ", "İ"]),
                 max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, word=st.sampled_from([*WORDS, "not registered", "oad"]))
def test_holds_is_a_substring_search(text: str, word: str) -> None:
    assert text_gates.available()
    try:
        assert Gates(text).holds(word) == (word in text)
        text_gates._Engine.available = False
        assert Gates(text).holds(word) == (word in text)
    finally:
        text_gates._Engine.available = True


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_folded_words_are_found_as_in_the_lower_cased_text(text: str) -> None:
    found = Gates(text).folded_found()
    if makes_word_chars(text):
        assert found is None  # the Kelvin sign lower-cases to "k": only folding can tell
        return
    assert found is not None
    present, registered = found
    assert set(FOLDED) <= registered
    assert present == {word for word in registered if word in text.lower()}
    # what callers rely on: no word of the text as Python folds it is missing ("e" and an accent may lose one)
    assert present >= {word for word in registered if word in unicodedata.normalize("NFKC", text).lower()}


# --- the personal-data gate ----------------------------------------------------------------------------------------

PATTERN = re.compile(_field_gate())


def _renderings(phrase: tuple[str, ...]) -> Iterator[str]:
    yield "_".join(phrase)
    yield "_".join(phrase).upper()
    yield "".join(w.capitalize() for w in phrase)
    yield phrase[0] + "".join(w.capitalize() for w in phrase[1:])
    yield "".join(w.upper() for w in phrase)


def test_every_phrase_as_people_write_it_passes_the_gate() -> None:
    seen = 0
    for phrase in _PHRASES:
        for name in _renderings(phrase):
            for prefix in ("", "user_", "user", "User", "x1", "IBANx", "my__"):
                for suffix in ("", "_hash", "Hash", "HASH", "2"):
                    candidate = prefix + name + suffix
                    line = f"class A:\n    {candidate}: str\n"
                    if classify_field(candidate) is None or candidate not in _field_names(line):
                        continue
                    seen += 1
                    assert PATTERN.search(line), candidate
                    assert Gates(line).may_match("pii-field"), candidate
    assert seen > 2000


NAME_PARTS = st.sampled_from([*{w for phrase in _PHRASES for w in phrase}, "x", "user", "1", "A", "_", "__", "Id",
                              "HTTP", "get"])


@settings(max_examples=1500, deadline=None)
@given(parts=st.lists(NAME_PARTS, min_size=1, max_size=5), cases=st.lists(st.sampled_from("lUCm"), min_size=5,
                                                                           max_size=5),
       tail=st.sampled_from([": int", " = Column(", ":str", " : x"]))
def test_the_gate_never_misses_a_name_the_detector_would_classify(parts: list[str], cases: list[str],
                                                                  tail: str) -> None:
    """Names made of phrase words in every mix of cases and joins: where the detector's candidates hold a name
    it classifies, the gate (as a Python pattern and through Hyperscan) must match the text."""
    written = []
    for part, case in zip(parts, cases, strict=False):
        written.append(part.lower() if case == "l" else part.upper() if case == "U" else
                       part.capitalize() if case == "C" else part[:1] + part[1:].upper())
    name = "".join(written)
    if not re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII):
        return
    text = f"x = 1\n    {name}{tail}\n"
    if any(classify_field(n) for n in _field_names(text)):
        assert PATTERN.search(text), name
        assert Gates(text).may_match("pii-field"), name


FOREIGN = ["\u00e9", "\u00ef", "\u212a", "\u00a0", "\u3000", "\u2014", "\u0301", "\u017f"]
LINE_PARTS = st.sampled_from(["    ", "\t", " ", "email", "user", "Email", "_", "ip", "x1", ":", " str", "=", " = ",
                              "Column(", "db.Column(", "models.", "CharField(", "Field(", "fields.", "mapped_column(",
                              "\x1c", "\x0b", "\r", "#", "'", *FOREIGN])


def _fields_found(text: str) -> bool:
    """What the detector would report without any gate: a classified name among its candidates."""
    return any(map(classify_field, _field_names(text)))


@settings(max_examples=3000, deadline=None)
@given(lines=st.lists(st.lists(LINE_PARTS, max_size=8).map("".join), min_size=1, max_size=4))
@example(lines=["class A:", "    na\u00efve_email: str"])
@example(lines=["class A:", "    email = Column\u00a0(String)"])
@example(lines=["class A:", "    email = models.\u00c4Field()"])
@example(lines=["class A:", "    email =\x1cColumn(String)"])
@example(lines=["\u00e9", "    email: str"])
def test_a_text_with_a_field_is_never_turned_away(lines: list[str]) -> None:
    """Lines of names, tails, spaces and characters that are not ASCII, in any mix: wherever the detector's own
    patterns find a personal-data field, the gate may not say there is none, for ASCII texts and others."""
    text = "\n".join(lines) + "\n"
    if not _fields_found(text):
        return
    gates = Gates(text)
    assert gates.may_match("pii-field"), text
    assert not gates.nowhere("pii-field"), text


def test_texts_with_an_accent_in_a_docstring_are_settled_by_the_pass() -> None:
    """Why the gate reads texts that are not ASCII: a big module with a dash in a docstring needs no reading."""
    text = '"""Fitting \u2014 see Gauss (1809)."""\n\ndef f(x):\n    ip = x.address\n    return ip\n'
    assert not _fields_found(text)
    assert Gates(text).nowhere("pii-field")


def test_nowhere_needs_the_library(engine: str) -> None:
    gates = Gates("\u00e9\nplain text\n")
    assert gates.nowhere("pii-field") is (engine == "hyperscan")
    assert not gates.nowhere("no such pattern")


def test_the_gate_turns_away_ordinary_code(engine: str) -> None:
    """Most Python never names personal data: the gate must say so for most of a sample of the standard
    library (the check would be worth nothing if it let every file through)."""
    stdlib = Path(os.__file__).parent
    files = sorted(stdlib.glob("*.py"))[:150]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    passed = sum(Gates(t).may_match("pii-field") for t in texts)
    if engine == "hyperscan":
        assert passed < len(texts) // 3, passed
    else:
        assert passed == len(texts)  # without the library the gate cannot tell, and says "may match"


# --- the cache of the compiled database -----------------------------------------------------------------------------

_CACHE_SCRIPT = (
    "import sys, hyperscan\n"
    "from clearsight.discover import registry, text_gates\n"
    "if sys.argv[1] == 'no-compile':\n"
    "    class Refusing:\n"
    "        def __init__(self, **kw): pass\n"
    "        def compile(self, **kw): raise RuntimeError('compiled')\n"
    "    hyperscan.Database = Refusing\n"
    "print(text_gates.available())\n"
)


def _cache_run(folder: Path, mode: str) -> str:
    env = {**os.environ, "CLEARSIGHT_CACHE_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, mode], env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    return done.stdout.strip()


def test_the_compiled_database_is_cached_and_checked(tmp_path: Path) -> None:
    """A first process compiles and writes the cache; a second loads it without compiling (its compile is made
    to fail); a damaged cache file is not loaded but compiled again."""
    assert _cache_run(tmp_path, "compile") == "True"
    cached = list(tmp_path.glob("gates-*.hsdb"))
    assert len(cached) == 1
    assert _cache_run(tmp_path, "no-compile") == "True"  # loaded from the cache
    blob = bytearray(cached[0].read_bytes())
    blob[-10] ^= 0xFF
    cached[0].write_bytes(bytes(blob))
    assert _cache_run(tmp_path, "no-compile") == "False"  # damaged: not loaded; compiling (refused) the only way
    assert _cache_run(tmp_path, "compile") == "True"
    assert Path(cached[0]).read_bytes() != bytes(blob)  # rewritten


def test_a_cached_database_that_misses_words_is_not_used(tmp_path: Path) -> None:
    """From a review: a database under the expected name, with a valid digest, that finds nothing made every
    gate say "absent" (a run reported less). Every database must find all registered words first."""
    assert _cache_run(tmp_path, "compile") == "True"
    cached = next(tmp_path.glob("gates-*.hsdb"))
    blind = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    blind.compile(expressions=[b"never written anywhere"], ids=[0], elements=1)
    payload = hyperscan.dumpb(blind)
    cached.write_bytes(text_gates._MAGIC + hashlib.sha256(payload).digest() + payload)
    assert _cache_run(tmp_path, "no-compile") == "False"  # refused, and compiling is refused here
    assert _cache_run(tmp_path, "compile") == "True"


def test_a_cache_others_can_write_or_a_fifo_is_not_read(tmp_path: Path) -> None:
    """A folder others may write to is not trusted; a FIFO under the cache's name would block a plain read."""
    assert _cache_run(tmp_path, "compile") == "True"
    tmp_path.chmod(0o777)
    assert _cache_run(tmp_path, "no-compile") == "False"
    tmp_path.chmod(0o700)
    assert _cache_run(tmp_path, "no-compile") == "True"
    cached = next(tmp_path.glob("gates-*.hsdb"))
    cached.unlink()
    os.mkfifo(cached)
    assert _cache_run(tmp_path, "no-compile") == "False"  # not read (and not waited on)
    assert _cache_run(tmp_path, "compile") == "True"
    assert cached.is_file()


def test_words_registered_after_a_scan_are_answered() -> None:
    """From a review: a text scanned before more words were registered answered "absent" for them; and a word
    listed twice by a later list took the next word's number."""
    text = "x = dupa + lateword\n"
    gates = Gates(text)
    assert gates.holds("load") is False  # scanned now
    register_words(["lateword"])
    text_gates.register_folded_later(lambda: ["dupa", "dupa", "dupb"])
    assert gates.holds("lateword") is True
    found = gates.folded_found()
    assert found is not None and {"dupa", "dupb"} <= found[1]
    assert "dupa" in found[0] and "dupb" not in found[0]


def test_a_list_of_words_that_fails_leaves_every_answer_to_a_search() -> None:
    script = (
        "from clearsight.discover import registry, text_gates\n"
        "from clearsight.discover.detectors.python_code import PYTHON_CODE, python_observations\n"
        "from clearsight.discover.interface import SourceFile\n"
        "from pathlib import Path\n"
        "def broken(): raise OSError('catalogue unreadable')\n"
        "text_gates.register_folded_later(broken)\n"
        "text = 'import torch\\nm = torch.load(p)\\n'\n"
        "file = SourceFile(path=Path('a.py'), rel='a.py', root=Path('.'), size=len(text), text=text)\n"
        "print(text_gates.available(), PYTHON_CODE.detect(file) == python_observations(text, 'a.py') != [])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["False", "True"]


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "CLEARSIGHT_CACHE_DIR": str(blocker / "cache")}
    done = subprocess.run([sys.executable, "-c", "from clearsight.discover import registry, text_gates;"
                           "print(text_gates.available())"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


# --- whole runs ----------------------------------------------------------------------------------------------------

def test_discovery_reports_the_same_with_and_without_hyperscan(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    build_repos(tmp_path)
    with_library = discover([tmp_path])
    monkeypatch.setattr(text_gates._Engine, "available", False)
    without = discover([tmp_path])
    assert with_library.model_dump() == without.model_dump()
    assert len(with_library.components) > 20


def test_every_detector_answers_the_same_with_and_without_hyperscan(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """File by file, on a sample of the standard library (and its test suite, which names personal data and
    opens databases) and the labelled corpus."""
    from clearsight.discover.interface import SourceFile
    from clearsight.discover.registry import DETECTORS

    build_repos(tmp_path)
    stdlib = Path(os.__file__).parent
    paths = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)[::6]
    files = []
    for path in paths + sorted(tmp_path.rglob("*")):
        if path.is_file():
            rel = path.name
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            files.append((rel, path, text))
    assert len(files) > 300

    def observations() -> list[object]:
        found: list[object] = []
        for rel, path, text in files:
            file = SourceFile(path=path, rel=rel, root=path.parent, size=len(text), text=text)
            for detector in DETECTORS:
                if detector.wants(rel):
                    found.extend(detector.detect(file))
        return found

    with_library = observations()
    monkeypatch.setattr(text_gates._Engine, "available", False)
    assert with_library == observations()
    assert len(with_library) > 50
    assert any(o.detector == "data.pii_python" for o in with_library)  # type: ignore[attr-defined]


IMPORT_TEXTS = st.lists(st.sampled_from([
    "import ", "from ", "ts", "ray", "3", "x", "_", ".", " ", "\n", "\\\n", "\r", "TS", "Ray", "torch", "tests",
    "array", "# ", "(", ",", "as ", "sklearn", "model", "=", '"', "load", "…", "é", "\u0301", "ｔｏｒｃｈ",
    "\u212a", "²",
]), max_size=14).map("".join)


@settings(max_examples=1500, deadline=None)
@given(IMPORT_TEXTS)
@example("import 3torch\n")
@example("import x3torch\n")
@example("from ray import x\n")
@example("x = tests\nimport array\n")
@example("from \\\n ts import x\n")
@example("import a, _ts\n")
@example("import é…torch\n")
@example("import ｔｏｒｃｈ\n")
def test_the_python_check_decides_the_same_with_the_shared_search(text: str) -> None:
    """``possible`` with the file's shared word search (Hyperscan) against the same check on the text alone:
    short names such as "ts" and "ray" hide in "tests" and "array", after digits and across lines."""
    from clearsight.discover.detectors.python_code import possible

    assert possible(text, Gates(text)) == possible(text)


GATED_TEXTS = st.lists(st.sampled_from([
    "postgresql", "POSTGRES", "mysql+pymysql", "redis", "://", "https://x.org/", "db/x", "@host:5432/app", " ", "\n",
    "psycopg2", "sqlite3", ".connect", "(", "Redis", "redis.from_url", "create_engine", " (", "é", "x",
    "revision=", "'", "0123456789abcdef0123456789abcdef01234567", "ABCDEF", "import ", "from ", "hf_hub_download",
]), max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(GATED_TEXTS)
@example("url = 'postgresql+psycopg2://user@db/app'\n")
@example("c = sqlite3.connect (p)\n")
@example("engine = create_engine (url)\n")
@example("hf_hub_download(repo_id='org/m', revision='0123456789abcdef0123456789abcdef01234567')\n")
@example("import sqlite3\ndb = sqlite3.connect\x1c('x.db')\n")
def test_database_and_revision_gates_never_turn_away_what_the_detectors_find(text: str) -> None:
    """The one-pass patterns in front of the database-URL, database-client and pinned-revision checks."""
    from clearsight.discover.detectors.controls import CONTROL_DETECTORS
    from clearsight.discover.detectors.data import DATA_DETECTORS
    from clearsight.discover.interface import SourceFile

    detectors = [d for d in (*DATA_DETECTORS, *CONTROL_DETECTORS)
                 if d.id in ("data.database_url", "data.db_client", "controls.python")]
    assert len(detectors) == 3

    def found() -> list[object]:
        file = SourceFile(path=Path("app.py"), rel="app.py", root=Path("."), size=len(text), text=text)
        return [o for d in detectors for o in d.detect(file)]

    assert text_gates.available()
    with_library = found()
    try:
        text_gates._Engine.available = False
        assert with_library == found()
    finally:
        text_gates._Engine.available = True

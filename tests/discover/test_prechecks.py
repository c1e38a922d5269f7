"""Text checks that let discovery skip parsing must never change what it reports.

Each detector with such a check is compared with the same detector without it, on real code (a sample of the
standard library, the labelled corpus repositories) and on snippets written to slip past a careless check.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import pytest
from corpus_repos import build_repos
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.discover.detectors.controls import (
    _IMPORT_PREFIX,
    _MAX_IMPORT_PREFIX,
    _RATE_LIMIT_MODULES,
    _detect_python,
    _imports_limiter,
    python_controls,
)
from clearsight.discover.detectors.data import _URL, database_urls
from clearsight.discover.detectors.python_code import (
    DETECTOR_ID,
    PYTHON_CODE,
    PythonContext,
    _call_needs,
    _call_words,
    _first_parts,
    _short_gate_words,
    _some_call_written,
    _Visitor,
    might_observe,
    possible,
    python_observations,
)
from clearsight.discover.interface import Observation, SourceFile
from clearsight.discover.links import find_reads
from clearsight.discover.python_source import parse_python

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _file(text: str, rel: str = "app.py") -> SourceFile:
    return SourceFile(path=Path(rel), rel=rel, root=Path("."), size=len(text), text=text)


def _stdlib_sample(count: int = 240) -> list[Path]:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts)
    step = max(1, len(files) // count)
    return files[::step][:count]


def _sources(corpus: Path) -> list[tuple[str, str]]:
    build_repos(corpus)
    paths = [(p, p.relative_to(STDLIB)) for p in _stdlib_sample()]
    paths += [(p, p.relative_to(corpus)) for p in sorted(corpus.rglob("*.py"))]
    return [(str(rel), path.read_text(encoding="utf-8", errors="replace")) for path, rel in paths]


def test_the_checks_change_nothing_on_real_code(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    assert len(sources) > 200
    skipped = imports_only = 0
    for rel, text in sources:
        file = _file(text, rel)
        assert PYTHON_CODE.detect(file) == python_observations(text, rel), rel
        assert _detect_python(file) == python_controls(file), rel
        skipped += not might_observe(text)
        imports_only += possible(text) == "imports" and bool(python_observations(text, rel))
    assert skipped > len(sources) // 2  # the check must actually spare most parses of ordinary code
    assert imports_only >= 5  # and files with findings went the way without a syntax tree


def _visit(text: str, *, pruned: bool, context: PythonContext | None = None) -> list[object]:
    tree = parse_python(text)
    assert tree is not None
    visitor = _Visitor("app.py", DETECTOR_ID, context if context is not None else PythonContext())
    visitor.run(tree, text if pruned else None)
    return list(visitor.found)


def test_skipping_statements_changes_nothing_on_real_code(tmp_path: Path) -> None:
    """The walk skips statements without a word the visitor acts on; every observation, in order, stays."""
    sources = [(rel, text) for rel, text in _sources(tmp_path) if parse_python(text) is not None]
    assert len(sources) > 200
    reported = 0
    for rel, text in sources:
        pruned = _visit(text, pruned=True)
        assert pruned == _visit(text, pruned=False), rel
        reported += bool(pruned)
    assert reported > 20  # real findings were compared, not only empty lists


PRUNING = {
    "loader alias called on a line without its name": (
        "from pickle import loads as fetch\nimport os\n\ndef f(b):\n    x = 1\n    return fetch(b)\n"),
    "handle reassigned before the load": (
        'import pickle\nfh = open("m.pkl", "rb")\nfh = other()\nobj = pickle.load(fh)\n'),
    "handle rebound by a later with": (
        'import pickle\nwith open("a.pkl", "rb") as fh:\n    pass\nwith other() as fh:\n    pass\npickle.load(fh)\n'),
    "import deep inside a function": "def f(p):\n    if p:\n        import torch\n    return torch.load(p)\n",
    "constant used in a method": (
        'MODEL = "gpt-4o"\n\nclass A:\n    def go(self):\n        return c.chat(model=MODEL)\n'),
    "keyword on a later line": 'client.create(\n    messages=m,\n    temperature=0,\n    model="gpt-4o",\n)\n',
    "call in a function's decorator": '@app.route(model="gpt-4o")\ndef f():\n    pass\n',
    "call in a class decorator": "import pickle\n\n@register(pickle.loads(b))\nclass A:\n    x = 1\n",
    "carriage returns only": 'import torch\r\rmodel = torch.load("weights.pt")\r',
    "a carriage return after a backslash": "import pickle\nx = 1 + \\\r 2\ny = 3\npickle.load(f)\n",
    "more names bound to open than the word budget": (
        "import pickle\n" + "".join(f'h{i} = open("f{i}.pkl", "rb")\n' for i in range(100)) + "pickle.load(h5)\n"),
    "except and match bodies": (
        "import joblib\ntry:\n    pass\nexcept OSError:\n    m = joblib.load('m.pkl')\n"
        "match m:\n    case 1:\n        joblib.load('n.pkl')\n"),
}


@pytest.mark.parametrize("source", PRUNING.values(), ids=PRUNING.keys())
def test_skipping_statements_keeps_what_matters(source: str) -> None:
    found = _visit(source, pruned=True)
    assert found, "the snippet itself must be something the detector reports"
    assert found == _visit(source, pruned=False)


def test_handles_from_an_earlier_cell_are_still_forgotten() -> None:
    """Notebook cells share a context: a handle opened in one cell and rebound in the next is not the file."""
    cells = ['fh = open("m.pkl", "rb")\n', "import pickle\nfh = other()\nobj = pickle.load(fh)\n"]
    results = []
    for pruned in (True, False):
        context = PythonContext()
        results.append([_visit(cell, pruned=pruned, context=context) for cell in cells])
    assert results[0] == results[1]
    assert "m.pkl" not in str(results[0][1])


TRICKY = {
    "continued import": "from google \\\n    import genai\n",
    "import after a semicolon": "x = 1; import openai\n",
    "import after a colon": "try: import anthropic\nexcept ImportError: pass\n",
    "parenthesised from-import": "from google import (\n    genai,\n)\n",
    "full-width identifier": "import \uff4f\uff50\uff45\uff4e\uff41\uff49\n",
    "keyword with a comment before its value": 'client.chat(\n    model=  # the model\n    "gpt-4o",\n)\n',
    "parenthesised string": 'run(model=("gpt-4o"))\n',
    "keyword given a constant": 'NAME = "gpt-4o"\nrun(model=NAME)\n',
    "annotated constant": 'MODEL_ID: str = "meta-llama/Llama-3.1-8B"\n',
    "conventional pandas name": "frame = pd.read_pickle(path)\n",
    "aliased pickle load": "from pickle import loads as undo\nundo(blob)\n",
    "aliased torch": "import torch as T\nT.load('m.pt')\n",
    "joblib through sklearn": "from sklearn.externals import joblib\njoblib.load('m.pkl')\n",
    "numpy allow_pickle": "import numpy as np\nnp.load('x.npy', allow_pickle=True)\n",
    "hub download": "snapshot_download(repo_id='org/model')\n",
}


@pytest.mark.parametrize("source", TRICKY.values(), ids=TRICKY.keys())
def test_tricky_code_is_still_parsed(source: str) -> None:
    found = python_observations(source, "app.py")
    assert found, "the snippet itself must be something the detector reports"
    assert might_observe(source)
    assert PYTHON_CODE.detect(_file(source)) == found


# From a review: each of these is reported by the full visitor, and the text check sent it to the import reader
# (or skipped it): newlines other than "\n", a form feed, a name starting with a letter that is not ASCII,
# chained, parenthesised and annotated targets, continuations with "\r\n", a file that does not parse.
MISSED_BINDINGS = [
    'import openai\r\nM = "gpt-4o"\r\nopenai.create(\r\n    model=M\r\n)\r\n',
    'import openai\rM = "gpt-4o"\ropenai.create(\r    model=M\r)\r',
    'import openai\nM = "gpt-4o"\nopenai.create(model=M\f)\n',
    'import openai\n\u00c9TAT = "gpt-4o"\nopenai.create(model=\u00c9TAT)\n',
    'import openai\nMODEL = FALLBACK = "gpt-4o"\n',
    'import openai\n(MODEL) = "gpt-4o"\n',
    'import openai\nMODEL: Annotated[str, Doc(a=1)] = "gpt-4o"\n',
    'import openai\nMODEL: Annotated[\n    str, Doc("x")\n] = "gpt-4o"\n',
    'import openai\nM\u00b7X = "gpt-4o"\nopenai.create(model=M\u00b7X)\n',
    'from \\\r\n openai \\\r\n import X\r\n',
    'from \\\r\n openai \\\r\n import X\r\nprint "py2"\r\n',
    'M = "gpt-4o"\r\nclient.create(\r\n    model=M\r\n)\r\n',
    'x = 1; MODEL: str = "gpt-4o"\n',
    'import openai\nMODEL = settings["m"] = "gpt-4o"\n',
    'import openai\nMODEL = cfg.name = "gpt-4o"\n',
    'import openai\nMODEL = cfg . items[k["a"]].name = "gpt-4o"\n',
    # a bare name given to "model=" names a model through a string constant, however that is written
    'import openai\nc = openai.OpenAI()\nc.chat(model=M)\nM = "gpt-4o"\n',
    'import openai\nc = openai.OpenAI()\nc.chat(model=M)\nA = cfg.x = M = (\n    "gpt-4o")\n',
    'import openai\nc = openai.OpenAI()\nc.chat(model=M)\nM: Annotated[str, Doc(a=1)] = "gpt-4o"\n',
    'import openai\nc = openai.OpenAI()\nc.chat(model=M)\n(M) = \\\n  "gpt-4o"\n',
    'import openai\nc = openai.OpenAI()\nc.chat(model=M)\nM = (  # the default\n    "gpt-4o")\n',
    # from a review: chained targets the text cannot read must still count
    'import openai\nMODEL = a, *b = "gpt-4o"\n',
    'import openai\nMODEL = a \\\n= "gpt-4o"\n',
    'import openai\nMODEL = (a).b = "gpt-4o"\n',
    'import openai\nMODEL = (a\n.b) = "gpt-4o"\n',
    # keywords the visitor reads given a name that is a constant, however it is called
    'import openai\nNONE = "gpt-4o"\nc = openai.OpenAI()\nc.chat(model=NONE)\n',
    'import openai\nc = openai.OpenAI()\nc.chat(model_name = \\\n  M)\nM = "claude-3"\n',
    'import openai\nMODEL = cfg.model = "gpt-4o"\n',
    'import openai\nMODEL = cfg.\\\nmodel = "gpt-4o"\n',
    # from a review: module-level chains the patterns cannot read, through a bare name
    'MY_MODEL = a, *b = "gpt-4o"\n',
    'MY_MODEL = (a, *b) = "gpt-4o"\n',
    'MY_MODEL = OTHER \\\n    = "gpt-4o"\n',
    'MY_MODEL \\\n    = cfg.model = "gpt-4o"\n',
]


@pytest.mark.parametrize("source", MISSED_BINDINGS)
def test_the_text_check_lets_every_reported_file_through(source: str) -> None:
    assert _reported_through_the_check(source), "the snippet itself must be something the detector reports"


def _reported_through_the_check(source: str) -> list[Observation]:
    """What the full visitor reports for ``source``, after checking the detector with its text check agrees."""
    found = python_observations(source, "app.py")
    assert PYTHON_CODE.detect(_file(source)) == found
    return found


# Calls (and reported keywords) in every shape Python allows between the last word and its "(" or "=": the text
# check looks for those shapes, so each must still reach the syntax tree.
CALL_SHAPES = [
    "import pickle\ndata = (pickle.loads)(blob)\n",
    "import pickle\ndata = pickle.loads \\\n    (blob)\n",
    "import pickle\ndata = (pickle.loads  # why\n        (blob))\n",
    "import pickle\ndata = (pickle.loads\n\n   (blob))\n",
    "from pickle import loads as fetch\ndata = fetch(blob)\n",
    "from pickle import (\n    loads as fetch,\n)\ndata = fetch(blob)\n",
    "import torch\nm = [torch.load\n     ('m.pt')]\n",
    "import numpy as np\na = np.load('x.npy', allow_pickle \\\n = True)\n",
    "from transformers import AutoModel\nm = AutoModel.from_pretrained ('org/model')\n",
    "from transformers import AutoModel\nm = AutoModel.from_pretrained('./m', trust_remote_code  =True)\n",
    "m = load(  # no import: the name alone\n  'm.pt', trust_remote_code  # why\n  = True)\n",
    "import pandas as pd\ndf = pd.read_pickle('frame.pkl')\n",
    "import pickle\nu = pickle.Unpickler(open('m.pkl', 'rb'))\n",
    "from pickle import loads as\\\n    fetch\ndata = fetch(blob)\n",
    "from pickle import loads as fetch  # renamed\ndata = fetch(blob)\n",
    "import numpy as np\na = np.load('x.npy', allow_pickle=(True))\n",
    "import numpy as np\na = np.load('x.npy', allow_pickle=  # why\n    True)\n",
    # a quote before the "#": the "#" may be in a string, the call after it in code
    'import pickle\nx = "#"; data = pickle.loads(b)\n',
    # the line starts inside a string, which closes before the call
    'import pickle\ns = """\n# >>> """; data = pickle.loads(b)\n',
    'import pickle\ns = """\n>>> """; data = pickle.loads(b)\n',
    # from a review: an f-string's fields are code, after a "#" or ">>>" in its text too
    'import pickle\ns = f"""\n# {pickle.loads(b)}\n"""\n',
    'import pickle\ns = f"""\n>>> {pickle.loads(b)}\n"""\n',
    'import pickle\ns = f"x\\\n# {pickle.loads(b)}"\n',
    "import pickle\ns = f\'\'\'{x:\n# {pickle.loads(b)}}\'\'\'\n",
    'from transformers import AutoModel\ns = f"""\n# {AutoModel.from_pretrained("x")}"""\n',
    # and a rename may go on after "as" on the next line, inside parentheses
    "from pickle import (loads as\n    fetch)\nfetch(b)\n",
    "from pickle import (loads as  # c\n    fetch)\nfetch(b)\n",
    "from pickle import (\n    loads\n    as\n    fetch,\n)\nfetch(b)\n",
    "from torch import (load as\n    tl)\ntl(p)\n",
]


@pytest.mark.parametrize("source", CALL_SHAPES)
def test_every_shape_of_a_call_reaches_the_tree(source: str) -> None:
    found = _reported_through_the_check(source)
    assert any(o.kind == "model" for o in found), found
    assert possible(source) == "anything"


@pytest.mark.parametrize("source", [
    "import torch\nimport json\n# load the weights later\nconfig = json.dumps(x)\n",
    "import torch\ndef loader():\n    return read(path)  # not torch.load\n",
    'import joblib\n"""Load is what the docs call it; load them as shown."""\nfrom sklearn import svm\n',
    # comments, doctests, English "load as", keywords given anything but True (numpy, pandas and dask wrote
    # these; each made a big module parse for nothing)
    "import torch\n# torch.load(path) unpickles\nx = 1\n",
    "import torch\nx = 1  # or torch.load(path)\n",
    'import pickle\ndef f(r):\n    """\n    >>> pickle.loads(pickle.dumps(r))\n    """\n',
    'import pickle\n"""\n    # pickle.loads(b) in a string, after a "#"\n"""\n',
    "import pickle\n# attempt to load as category unknown column\n",
    'import pickle\n"""We load as many rows as fit."""\n',
    "import numpy as np\nnp.savez(f, a, allow_pickle=False)\n",
    "from transformers import AutoConfig\nc = AutoConfig(trust_remote_code=flag)\n",
])
def test_call_words_named_elsewhere_leave_only_the_imports(source: str) -> None:
    assert possible(source) in ("imports", "nothing")
    _reported_through_the_check(source)


@pytest.mark.parametrize("source", [
    "import boto3\nclient.call(operation_model=operation_model,\n    context=context)\n",
    "import boto3\nclass W:\n    def __init__(self, waiter_model):\n        self._model = waiter_model\n",
    "import boto3\nx = f(model=None, argument_model=None)\ny = g(all_models=False)\n",
])
def test_names_given_to_other_names_and_attributes_need_no_tree(source: str) -> None:
    """botocore and awscli pass ``operation_model=operation_model`` thousands of times: none of it can be a
    model the visitor reports, so such files are read for their imports only."""
    assert possible(source) in ("imports", "nothing")
    _reported_through_the_check(source)


@pytest.mark.parametrize(("text", "level"), [
    ("model" * 100_000, "nothing"), ("model=" * 100_000, "anything"), ("model = m." * 50_000, "anything"),
    ("model = m[x\n" * 50_000, "nothing"), ("model = m.x.y[\n" * 50_000, "nothing"),
    ("import torch\n" + "load \n#load\n" * 50_000, "anything"), ("import torch\n" + "load )\n" * 50_000, "imports"),
    ((" " + "x" * 50 + "model:") * 10_000, "anything"), ("import openai\n" + "model=m.\n" * 50_000, "imports"),
    # each line's comment and quotes are looked for once, and a file with more than a few hundred calls in
    # comments is parsed rather than looked through
    ("import torch\n# " + "torch.load(x) " * 100_000, "anything"),
    ("import torch\n" + "# torch.load(\n" * 100_000, "anything"),
    ("import torch\n" + ">>> torch.load(" * 100_000 + "'x'", "anything"),
    ("import torch\n" + "# torch.load(\n" * 150, "imports"),
])
def test_the_model_binding_check_is_linear(text: str, level: str) -> None:
    # "model" * 4000 took 3 s when every occurrence started a scan to the end of the word
    assert possible(text) == level


@pytest.mark.parametrize("source", [
    "import \uff54\uff4f\uff52\uff43\uff48\n",  # a module name in fullwidth letters: Python folds it to torch
    "import os, \\\n    torch\n",
    "from openai import (\n    OpenAI,\n)\n",
    "x = 1; import openai\n",
    "import os\r\nimport torch\r\n",
    "import os\rimport torch\r",
    '"""Import torch first."""\nimport sklearn\n',  # the keyword in prose, capitalised; the import after it
])
def test_imports_are_read_from_the_lines_of_the_keyword(source: str) -> None:
    """The import check folds only the lines holding "import": every way an import is written still counts."""
    assert possible(source) == "imports"
    assert _reported_through_the_check(source)


def test_package_names_in_prose_or_capitalised_keywords_are_no_imports() -> None:
    for source in ('"""Import torch first."""\n', "# IMPORT torch\n", "x = 'import torch'.split()\n"):
        assert python_observations(source, "app.py") == [], source
        assert possible(source) in ("nothing", "imports")  # a string may hold the keyword: allowed, not required


def test_the_gate_words_the_pass_skips_are_found_as_identifiers() -> None:
    """Words of one or two letters are not looked for by the shared pass (they are in nearly every text); the
    ones every observation may hinge on must be catalogued imports' first parts, which the import-name pattern
    finds as identifiers, so a file that imports one still reaches the import reader."""
    assert _short_gate_words() and _short_gate_words() <= _first_parts()
    for name in sorted(_short_gate_words()):
        source = f"import {name}\n"
        gates = SourceFile(path="app.py", rel="app.py", root=Path("."), size=len(source), text=source).gates
        assert possible(source, gates) == possible(source) == "imports", name
        prose = f"def main():\n    return 'tests and updates: {name}x'\n"
        assert possible(prose, _file(prose).gates) == "nothing"


def test_words_in_prose_are_not_imports() -> None:
    prose = '"""Work together with the datasets module; see the inference notes."""\nimport os\n'
    assert not might_observe(prose)
    assert python_observations(prose, "app.py") == []


@pytest.mark.parametrize(("line", "imports"), [
    ("import os, limits", True), ("from limits import parse", True), ("import slowapi as sa", True),
    ("    from slowapi.util import get_remote_address", True), ("x = 1; import ratelimit", True),
    ("try: import limits", True), ("from sympy.series.limits import limit", False),
    ("the integration limits of", False),
])
def test_rate_limit_imports_are_told_from_prose(line: str, imports: bool) -> None:
    assert _imports_limiter(line) is imports


_LIMITER_MODULE = re.compile(r"\b(?:" + "|".join(_RATE_LIMIT_MODULES) + r")\b")


def _imports_limiter_by_pattern(text: str) -> bool:
    """The earlier form of the check: one pattern finds every whole-word module name."""
    for match in _LIMITER_MODULE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if match.start() - line_start <= _MAX_IMPORT_PREFIX and _IMPORT_PREFIX.fullmatch(
                text, line_start, match.start()):
            return True
    return False


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*_RATE_LIMIT_MODULES, "from", "import", " ", "\n", ".", ",", ";", ":", "as",
                                 "x", "_", "é", "sympy.series.", "\t"]), max_size=10).map("".join))
def test_rate_limit_imports_are_found_as_the_pattern_found_them(text: str) -> None:
    assert _imports_limiter(text) == _imports_limiter_by_pattern(text)


URL_TEXTS = [
    "a jdbc:postgresql://h/x and xpostgres://no POSTGRESQL+psycopg2://u:p@h:5/db mongodb://a://b redis://x",
    "see https://example.org and sqlite:///tmp/db.sqlite3; mysql+pymysql://root@db/shop",
    "postgres://a postgres://b",
    "no urls here ://",
]


@pytest.mark.parametrize("text", URL_TEXTS)
def test_database_urls_match_a_full_scan(text: str) -> None:
    assert [m.span() for m in database_urls(text)] == [m.span() for m in _URL.finditer(text)]


def test_hostile_text_gets_answers_not_backtracking() -> None:
    # Each of these took seconds to forever before the patterns and scans were bounded (exponential
    # backtracking on comment runs, a quadratic search back for each line start, a path walked per match).
    # a comment after "model=" is taken as a possible binding without being read (reading each one's comments
    # again made 20,000 lines of "model=" and "#" take 14 s)
    assert might_observe("model=" + "#" * 60 + "!")
    assert might_observe("run(model=" + "  # note\n" * 20_000 + '"gpt-4o")')
    assert might_observe("model=\n#" * 20_000)
    assert might_observe("x = {" + "model: 1, " * 100_000 + "}")  # each "model:" read its line back: 4.7 s
    assert not _imports_limiter("from x " + "limits " * 200_000)
    assert _imports_limiter("limits\n" * 100_000 + "from limits import parse")
    wall = {"app/a.py": "x/data/" * 200_000}
    assert find_reads(wall, {"app/a.py": "app"}, ["app"], ["db/data"]) == {}
    reads = find_reads({"app/a.py": "data/" * 200_000}, {"app/a.py": "app"}, ["app"], ["data"])
    assert [use.folder for use in reads["app"]] == ["data"]


_CALL_WORD_LIST = sorted(_call_words())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*_CALL_WORD_LIST, "x", "_", "down", "un", "s", "import", " "]), max_size=8)
       .map("".join))
def test_the_call_word_search_answers_as_a_full_search_would(text: str) -> None:
    """Words are searched lazily (not at all when a word inside them is missing); the answer must be the one
    that searching every word and comparing sets gives, also when words overlap or run into each other."""
    present = {word for word in _CALL_WORD_LIST if word in text}
    expected = any(present.issuperset(rest) and not present.isdisjoint(first) for first, rest in _call_needs())
    assert _some_call_written(text.__contains__) == expected

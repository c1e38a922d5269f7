"""Import statements read from the text must be exactly the ones the syntax tree holds, in source order."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clearsight.discover.python_imports import import_statements

LIBRARIES = [Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib")]


def _from_tree(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    return [(n.lineno, ast.dump(n)) for n in nodes]


def _from_text(source: str) -> list[tuple[int, str]]:
    return [(n.lineno, ast.dump(n)) for n in import_statements(source)]


def _sample(count: int = 700) -> list[Path]:
    """Every n-th module of the standard library and of the installed packages (what this suite runs on)."""
    files = sorted(p for root in LIBRARIES for p in root.rglob("*.py") if "site-packages" not in p.parts
                   or root.name == "site-packages")
    step = max(1, len(files) // count)
    return files[::step][:count]


def test_real_modules_give_the_imports_of_their_syntax_tree() -> None:
    compared = imports = 0
    for path in _sample():
        try:
            source = path.read_text(encoding="utf-8")
            expected = _from_tree(source)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        assert _from_text(source) == expected, path
        compared += 1
        imports += len(expected)
    assert compared > 500 and imports > 2_000  # real modules with real imports were compared


PIECES = [
    "import os\n", "import torch as T, numpy\n", "from sklearn.svm import SVC\n", "from . import x\n",
    "from .a.b import (c,\n    d as e,  # why (not) f\n)\n", "from.a import b\n", "from . a import(b)\n",
    "from x import*\n", "import a.b.c as d\n", "from \\\n  openai import \\\n  OpenAI\n",
    "x = 1; import json\n", "try: import torch\nexcept ImportError: torch = None\n",
    "if x: from y import z\n", "def f():\n    import transformers\n    return 1\n",
    "class A:\n    def g(self):\n        from a import b\n", "raise ValueError() from exc\n",
    "def g():\n    yield from range(3)\n", "# import commented\n", "s = 'import quoted'\n",
    's = "from a import b"\n', "s = '''\nimport in_docstring\n'''\n", 's = """\nfrom a import b\n"""\n',
    "s = r'\\' import x'\n", "s = 'a \\\nimport continued'\n", "s = f'{x} import y'\n",
    "b = rb'from q import r'\n", "s = '''it's \"import z\" '''\n", "x = importlib.import_module('a')\n",
    "__import__('os')\n", "x = y  # from a import b\n", "async def h():\n    import aiohttp\n",
    "match v:\n    case 1:\n        import mcp\n", "with ctx:\n    from openai import OpenAI\n",
    "lambda: 1\n", "\n", "x = (1,\n     2)\n", "s = 'it''s'\n", "t = \"\"\"a\"b\"\"c\"\"\"\n",
]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_made_up_modules_give_the_imports_of_their_syntax_tree(source: str, newline: str) -> None:
    source = source.replace("\n", newline)
    try:
        expected = _from_tree(source)
    except SyntaxError:
        assume(False)
        return
    assert _from_text(source) == expected


# From a review: regular expressions do not know Python's identifier characters, and a continuation before a
# blank line, a comment or ";" ended the cut-out statement with a backslash that does not parse alone.
REVIEWED = [
    "from \u092e\u0949\u0921\u0932 import torch\n", "from a\u00b7b import c\n", "from my\uff3fpkg import c\n",
    "from a import (\n    \u092e\u0949\u0921\u0932,\n)\n",
    "x\uff3fimport = 1\ny = x\uff3fimport + len('''\nimport fake\n''')\n",
    "import os \\\n\nx = 1\n", "import os \\\n# c\n", "import os \\\n; x = 1\n", "import os\\\r\n",
    "from a import b \\\n\n", "\u00e9t\u00e9 = 1\nimport os\n",
]


@pytest.mark.parametrize("source", REVIEWED)
def test_identifiers_and_continuations_the_patterns_do_not_know(source: str) -> None:
    assert _from_text(source) == _from_tree(source)


def test_a_module_that_does_not_parse_keeps_the_imports_that_do() -> None:
    source = 'import os\nprint "py2"\ns = """\nimport hidden\n"""\nfrom sklearn import svm\nfrom x import (\n'
    assert [(n.lineno, type(n).__name__) for n in import_statements(source)] == [(1, "Import"), (6, "ImportFrom")]


@pytest.mark.parametrize("source", [
    "from __future__ import annotations\nimport a; import b\nfrom c import (d,\n    e)\nimport f\n",
    "import a\ndef g():\n    from b import c  # inside\n    import d as e, f\nclass H:\n    import i\n",
    "import a\nfrom . import b\nfrom .. c import d\nimport e.f.g as h\n",
])
def test_statements_read_together_are_placed_as_read_alone(source: str) -> None:
    """The statements are parsed in one go where they can be; each must come out where the tree has it."""
    assert _from_text(source) == _from_tree(source)


def test_one_statement_that_does_not_parse_leaves_the_others() -> None:
    source = "import a\nimport b.\nfrom c import (d,\n  e)\nimport f; import g\n"
    found = [(n.lineno, n.end_lineno, ast.dump(n)) for n in import_statements(source)]
    expected = [(n.lineno, n.end_lineno, ast.dump(n)) for n in (
        *ast.parse("import a").body, *ast.parse("\n\nfrom c import (d,\n  e)").body,
        *ast.parse("\n\n\n\nimport f; import g").body)]
    assert found == expected


@pytest.mark.parametrize("text", [
    "from" + " " * 100_000 + "x", "from " * 100_000, "import " * 100_000, "from x import (\n" * 20_000,
    "from x import (" + "a, " * 100_000, "'''" + "a" * 100_000, "'''a" * 100_000, "from" + " \\\n" * 100_000,
    "from " + "a ." * 100_000, "from." * 100_000, "from x import (" + "#" * 5_000,
    "from x import (\n" + "    a0,  # the item\n" * 2_000 + "    {{ name }},\n)\n",
    "x = '" + "it\\'s " * 50_000 + "\n", "'" + "\\'" * 100_000, '"""' + '\\"' * 100_000,
])
def test_hostile_text_is_read_in_one_pass(text: str) -> None:
    # Each of these is quadratic (minutes) if a scan can start again inside text an earlier scan covered.
    assert import_statements(text) == []

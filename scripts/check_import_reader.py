"""Compare discovery's text import reader with the syntax tree on every module installed here (or under PATHs).

    python scripts/check_import_reader.py [PATH ...]

For each ``.py`` file that ``ast.parse`` accepts, the Import/ImportFrom nodes of ``ast.walk`` (in source order,
compared by ``ast.dump`` and line number) must equal ``clearsight.discover.python_imports.import_statements``;
the Python detector with its text check in front must report what the full visitor reports; and the visitor
on the statements that can matter (``clearsight.discover.python_skeleton``) must report what a walk of the
whole tree that skips nothing reports. The suite runs
the same comparisons on a sample; this runs them on everything (tens of thousands of modules, a few minutes).
Exit status 1 when anything differs.
"""

from __future__ import annotations

import ast
import sys
import sysconfig
import time
from pathlib import Path

from clearsight.discover.detectors.python_code import (
    DETECTOR_ID,
    PYTHON_CODE,
    PythonContext,
    _unique,
    _Visitor,
    python_observations,
)
from clearsight.discover.interface import Observation, SourceFile
from clearsight.discover.python_imports import import_statements


def _tree_imports(tree: ast.Module) -> list[tuple[int, str]]:
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    return [(n.lineno, ast.dump(n)) for n in nodes]


def _walked(tree: ast.Module, path: Path) -> list[Observation]:
    """The full visitor without pruning: every node of the whole module's tree."""
    visitor = _Visitor(path.name, DETECTOR_ID, PythonContext())
    try:
        visitor.run(tree)
    except RecursionError:
        return []
    return _unique(visitor.found)


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path(sysconfig.get_paths()["stdlib"])]
    compared = differ = 0
    started = time.perf_counter()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            try:
                text = path.read_text(encoding="utf-8")
                tree = ast.parse(text)
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
                continue
            compared += 1
            read = [(n.lineno, ast.dump(n)) for n in import_statements(text)]
            file = SourceFile(path=path, rel=path.name, root=path.parent, size=len(text), text=text)
            observed = python_observations(text, path.name)
            if read != _tree_imports(tree) or PYTHON_CODE.detect(file) != observed or observed != _walked(tree, path):
                differ += 1
                print(f"differs: {path}", flush=True)
    print(f"{compared} modules compared, {differ} differ ({time.perf_counter() - started:.0f} s)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

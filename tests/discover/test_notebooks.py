"""Notebooks: code cells through the Python detector, with the cell index in the evidence."""

from __future__ import annotations

import json
from pathlib import Path

from clearsight.discover.detectors.notebooks import NOTEBOOKS
from clearsight.discover.walk import walk


def _notebook(cells: list[tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True)} for kind, src in cells],
        "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
    })


def test_notebook_cells_located(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "explore.ipynb").write_text(_notebook([
        ("markdown", "import anthropic  # prose, not code"),
        ("code", "!pip install openai\n%matplotlib inline\nimport openai\nimport torch as T"),
        ("code", "# import mistralai\nmodel = T.load('m.pt')"),
        ("code", "%%bash\necho hi"),
        ("code", "def broken(:"),
    ]), encoding="utf-8")
    [file] = list(walk([tmp_path]))
    assert NOTEBOOKS.wants(file.rel)
    found = NOTEBOOKS.detect(file)
    summary = {(o.name, o.rel, o.line, o.evidence) for o in found}
    assert ("openai", "nb/explore.ipynb", 3, "cell 2: import openai") in summary
    assert ("pytorch", "nb/explore.ipynb", 4, "cell 2: import torch as T") in summary
    risky = [o for o in found if "risky load" in o.evidence]
    assert [(o.name, o.line) for o in risky] == [("m.pt", 2)]
    assert risky[0].evidence.startswith("cell 3: risky load: torch.load")
    assert {o.name for o in found} == {"openai", "pytorch", "m.pt"}
    assert all(o.detector == "notebooks" for o in found)


def test_invalid_or_foreign_notebooks_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    r_nb = json.loads(_notebook([("code", "library(openai)\nimport openai")]))
    r_nb["metadata"]["language_info"]["name"] = "R"
    (tmp_path / "r.ipynb").write_text(json.dumps(r_nb), encoding="utf-8")
    assert [o for f in walk([tmp_path]) for o in NOTEBOOKS.detect(f)] == []


def test_a_cell_whose_code_that_matters_does_not_parse_yields_its_imports_only(tmp_path: Path) -> None:
    (tmp_path / "old.ipynb").write_text(_notebook([
        ("code", '%%bash\npython -c "import openai"\necho hi'),
        ("code", "print 'loading'; model = joblib.load('m.pkl')\nimport sklearn\n"),
    ]), encoding="utf-8")
    [file] = list(walk([tmp_path]))
    assert [(o.name, o.line, o.evidence) for o in NOTEBOOKS.detect(file)] == [
        ("scikit-learn", 2, "cell 2: import sklearn")]


def test_python_2_in_statements_that_cannot_matter_does_not_hide_the_rest(tmp_path: Path) -> None:
    """Statements without a word the detector acts on are not parsed, so their syntax errors hide nothing."""
    (tmp_path / "old.ipynb").write_text(_notebook([
        ("code", "print 'python 2'\nimport sklearn\nmodel = joblib.load('m.pkl')\n"),
    ]), encoding="utf-8")
    [file] = list(walk([tmp_path]))
    assert [(o.name, o.line, o.evidence[:33]) for o in NOTEBOOKS.detect(file)] == [
        ("scikit-learn", 2, "cell 1: import sklearn"), ("m.pkl", 3, "cell 1: risky load: joblib.load (")]

"""Jupyter notebooks (``.ipynb``): the Python detector run on every code cell.

Location choice: ``line`` is the line *within the cell* (1-based) and the evidence names the cell — 1-based
position among all cells, as a reader counts them in the notebook UI — e.g. ``"cell 3: import openai"``. A line
number in the raw JSON would be meaningless to a reader and fragile across notebook formatters.

Imports and module-level constants carry over from earlier cells (as when the notebook runs top to bottom), so
``import torch as T`` in cell 1 makes ``T.load(...)`` in cell 5 a ``torch.load``. Magic and shell lines (``%``,
``!``) are blanked, keeping line numbers; a cell that still does not parse (a ``%%bash`` body, Python 2 code)
yields only the import statements that do (``python -c "import x"`` in a shell cell is a string: none).
"""

from __future__ import annotations

import json
from typing import Any

from clearsight.discover.detectors.python_code import PythonContext, python_observations, with_evidence_prefix
from clearsight.discover.interface import FunctionDetector, NameFilter, Observation, SourceFile
from clearsight.discover.relpaths import suffix

DETECTOR_ID = "notebooks"


def _cell_source(cell: dict[str, Any]) -> str | None:
    source = cell.get("source", "")
    if isinstance(source, list):
        if not all(isinstance(part, str) for part in source):
            return None
        source = "".join(source)
    return source if isinstance(source, str) else None


def _strip_magics(source: str) -> str:
    lines = source.split("\n")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def notebook_observations(text: str, rel: str) -> list[Observation]:
    """Observations in a notebook's code cells; ``[]`` for invalid JSON or a non-Python kernel."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(document, dict):
        return []
    metadata = document.get("metadata")
    language_info = metadata.get("language_info") if isinstance(metadata, dict) else None
    language = language_info.get("name") if isinstance(language_info, dict) else None
    if isinstance(language, str) and language.lower() != "python":
        return []
    cells = document.get("cells")
    if not isinstance(cells, list):
        return []
    context = PythonContext()
    found: list[Observation] = []
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        if not source:
            continue
        observations = python_observations(_strip_magics(source), rel, context=context, detector=DETECTOR_ID)
        found.extend(with_evidence_prefix(observations, f"cell {index}: "))
    return found


def _wants(rel: str) -> bool:
    return suffix(rel).lower() == ".ipynb"


def _detect(file: SourceFile) -> list[Observation]:
    if file.text is None:
        return []
    return notebook_observations(file.text, file.rel)


NOTEBOOKS = FunctionDetector(
    id=DETECTOR_ID,
    description="Jupyter notebooks: the Python detector on each code cell, with cell-level locations",
    wants_fn=_wants,
    detect_fn=_detect,
    names=NameFilter.of(".ipynb"),
)

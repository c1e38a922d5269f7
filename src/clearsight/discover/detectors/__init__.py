"""The discovery detectors: one small plugin per file type (see :mod:`clearsight.discover.registry`)."""

from __future__ import annotations

from clearsight.discover.detectors.javascript import JAVASCRIPT
from clearsight.discover.detectors.model_files import MODEL_FILES
from clearsight.discover.detectors.notebooks import NOTEBOOKS
from clearsight.discover.detectors.python_code import PYTHON_CODE

__all__ = ["JAVASCRIPT", "MODEL_FILES", "NOTEBOOKS", "PYTHON_CODE"]

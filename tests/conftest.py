"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _find_reference_dir() -> Path | None:
    env = os.environ.get("CLEARSIGHT_REFERENCE_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The published frameworks (read-only).

    ``$CLEARSIGHT_REFERENCE_DIR`` if set, else the nearest ``shared/reference`` above this directory.
    """
    found = _find_reference_dir()
    if found is None or not found.is_dir():
        pytest.fail(
            "reference data not found: set CLEARSIGHT_REFERENCE_DIR or provide shared/reference "
            "in a parent directory",
            pytrace=False,
        )
    return found

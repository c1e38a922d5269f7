"""Shared pytest fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Compiled gate words (clearsight.discover.text_gates) are cached under the user's cache folder; the suite keeps
# its own, shared with the commands it runs in subprocesses.
os.environ.setdefault("CLEARSIGHT_CACHE_DIR", tempfile.mkdtemp(prefix="clearsight-test-cache-"))


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


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fraud-detection"


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def example_assessment():  # type: ignore[no-untyped-def]
    """The built-in example assessed once per test session (fixed clock, so it is reproducible)."""
    import datetime as dt

    from clearsight.runner import assess_path

    return assess_path(EXAMPLE, now=dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC), home=Path("/nonexistent"))


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, object]:
    """The official OASIS SARIF 2.1.0 JSON Schema (see tests/schemas.py)."""
    from schemas import sarif_schema as load

    return load()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI (CI=true) a skipped test is a failure: a missing library or browser must not pass silently."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, which counts as a failure: {reason}"

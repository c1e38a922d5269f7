from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from clearsight.assess.diff import diff_assessments
from clearsight.core.assessment import Assessment
from clearsight.runner import assess_path


def copy_example(example_dir: Path, tmp_path: Path) -> Path:
    """The example's folders, so the inventory's roots exist (the generated CSV is left out)."""
    target = tmp_path / "project"
    shutil.copytree(example_dir, target, ignore=shutil.ignore_patterns("*.csv", "__pycache__", ".clearsight"))
    return target


def test_identical_assessments_have_no_changes(example_assessment: Assessment) -> None:
    diff = diff_assessments(example_assessment, example_assessment)
    assert diff.changes == []


def test_closing_a_gap_and_adding_a_system_show_up(example_assessment: Assessment, tmp_path: Path,
                                                    example_dir: Path) -> None:
    text = (example_dir / "clearsight.yaml").read_text()
    text = text.replace("""    attestations:
      - control: CS-DAT-01""", """    attestations:
      - control: CS-API-02
        status: implemented
        note: per-partner quotas in the gateway
      - control: CS-DAT-01""", 1)
    text += """
  - id: new-recommender
    name: Offer recommender
    traits:
      purposes: [recommendation]
"""
    copy_example(example_dir, tmp_path).joinpath("clearsight.yaml").write_text(text)
    newer = assess_path(tmp_path / "project", now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    diff = diff_assessments(example_assessment, newer)
    kinds = {(c.kind, c.system, c.subject.split(" ")[0]) for c in diff.changes}
    assert ("gap-closed", "card-fraud-detection", "CS-API-02") in kinds
    assert ("system-added", "new-recommender", "Offer") in kinds
    closed = next(c for c in diff.changes if c.kind == "gap-closed")
    assert closed.better and closed.before == "missing" and closed.after == "implemented"
    assert diff.improved >= 1 and diff.worsened >= 1
    assert diff.changes[0].better is False  # worse news first


def test_a_threat_getting_worse_is_reported(example_assessment: Assessment, tmp_path: Path,
                                            example_dir: Path) -> None:
    text = (example_dir / "clearsight.yaml").read_text().replace("      exposure: partner", "      exposure: public", 1)
    copy_example(example_dir, tmp_path).joinpath("clearsight.yaml").write_text(text)
    newer = assess_path(tmp_path / "project", now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    diff = diff_assessments(example_assessment, newer)
    worse = [c for c in diff.changes if c.kind == "threat-changed" and not c.better]
    assert any(c.subject.startswith("AML.T0029 ") for c in worse)
    assert diff.worsened >= len(worse) > 0

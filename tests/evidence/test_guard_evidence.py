"""A guard policy next to the fraud example's service closes the guard's controls on the next assess."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from clearsight.cli.app import main
from clearsight.core.assessment import Assessment
from clearsight.runner import assess_path

GUARDED = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection-guarded"
GUARD_CONTROLS = ("CS-API-02", "CS-API-03", "CS-MON-01", "CS-MON-02")
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def _statuses(assessment: Assessment, system: str = "card-fraud-detection") -> dict[str, str]:
    found = next(s for s in assessment.systems if s.system.id == system)
    return {g.control: g.status for g in found.gaps}


@pytest.fixture()
def example_copy(tmp_path: Path, example_dir: Path) -> Path:
    target = tmp_path / "fraud-detection"
    shutil.copytree(example_dir, target, ignore=shutil.ignore_patterns(".clearsight", "__pycache__"))
    return target


def test_guard_policy_closes_the_guard_controls(example_copy: Path) -> None:
    before = _statuses(assess_path(example_copy, now=NOW, home=Path("/nonexistent"), discover=False))
    assert all(before[c] in ("missing", "partial") for c in GUARD_CONTROLS)
    shutil.copy(GUARDED / "guard.yaml", example_copy / "service" / "guard.yaml")
    result = assess_path(example_copy, now=NOW, home=Path("/nonexistent"), discover=False)
    after = _statuses(result)
    assert {c: after[c] for c in GUARD_CONTROLS} == dict.fromkeys(GUARD_CONTROLS, "implemented")
    assert after["CS-MON-04"] == before["CS-MON-04"]  # alerts go only to the log: no destination, not closed
    evidence = [e for e in result.evidence if e.kind == "guard.config"]
    assert len(evidence) == 1 and evidence[0].system == "card-fraud-detection"
    assert evidence[0].location is not None and evidence[0].location.path == "service/guard.yaml"


def test_invalid_policy_is_a_finding_not_a_pass(example_copy: Path) -> None:
    (example_copy / "service" / "guard.yaml").write_text("routes:\n  - path: /v1/score\n    limits: [lots]\n")
    result = assess_path(example_copy, now=NOW, home=Path("/nonexistent"), discover=False)
    invalid = [e for e in result.evidence if e.kind == "guard.invalid"]
    assert len(invalid) == 1 and invalid[0].findings[0].location.line == 3  # type: ignore[union-attr]
    assert _statuses(result)["CS-API-02"] != "implemented"


def test_recorded_audit_summary_is_evidence(example_copy: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    audit = tmp_path / "audit.jsonl"
    record = {"time": "2026-11-26T10:00:00+00:00", "request_id": "r1", "client": "key:ab", "route": "/v1/score",
              "method": "POST", "status": 200, "action": "allow", "reasons": [], "input_fingerprint": None,
              "scores": {}, "latency_ms": 0.2}
    audit.write_text(json.dumps(record) + "\n" + json.dumps({**record, "request_id": "r2", "action": "block"}) + "\n")
    code = main(["guard", "audit-summary", str(audit), "--format", "json", "--record", str(example_copy),
                 "--system", "card-fraud-detection"])
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["total"] == 2 and shown["actions"] == {"allow": 1, "block": 1}
    result = assess_path(example_copy, now=NOW, home=Path("/nonexistent"), discover=False)
    audit_evidence = [e for e in result.evidence if e.kind == "guard.audit"]
    assert audit_evidence and audit_evidence[0].facts["records"] == 2 and audit_evidence[0].facts["blocked"] == 1
    assert _statuses(result)["CS-MON-01"] == "implemented"


def test_audit_summary_record_needs_a_system(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = tmp_path / "a.jsonl"
    audit.write_text("")
    assert main(["guard", "audit-summary", str(audit), "--record", str(tmp_path)]) == 2
    assert "--system" in capsys.readouterr().err

"""The closed loop: controls that discovery sees in use close gaps in ``clearsight assess``."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import yaml

from clearsight.core.assessment import Assessment
from clearsight.core.gap import Gap
from clearsight.runner import assess_path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection"
CONTROLS = Path(__file__).resolve().parents[2] / "src" / "clearsight" / "frameworks" / "data" / "controls.yaml"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)

SLOWAPI = """
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
"""
WORKFLOW = """\
name: deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: clearsight model verify model/fraud_model.joblib --signature model/fraud_model.sig
"""


def control_for(name: str) -> str:
    """The control whose discovery.control evidence rule names ``name``."""
    data = yaml.safe_load(CONTROLS.read_text(encoding="utf-8"))
    items = data["controls"] if isinstance(data, dict) else data
    for control in items:
        for rule in control.get("evidence") or []:
            if rule.get("kind") == "discovery.control" and rule.get("where", {}).get("control") == name:
                return str(control["id"])
    raise AssertionError(f"no control has a discovery.control rule for {name}")


def fraud_gap(assessment: Assessment, control: str) -> Gap:
    result = next(r for r in assessment.systems if r.system.id == "card-fraud-detection")
    return next(g for g in result.gaps if g.control == control)


def assess_copy(tmp_path: Path, *, controls: bool) -> Assessment:
    root = tmp_path / "fraud-detection"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.csv"))
    if controls:
        app = root / "service" / "app.py"
        app.write_text(app.read_text(encoding="utf-8") + SLOWAPI, encoding="utf-8")
        workflows = root / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "deploy.yml").write_text(WORKFLOW, encoding="utf-8")
    return assess_path(root, now=NOW, home=tmp_path / "home")


def test_rate_limiting_in_service_code_closes_the_gap(tmp_path: Path) -> None:
    rate_limiting = control_for("rate-limiting")
    before = fraud_gap(assess_copy(tmp_path / "before", controls=False), rate_limiting)
    assert before.status == "missing"

    after = fraud_gap(assess_copy(tmp_path / "after", controls=True), rate_limiting)
    assert after.status != "missing"
    assert after.evidence == ["EV:discovery:card-fraud-detection:control:rate-limiting"]
    assert "rate limiting" in after.status_reason and "clearsight discover" in after.status_reason


def test_signature_verification_in_a_repo_workflow_counts_for_the_system(tmp_path: Path) -> None:
    gap = fraud_gap(assess_copy(tmp_path, controls=True), control_for("signature-verification-ci"))
    assert gap.status == "implemented"
    assert gap.evidence == ["EV:discovery:card-fraud-detection:control:signature-verification-ci"]
    assert "clearsight discover" in gap.status_reason

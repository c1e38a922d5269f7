from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from clearsight.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_inventory_schema_validates_the_example(capsys: pytest.CaptureFixture[str], example_dir: Path) -> None:
    code, out, _ = run(capsys, "schema", "inventory")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.safe_load((example_dir / "clearsight.yaml").read_text())
    data["organisation"]["as_of"] = str(data["organisation"]["as_of"])
    jsonschema.validate(data, schema)
    data["organisation"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_assessment_schema_validates_a_report(capsys: pytest.CaptureFixture[str], example_dir: Path) -> None:
    run(capsys, "schema", "assessment")
    schema = json.loads(capsys.readouterr().out or "{}") or None
    code, out, _ = run(capsys, "schema", "assessment")
    schema = json.loads(out)
    code, report, _ = run(capsys, "assess", str(example_dir), "-f", "json")
    assert code == 0
    jsonschema.validate(json.loads(report), schema)


def test_diff_command(capsys: pytest.CaptureFixture[str], example_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    assert run(capsys, "assess", str(example_dir), "-f", "json", "-o", str(old))[0] == 0
    inventory = (example_dir / "clearsight.yaml").read_text().replace(
        "      - control: CS-GOV-01\n        status: implemented",
        "      - control: CS-GOV-01\n        status: missing",
    )
    project = tmp_path / "project"
    shutil.copytree(example_dir, project, ignore=shutil.ignore_patterns("*.csv", "__pycache__", ".clearsight"))
    (project / "clearsight.yaml").write_text(inventory)
    new = tmp_path / "new.json"
    assert run(capsys, "assess", str(project), "-f", "json", "-o", str(new))[0] == 0
    code, out, _ = run(capsys, "diff", str(old), str(new))
    assert code == 0
    assert "gap-opened" in out and "CS-GOV-01" in out
    code, out, _ = run(capsys, "diff", str(old), str(new), "--format", "json", "--fail-on-worse")
    assert code == 1
    payload = json.loads(out)
    assert payload["worsened"] >= 1


def test_diff_rejects_non_assessments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    code, _, err = run(capsys, "diff", str(bad), str(bad))
    assert code == 2
    assert "not a Clearsight assessment" in err
    bad.write_text("{not json")
    assert "not valid JSON" in run(capsys, "diff", str(bad), str(bad))[2]


def test_catalogue_listings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "catalogue", "use-cases")
    assert code == 0 and "fraud-detection" in out and "carve-out of III-5b" in out
    code, out, _ = run(capsys, "catalogue", "controls")
    assert "CS-API-02" in out
    code, out, _ = run(capsys, "catalogue", "versions")
    assert "mitre-atlas" in out and "digital-omnibus-2026 (default)" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("clearsight ")

"""``clearsight data check`` / ``manifest`` end to end: formats, exit codes, evidence back into ``assess``."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from clearsight.cli.app import main
from clearsight.data import simulate as sim


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("data")
    trusted = sim.transactions(rows=6000, seed=21)
    attacked = sim.flip_targeted(trusted, 20, mode="account_takeover", seed=3)
    paths = {"trusted": folder / "trusted.csv", "attacked": folder / "attacked.csv"}
    pacsv.write_csv(pa.table(trusted.columns), paths["trusted"])
    pacsv.write_csv(pa.table(attacked.columns), paths["attacked"])
    return paths


def test_json_report_names_flipped_rows_and_exit_1(capsys: pytest.CaptureFixture[str],
                                                   files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "data", "check", str(files["attacked"]), "--label", "is_fraud", "--id",
                       "transaction_id", "--baseline", str(files["trusted"]), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["baseline"]["flips_by_direction"] == {"1 -> 0": 20}
    assert {f["rule"] for f in report["findings"]} >= {"baseline.label-flips", "poisoning.targeted-region"}
    flagged = [r for r in report["suspicious"] if r["flagged"]]
    flipped = {f["id"] for f in report["baseline"]["label_flips"]}
    assert flipped <= {r["id"] for r in flagged}
    assert report["summary"]["flagged"] == len(flagged)
    # the map holds every flagged row (up to 500) and a sample of the rest, for the "where do flags sit" chart
    assert sum(p["flagged"] for p in report["map"]) == len(flagged)
    assert len(report["map"]) > len(flagged)


def test_fail_on_never_and_other_formats(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                         tmp_path: Path) -> None:
    for fmt, marker in (("md", "# Data check"), ("html", "chart-map"), ("table", "Signals")):
        target = tmp_path / f"report.{fmt}"
        code, _, _ = run(capsys, "data", "check", str(files["attacked"]), "--label", "is_fraud", "--format", fmt,
                         "--output", str(target), "--fail-on", "never", "--no-effect")
        assert code == 0
        assert marker in target.read_text(encoding="utf-8")


def test_clean_data_passes(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--format", "json",
                       "--signals", "region.targeted,trigger.pattern", "--ignore", "merchant")
    assert code == 0
    assert json.loads(out)["summary"]["worst"] is None


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, _, err = run(capsys, "data", "check", str(files["trusted"]), "--label", "nope")
    assert code == 2 and "no label column 'nope'" in err and "Traceback" not in err
    code, _, err = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--signals", "x.y")
    assert code == 2 and "unknown signal" in err
    code, _, err = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--ignore", "nope")
    assert code == 2 and "--ignore names no column: nope" in err


def test_manifest_then_check_against_it(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                        tmp_path: Path) -> None:
    manifest = tmp_path / "trusted.manifest.json"
    code, _, _ = run(capsys, "data", "manifest", str(files["trusted"]), "--label", "is_fraud", "--id",
                     "transaction_id", "--output", str(manifest))
    assert code == 0 and manifest.exists()
    code, out, _ = run(capsys, "data", "check", str(files["attacked"]), "--label", "is_fraud", "--id",
                       "transaction_id", "--baseline", str(manifest), "--format", "json", "--no-effect")
    assert json.loads(out)["baseline"]["flips_by_direction"] == {"1 -> 0": 20}


def test_recorded_evidence_closes_the_poisoning_control(capsys: pytest.CaptureFixture[str],
                                                        files: dict[str, Path], tmp_path: Path) -> None:
    from clearsight.core.evidence import Evidence

    folder = tmp_path / ".clearsight" / "evidence"
    code, _, _ = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--baseline",
                     str(files["trusted"]), "--record", str(folder), "--system", "card-fraud", "--no-effect")
    assert code == 0
    evidence = Evidence.model_validate_json((folder / "data.check-card-fraud.json").read_text())
    assert evidence.kind == "data.check"
    assert evidence.facts["poisoning_detection"] is True and evidence.facts["baseline_diff"] is True


def test_schema_failures_fail_the_check_and_inference_round_trips(
        capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    code, _, _ = run(capsys, "data", "infer-schema", str(files["trusted"]), "--label", "is_fraud", "--id",
                     "transaction_id", "--output", str(schema))
    assert code == 0 and "velocity_24h >= velocity_1h" in schema.read_text()
    code, out, _ = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--schema", str(schema),
                       "--format", "json", "--no-effect", "--signals", "trigger.pattern")
    assert code == 0 and json.loads(out)["validation"]["passed"] is True
    bad = tmp_path / "bad.csv"
    lines = files["trusted"].read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index('"amount"') if '"amount"' in header else header.index("amount")] = "-5"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    code, out, _ = run(capsys, "data", "check", str(bad), "--label", "is_fraud", "--schema", str(schema),
                       "--format", "json", "--no-effect", "--signals", "trigger.pattern")
    report = json.loads(out)
    assert code == 1
    assert report["validation"]["passed"] is False
    assert any(f["rule"] == "validation.failed" and "amount" in f["message"] for f in report["findings"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns:\n  amount: {typo: 1}\n")
    code, _, err = run(capsys, "data", "check", str(bad), "--label", "is_fraud", "--schema", str(broken))
    assert code == 2 and "broken.yaml:2" in err


def test_recorded_data_check_closes_the_data_controls_in_assess(
        capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path, example_dir: Path) -> None:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(example_dir, project, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    code, out, _ = run(capsys, "assess", str(project), "-f", "json")
    before = {g["control"]: g["status"] for r in json.loads(out)["systems"]
              if r["system"]["id"] == "card-fraud-detection" for g in r["gaps"]}
    schema = tmp_path / "schema.yaml"
    run(capsys, "data", "infer-schema", str(files["trusted"]), "--label", "is_fraud", "--output", str(schema))
    code, _, err = run(capsys, "data", "check", str(files["trusted"]), "--label", "is_fraud", "--baseline",
                       str(files["trusted"]), "--schema", str(schema), "--no-effect", "--record",
                       str(project / ".clearsight" / "evidence"), "--system", "card-fraud-detection")
    assert code == 0, err
    code, out, _ = run(capsys, "assess", str(project), "-f", "json")
    after = {g["control"]: g["status"] for r in json.loads(out)["systems"]
             if r["system"]["id"] == "card-fraud-detection" for g in r["gaps"]}
    # CS-DAT-01 is attested as partial in the example's clearsight.yaml, and attestations win over evidence
    for control in ("CS-DAT-02", "CS-DAT-03"):
        assert before[control] != "implemented" and after[control] == "implemented", control
    evidence = json.loads((project / ".clearsight" / "evidence" / "data.check-card-fraud-detection.json").read_text())
    assert evidence["facts"]["validation"] is True and evidence["facts"]["validation_passed"] is True


def test_signed_manifest_is_verified_and_tampering_is_critical(
        capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "key.pem", tmp_path / "key.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    manifest = tmp_path / "trusted.manifest.json"
    code, _, err = run(capsys, "data", "manifest", str(files["trusted"]), "--label", "is_fraud", "--id",
                       "transaction_id", "--output", str(manifest), "--key", str(private))
    assert code == 0, err
    assert (tmp_path / "trusted.manifest.json.sig").is_file()
    args = ("data", "check", str(files["trusted"]), "--label", "is_fraud", "--id", "transaction_id", "--baseline",
            str(manifest), "--baseline-key", str(public), "--format", "json", "--no-effect", "--signals",
            "trigger.pattern")
    code, out, _ = run(capsys, *args)
    assert code == 0 and json.loads(out)["baseline"]["manifest_verified"] is True
    # an attacker who rewrites the trusted labels to hide their flips breaks the signature
    manifest.write_text(manifest.read_text().replace('"row_labels":["0"', '"row_labels":["1"', 1))
    code, out, _ = run(capsys, *args)
    report = json.loads(out)
    assert code == 1
    assert report["baseline"]["manifest_verified"] is False
    assert report["findings"][0]["rule"] == "baseline.signature"
    assert report["findings"][0]["severity"] == "critical"

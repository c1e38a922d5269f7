"""``clearsight model ...`` end to end: exit codes, formats, signing, and the loop back into ``assess``."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clearsight.cli.app import main


class Payload:
    """Pickles to a call of os.system; never unpickled anywhere in these tests."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo clearsight-test",))


class Plain:
    """A class nobody allowlisted: pickling an instance references an unknown global."""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "good.pkl").write_bytes(pickle.dumps({"weights": [0.1, 0.2]}, protocol=4))
    (folder / "evil.bin").write_bytes(pickle.dumps(Payload(), protocol=2))  # a pickle named .bin
    (folder / "odd.pkl").write_bytes(pickle.dumps(Plain(), protocol=4))   # unknown global: suspicious
    return folder


def test_scan_exit_codes_follow_fail_on(capsys: pytest.CaptureFixture[str], models: Path) -> None:
    code, out, _ = run(capsys, "model", "scan", str(models))
    assert code == 1
    assert "evil.bin" in out and "malicious" in out
    (models / "evil.bin").unlink()
    assert run(capsys, "model", "scan", str(models))[0] == 0  # suspicious is below the default threshold
    assert run(capsys, "model", "scan", str(models), "--fail-on", "suspicious")[0] == 1


def test_scan_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], models: Path) -> None:
    code, out, _ = run(capsys, "model", "scan", str(models), "--format", "json")
    assert code == 1
    report = json.loads(out)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["evil.bin"]["verdict"] == "malicious"
    assert by_name["evil.bin"]["format"] == "pickle"
    assert len(by_name["evil.bin"]["sha256"]) == 64
    finding = by_name["evil.bin"]["findings"][0]
    assert set(finding) >= {"rule", "severity", "message", "detail"}
    assert by_name["good.pkl"]["verdict"] == "clean"
    assert by_name["odd.pkl"]["verdict"] == "suspicious"
    assert report["summary"]["files"] == 3


def test_scan_sarif_is_valid(capsys: pytest.CaptureFixture[str], models: Path,
                             sarif_schema: dict[str, object], tmp_path: Path) -> None:
    target = tmp_path / "scan.sarif"
    code, _, _ = run(capsys, "model", "scan", str(models), "--format", "sarif", "-o", str(target))
    assert code == 1
    log = json.loads(target.read_text())
    jsonschema.Draft7Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    assert any(r["level"] == "error" and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               .endswith("evil.bin") for r in results)
    assert len({r["partialFingerprints"]["clearsightModelFinding/v1"] for r in results}) == len(results)


def test_policy_file_extends_the_allowlist(capsys: pytest.CaptureFixture[str], models: Path, tmp_path: Path) -> None:
    (models / "evil.bin").unlink()
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"allow:\n  {Plain.__module__}: [Plain]\n")
    code, out, _ = run(capsys, "model", "scan", str(models), "--format", "json", "--policy", str(policy),
                       "--fail-on", "suspicious")
    assert code == 0, out
    assert json.loads(out)["policy"] == str(policy)


def test_bad_policy_and_missing_paths_are_input_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("allow: [not, a, mapping]\n")
    code, _, err = run(capsys, "model", "scan", str(tmp_path), "--policy", str(bad))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = run(capsys, "model", "scan", str(tmp_path / "nope.pkl"), "--format", "json")
    assert code == 2 and "no such file or folder" in err


def _keys(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / "key.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = folder / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_sign_verify_and_record_close_the_signing_control(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, example_dir: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(example_dir, project, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    private, public = _keys(tmp_path)
    model = project / "model"
    code, out, err = run(capsys, "model", "sign", str(model), "--key", str(private))
    assert code == 0, err
    assert (model / "model.sig").is_file()

    evidence_dir = project / ".clearsight" / "evidence"
    code, out, err = run(capsys, "model", "verify", str(model), "--key", str(public),
                         "--record", "card-fraud-detection", "--evidence-dir", str(evidence_dir))
    assert code == 0, err
    assert "verified" in out

    code, out, _ = run(capsys, "assess", str(project), "-f", "json")
    gaps = {g["control"]: g for r in json.loads(out)["systems"] if r["system"]["id"] == "card-fraud-detection"
            for g in r["gaps"]}
    assert gaps["CS-SUP-05"]["status"] == "implemented"
    assert "signature was verified" in gaps["CS-SUP-05"]["status_reason"]
    assert gaps["CS-SUP-03"]["status"] == "implemented"  # the example's model file scans clean

    (model / "features.json").write_text("[]")  # tamper after signing
    code, _, err = run(capsys, "model", "verify", str(model), "--key", str(public))
    assert code == 1
    assert "features.json" in err


def test_a_malicious_model_reopens_the_scanning_gap(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    example_dir: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(example_dir, project, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    (project / "model" / "fraud_model.joblib").write_bytes(pickle.dumps(Payload(), protocol=4))
    code, out, err = run(capsys, "assess", str(project), "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    fraud = next(r for r in report["systems"] if r["system"]["id"] == "card-fraud-detection")
    gap = next(g for g in fraud["gaps"] if g["control"] == "CS-SUP-03")
    assert gap["status"] == "missing"
    scan = next(e for e in report["evidence"] if e["kind"] == "scan.model")
    assert scan["facts"]["verdict_max"] == "malicious"
    assert any("system" in f["message"] for f in scan["findings"])


def test_check_source_flags_a_pickle_only_download(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# A model\n")
    code, out, _ = run(capsys, "model", "check-source", str(folder))
    assert code == 1
    assert "FAIL" in out and "source.licence" in out and "source.format" in out


def test_no_hash_leaves_the_digest_out(capsys: pytest.CaptureFixture[str], models: Path) -> None:
    code, out, _ = run(capsys, "model", "scan", str(models), "--format", "json", "--no-hash")
    files = json.loads(out)["files"]
    assert code == 1
    assert all(f["sha256"] is None for f in files)
    assert {Path(f["path"]).name: f["verdict"] for f in files}["evil.bin"] == "malicious"


def test_the_table_names_the_member_inside_a_container(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import zipfile

    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("inner/evil.pkl", pickle.dumps(Payload(), protocol=2))
    code, out, _ = run(capsys, "model", "scan", str(bundle))
    assert code == 1
    assert "inner/evil.pkl" in out


@pytest.mark.parametrize("fmt", ["json", "sarif", "table"])
def test_names_that_are_not_utf8_never_break_a_report(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      fmt: str) -> None:
    """A folder, a file and a tar member named with Latin-1 bytes: SARIF and table output used to end with an
    internal error (exit 3) on the lone surrogates Python keeps such names as (review finding)."""
    import io
    import tarfile

    folder = os.fsencode(tmp_path) + b"/d\xff"
    try:
        os.mkdir(folder)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    with open(folder + b"/m\xfe.pkl", "wb") as fh:
        fh.write(pickle.dumps(Payload(), protocol=2))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = pickle.dumps(Payload(), protocol=2)
        member = tarfile.TarInfo(os.fsdecode(b"inner\xfd.pkl"))
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    (tmp_path / "bundle.tar").write_bytes(buffer.getvalue())
    out = tmp_path / f"out.{fmt}"
    code, _, err = run(capsys, "model", "scan", str(tmp_path), "--format", fmt, "--output", str(out))
    assert code == 1, err  # both payloads found, nothing crashed
    text = out.read_text(encoding="utf-8")  # the file is UTF-8 whatever the names were
    if fmt == "json":
        assert "\\udcfe" in text and "\\udcfd" in text

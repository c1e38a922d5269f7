from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearsight.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_is_the_default(capsys: pytest.CaptureFixture[str], example_dir: Path) -> None:
    code, out, _ = run(capsys, "assess", str(example_dir))
    assert code == 0
    assert "Card payment fraud detection" in out
    assert "Phase 1 - Critical" in out


def test_every_format_into_a_folder(capsys: pytest.CaptureFixture[str], example_dir: Path, tmp_path: Path) -> None:
    formats = ["json", "md", "html", "sarif", "navigator", "csv", "table"]
    args = ["assess", str(example_dir), "--output-dir", str(tmp_path / "out")]
    for f in formats:
        args += ["--format", f]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(["assessment.json", "assessment.md", "assessment.html", "assessment.sarif",
                            "assessment.layer.json", "assessment.csv"])
    assert "Portfolio" in out  # the table still goes to the screen
    assert err.count("wrote ") == 6
    document = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert document["schema_version"] == "1.0"


@pytest.mark.parametrize(("threshold", "expected"), [("critical", 1), ("low", 1)])
def test_fail_on(capsys: pytest.CaptureFixture[str], example_dir: Path, threshold: str, expected: int) -> None:
    code, _, _ = run(capsys, "assess", str(example_dir), "--format", "json", "--fail-on", threshold)
    assert code == expected


def test_fail_on_passes_when_nothing_reaches_the_threshold(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "clearsight.yaml").write_text(
        "version: 1\norganisation: {name: Tiny}\nsystems:\n"
        "  - id: rules\n    name: Rules engine\n    traits: {model_kind: rules, business_criticality: low,"
        " scale: small, decision_role: none}\n"
        "    attestations:\n"
        + "".join(f"      - {{control: {c}, status: implemented}}\n"
                  for c in ("CS-GOV-01", "CS-GOV-02", "CS-GOV-03", "CS-GOV-05", "CS-IR-01", "CS-SUP-01",
                            "CS-SUP-06", "CS-MON-01", "CS-GOV-10", "CS-IR-06", "CS-MON-04", "CS-IR-02",
                            "CS-IR-04", "CS-GOV-06", "CS-GOV-08"))
    )
    code, out, err = run(capsys, "assess", str(tmp_path), "--format", "json", "--fail-on", "high")
    open_high = [g for r in json.loads(out)["systems"] for g in r["gaps"]
                 if g["status"] in ("missing", "partial") and g["severity"] in ("high", "critical")]
    assert open_high == []
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["assess", "/no/such/path"], "path does not exist"),
        (["assess", "{example}", "--format", "pdf"], "unknown format 'pdf'"),
        (["assess", "{example}", "--as-of", "yesterday"], "is not a date"),
        (["assess", "{example}", "--calendar", "nope"], "unknown EU AI Act calendar"),
        (["assess", "{example}", "-f", "json", "-f", "md", "-o", "x.json"], "--output takes one format"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], example_dir: Path,
                                          args: list[str], message: str) -> None:
    code, out, err = run(capsys, *[a.replace("{example}", str(example_dir)) for a in args])
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert out == ""


def test_invalid_inventory_names_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "clearsight.yaml").write_text("version: 1\norganisation:\n  name: x\n  colour: blue\n")
    code, _, err = run(capsys, "assess", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'clearsight.yaml'}:4: organisation.colour: unknown key 'colour'" in err


def test_nothing_half_written_on_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "clearsight.yaml").write_text("version: 1\norganisation: {name: x}\nsystems: [{id: a}]\n")
    target = tmp_path / "report.json"
    code, _, _ = run(capsys, "assess", str(tmp_path), "-f", "json", "-o", str(target))
    assert code == 2
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["clearsight.yaml"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess")
    assert code == 2
    assert "Missing argument" in err


def test_real_entry_point_has_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "clearsight.yaml").write_text(":\n  - [unbalanced")
    proc = subprocess.run([sys.executable, "-m", "clearsight", "assess", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "invalid YAML" in proc.stderr


def inventory(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "clearsight.yaml").write_text(
        "version: 1\norganisation:\n  name: x\n" + extra + "systems:\n  - {id: a, name: A}\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "message", "line"),
    [
        ("  as_of: 2026-02-30\n", "'2026-02-30' is not a valid value", 4),
        ("planning:\n  capacity_days: [10, -5, 10]\n", "greater than or equal to 0", 5),
        ("planning:\n  capacity_days: [10, .nan, 10]\n", "finite number", 5),
    ],
)
def test_bad_values_in_the_inventory(capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: str,
                                     message: str, line: int) -> None:
    code, _, err = run(capsys, "assess", str(inventory(tmp_path, extra)))
    assert code == 2, err
    assert message in err
    assert f"clearsight.yaml:{line}:" in err


def test_several_formats_need_a_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "assess", str(inventory(tmp_path)), "-f", "json", "-f", "table")
    assert code == 2 and "use --output-dir" in err and out == ""


def test_output_dir_that_is_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "assess", str(inventory(tmp_path)), "-f", "json", "--output-dir", str(blocker))
    assert code == 2 and "output folder is a file" in err


def test_several_outputs_are_all_or_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "assessment.md").mkdir(parents=True)  # the second report cannot be written
    code, _, err = run(capsys, "assess", str(inventory(tmp_path)), "-f", "html", "-f", "md", "-f", "json",
                       "--output-dir", str(out))
    assert code == 2 and "is a folder" in err
    assert sorted(p.name for p in out.iterdir()) == ["assessment.md"]  # no html, no json, no temp files


def test_a_fifo_is_not_an_inventory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "clearsight.yaml"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "assess", str(fifo))
    assert code == 2 and "not a regular file" in err

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearsight.cli.app import main
from clearsight.runner import assess_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def newer_atlas(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data: dict[str, Any] = yaml.load((reference_dir / "atlas" / "ATLAS.yaml").read_text(), Loader=yaml.CSafeLoader)
    data["version"] = "5.7.0"
    techniques = data["matrices"][0]["techniques"]
    techniques.append({"id": "AML.T0998", "name": "Invented For Test", "tactics": ["AML.TA0011"]})
    for t in techniques:
        if t["id"] == "AML.T0029":
            t["name"] = "Denial of AI Service (renamed)"
    path = tmp_path_factory.mktemp("atlas") / "ATLAS.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_update_prints_diff_and_later_assessments_use_it(
    capsys: pytest.CaptureFixture[str], newer_atlas: Path, tmp_path: Path, example_dir: Path
) -> None:
    home = tmp_path / "home"
    code, out, err = run(capsys, "atlas", "update", "--from", str(newer_atlas), "--home", str(home), "--dry-run")
    assert code == 0, err
    assert "ATLAS 5.6.0 -> 5.7.0" in out
    assert "+ AML.T0998 Invented For Test" in out
    assert "~ AML.T0029: 'Denial of AI Service' -> 'Denial of AI Service (renamed)'" in out
    assert "repaired: AML.M0018: moved technique link AML.T0052.001" in out
    assert not home.exists()

    code, out, _ = run(capsys, "atlas", "update", "--from", str(newer_atlas), "--home", str(home))
    assert code == 0 and "installed to" in out
    code, out, _ = run(capsys, "atlas", "show", "--home", str(home))
    assert "MITRE ATLAS 5.7.0 (installed" in out
    assessment = assess_path(example_dir, home=home)
    atlas = next(c for c in assessment.catalogues if c.id == "mitre-atlas")
    assert atlas.version == "5.7.0"
    names = {t.technique: t.name for r in assessment.systems for t in r.threats}
    assert names["AML.T0029"] == "Denial of AI Service (renamed)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary", "not valid YAML"),
        (b"version: 1\n", "'matrices' missing"),
        (b"- a\n- b\n", "not a mapping"),
    ],
)
def test_corrupt_atlas_files_fail_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          content: bytes, message: str) -> None:
    bad = tmp_path / "ATLAS.yaml"
    bad.write_bytes(content)
    home = tmp_path / "home"
    code, _, err = run(capsys, "atlas", "update", "--from", str(bad), "--home", str(home))
    assert code == 2
    assert message in err
    assert not home.exists()


def test_unreachable_url_fails_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "atlas", "update", "--from", "http://127.0.0.1:9/ATLAS.yaml", "--home", str(tmp_path))
    assert code == 2
    assert "cannot download ATLAS file" in err


def test_unwritable_home_is_an_input_error(capsys: pytest.CaptureFixture[str], newer_atlas: Path,
                                           tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "atlas", "update", "--from", str(newer_atlas), "--home", str(blocker))
    assert code == 2 and "cannot install the catalogue" in err


def test_a_corrupt_installed_edition_can_be_repaired(capsys: pytest.CaptureFixture[str], newer_atlas: Path,
                                                     tmp_path: Path) -> None:
    broken = tmp_path / "catalogues" / "atlas.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{broken")
    code, _, err = run(capsys, "atlas", "update", "--from", str(newer_atlas), "--home", str(tmp_path))
    assert code == 0, err
    assert "comparing with the built-in edition" in err
    assert run(capsys, "atlas", "show", "--home", str(tmp_path))[1].startswith("MITRE ATLAS 5.7.0")


def test_assess_uses_the_edition_in_its_home(capsys: pytest.CaptureFixture[str], newer_atlas: Path,
                                             tmp_path: Path, example_dir: Path) -> None:
    assert run(capsys, "atlas", "update", "--from", str(newer_atlas), "--home", str(tmp_path))[0] == 0
    code, out, _ = run(capsys, "assess", str(example_dir), "-f", "json", "--home", str(tmp_path))
    assert code == 0
    catalogues = json.loads(out)["catalogues"]
    assert any(c["id"] == "mitre-atlas" and c["version"] == "5.7.0" for c in catalogues)

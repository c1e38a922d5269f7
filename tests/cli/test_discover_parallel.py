"""``clearsight discover --jobs/--executor/--repos-file``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearsight.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _repo(path: Path, module: str) -> Path:
    path.mkdir(parents=True)
    (path / "main.py").write_text(f"import {module}\n")
    return path


def test_repos_file_adds_folders_and_ignores_comments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    first = _repo(tmp_path / "one", "openai")
    _repo(tmp_path / "two", "anthropic")
    _repo(tmp_path / "three", "xgboost")
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# repositories to scan\n\n{tmp_path / 'two'}\n  three  \n")
    code, out, _ = run(capsys, "discover", str(first), "--repos-file", str(listing), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert [s["id"].split("-")[0] for s in report["systems"]] == ["one", "two", "three"]  # root order kept
    names = {c["name"] for c in report["components"]}
    assert {"openai", "anthropic", "xgboost"} <= names
    serial = out
    code, out, _ = run(capsys, "discover", str(first), "--repos-file", str(listing), "--format", "json", "--jobs", "2")
    assert code == 0 and out == serial


def test_repos_file_alone_is_enough(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path / "one", "openai")
    listing = tmp_path / "repos.txt"
    listing.write_text("one\n")
    code, out, _ = run(capsys, "discover", "--repos-file", str(listing), "--format", "json")
    assert code == 0
    assert any(c["name"] == "openai" for c in json.loads(out)["components"])


def test_missing_folder_in_repos_file_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path / "one", "openai")
    listing = tmp_path / "repos.txt"
    listing.write_text("# comment\none\nnowhere\n")
    code, _, err = run(capsys, "discover", "--repos-file", str(listing))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{listing}:3" in lines[0] and "nowhere" in lines[0]


def test_no_paths_at_all_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "discover")
    assert code == 2 and "PATH" in err


def test_bad_executor_is_an_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path / "one", "openai")
    code, _, err = run(capsys, "discover", str(tmp_path / "one"), "--executor", "ray://127.0.0.1:1")
    assert code == 2 and "unknown executor" in err


def test_unreachable_dask_is_an_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    _repo(tmp_path / "one", "openai")
    code, _, err = run(capsys, "discover", str(tmp_path / "one"), "--executor", "dask://127.0.0.1:1")
    assert code == 2 and "cannot reach the Dask scheduler" in err

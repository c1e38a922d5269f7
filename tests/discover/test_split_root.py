"""One repository with ``--jobs 2``: its files are split across workers, and the report is the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_repos import build_repos

from clearsight.cli.app import main
from clearsight.discover import run as discover_run


def _discover(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["discover", *args, "--format", "json"]) == 0
    return capsys.readouterr().out


def test_one_root_is_split_across_workers_with_the_same_report(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "monorepo"
    build_repos(repo)
    serial = _discover(capsys, str(repo))
    monkeypatch.setattr(discover_run, "CHUNK_BYTES", 500)  # many small chunks, so the split is exercised
    files = list(discover_run.walk([repo]))
    parts = discover_run.chunks(files, discover_run.CHUNK_BYTES)
    assert len(parts) > 8 and [f for part in parts for f in part] == files
    assert _discover(capsys, str(repo), "--jobs", "2") == serial
    assert len(json.loads(serial)["systems"]) >= 5


def test_chunks_keep_walk_order_and_never_come_out_empty() -> None:
    assert discover_run.chunks([], 10) == []

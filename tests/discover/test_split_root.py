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
    # things each side records as skipped, so their merged order is checked too
    (repo / "chatbot" / "latin1.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (repo / "chatbot" / "loop").symlink_to(repo / "chatbot")
    (repo / "rag-app" / ".venv").mkdir()
    serial = _discover(capsys, str(repo))
    monkeypatch.setattr(discover_run, "CHUNK_FILES", 3)  # many small chunks, so the split is exercised
    refs = list(discover_run.walk_paths([repo], skipped=[]))
    parts = discover_run.chunks(refs, discover_run.CHUNK_FILES)
    assert len(parts) > 8 and [f for part in parts for f in part.files] == refs
    assert _discover(capsys, str(repo), "--jobs", "2") == serial
    report = json.loads(serial)
    assert len(report["systems"]) >= 5
    assert {"undecodable", "symlink-loop"} <= {item["reason"] for item in report["skipped"]}


def test_chunks_keep_walk_order_and_never_come_out_empty() -> None:
    assert discover_run.chunks([], 10) == []

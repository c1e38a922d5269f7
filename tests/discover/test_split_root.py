"""One repository with ``--jobs 2``: its files are split across workers, and the report is the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import pytest
from corpus_repos import build_repos

from clearsight.cli.app import main
from clearsight.discover import chunks
from clearsight.discover import run as discover_run
from clearsight.executors import LocalExecutor, SerialExecutor

T = TypeVar("T")
R = TypeVar("R")


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
    monkeypatch.setattr(chunks, "CHUNK_FILES", 3)  # many small chunks, so the split is exercised
    refs = list(discover_run.walk_paths([repo], skipped=[]))
    parts = _chunks_sent(repo)
    assert len(parts) > 8 and [f for part in parts for f in part.files] == refs
    assert [part.first for part in parts] == list(range(0, len(refs), 3))
    assert _discover(capsys, str(repo), "--jobs", "2") == serial
    report = json.loads(serial)
    assert len(report["systems"]) >= 5
    assert {"undecodable", "symlink-loop"} <= {item["reason"] for item in report["skipped"]}


class _Recording(SerialExecutor):
    """Runs in this process and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[chunks.ReadChunk] = []

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        self.sent.extend(items)  # type: ignore[arg-type]
        return super().map(fn, items)


def _chunks_sent(root: Path) -> list[chunks.ReadChunk]:
    recorder = _Recording()
    discover_run.discover_root(discover_run.RootTask(root=root, label="", multi=False), recorder)
    return recorder.sent


def test_chunks_keep_walk_order_and_never_come_out_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk hands out chunks as it fills them: none for an empty tree, and no empty one at the end."""
    monkeypatch.setattr(chunks, "CHUNK_FILES", 4)
    assert _chunks_sent(tmp_path) == []
    for i in range(8):
        (tmp_path / f"f{i}.txt").write_text("x")
    parts = _chunks_sent(tmp_path)
    assert [len(part.files) for part in parts] == [4, 4] and [part.first for part in parts] == [0, 4]


class _Ordered(SerialExecutor):
    """Notes when it has been handed everything (a pool sends every item before it waits for results)."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        taken = []
        for item in items:
            self.log.append("sent")
            taken.append(item)
        self.log.append("results")
        return super().map(fn, taken)


@pytest.mark.parametrize("roots", [1, 3])
def test_the_callers_imports_run_once_the_executor_has_every_task(tmp_path: Path, roots: int) -> None:
    paths = []
    for i in range(roots):
        (tmp_path / f"r{i}").mkdir()
        (tmp_path / f"r{i}" / "app.py").write_text("import openai\n")
        paths.append(tmp_path / f"r{i}")
    log: list[str] = []
    report = discover_run.discover(paths, executor=_Ordered(log), meanwhile=lambda: log.append("meanwhile"))
    assert log == ["sent"] * roots + ["meanwhile", "results"]  # once, after the last task, before any result
    assert len(report.systems) == roots
    report = discover_run.discover(paths)  # the hook is optional, and the serial run still groups
    assert len(report.systems) == roots


_FIRST_FILES = """
import sys
from pathlib import Path
from clearsight.discover.run import discover
from clearsight.executors import SerialExecutor

class Noting(SerialExecutor):
    def map(self, fn, items):
        taken = []
        for item in items:
            if not taken:  # what this process had imported when the first files went out
                print('clearsight.core.discovery' in sys.modules, 'clearsight.report.discovery' in sys.modules)
            taken.append(item)
        return super().map(fn, taken)

discover([Path(sys.argv[1])], executor=Noting())
"""


def test_the_first_files_go_out_before_the_report_models_are_imported(tmp_path: Path) -> None:
    """The report models (pydantic) and renderers are imported once the walk handed out its files."""
    (tmp_path / "app.py").write_text("import openai\n")
    out = subprocess.run([sys.executable, "-c", _FIRST_FILES, str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]
    code = "import sys, clearsight.cli.discover_cmd; print('clearsight.core.discovery' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["False"]


class _RecordingPool(LocalExecutor):
    """A local pool of one worker (which runs in this process) that keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__(1)
        self.sent: list[chunks.ReadChunk] = []

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        self.sent.extend(items)  # type: ignore[arg-type]
        return super().map(fn, items)


def test_several_roots_go_to_a_local_pool_as_chunks_of_one_stream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a local pool the roots are not a task each (unequal roots left a worker idle at the end): every
    root's files go out in chunks, root after root, and the report is the one a root per task gives."""
    roots = [tmp_path / "big", tmp_path / "small", tmp_path / "empty"]
    build_repos(roots[0])
    (roots[1]).mkdir()
    (roots[1] / "app.py").write_text("import openai\nclient = openai.OpenAI()\n")
    (roots[1] / "latin1.py").write_bytes(b"name = '\xe9t\xe9'\n")
    roots[2].mkdir()
    whole = discover_run.discover(roots, executor=SerialExecutor())  # a root per task, grouped where it ran
    monkeypatch.setattr(chunks, "CHUNK_FILES", 5)
    pool = _RecordingPool()
    split = discover_run.discover(roots, executor=pool)
    assert split.model_dump_json() == whole.model_dump_json()
    sent = [ref.root for part in pool.sent for ref in part.files]
    assert sent == sorted(sent, key=lambda root: roots.index(root))  # root after root, walk order within
    assert set(sent) == {roots[0], roots[1]} and len(pool.sent) > 5
    assert all(len({ref.root for ref in part.files}) == 1 for part in pool.sent)  # a chunk holds one root's files
    assert {item.reason for item in split.skipped} >= {"undecodable"}


class _Elsewhere(SerialExecutor):
    """Runs each task from another working folder, as a Dask worker started elsewhere does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        here = Path.cwd()
        os.chdir(self.folder)
        try:
            return super().map(fn, items)
        finally:
            os.chdir(here)


def test_relative_roots_are_found_by_workers_with_another_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review: over Dask, roots given as relative paths came out unreadable, walked from the
    worker's own working folder."""
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text("import openai\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    here = discover_run.discover([Path("one"), Path("two")])
    away = discover_run.discover([Path("one"), Path("two")], executor=_Elsewhere(tmp_path / "elsewhere"))
    assert away.model_dump_json() == here.model_dump_json()
    assert len(away.systems) == 2 and away.files_read == 2 and not away.skipped

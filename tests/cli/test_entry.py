"""The console script's early start of discovery's workers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import clearsight.cli.app
from clearsight.cli import entry
from clearsight.executors import LocalExecutor


@pytest.mark.parametrize(("argv", "jobs"), [
    (["discover", "repo", "--jobs", "2"], 2),
    (["discover", "--jobs=3", "repo"], 3),
    (["discover", "repo", "-j", "4"], 4),
    (["discover", "repo", "-j2"], 2),
    (["discover", "repo", "--jobs", "2", "--executor", "local"], 2),
    (["discover", "repo"], 0),  # serial: no workers
    (["discover", "repo", "--jobs", "1"], 0),
    (["discover", "repo", "--jobs", "0"], 0),  # the command reports the error
    (["discover", "repo", "--jobs", "many"], 0),
    (["discover", "repo", "--jobs", "\u00b2"], 0),  # a digit int() refuses: the command reports it
    (["discover", "repo", "--jobs"], 0),
    (["discover", "repo", "--jobs", "2", "--executor", "dask://127.0.0.1:8786"], 0),
    (["discover", "repo", "--executor=dask://h:1", "-j", "2"], 0),
    (["discover", "--", "--jobs", "2"], 0),  # a folder named --jobs
    (["assess", "repo", "--jobs", "2"], 0),
    ([], 0),
])
def test_only_a_local_parallel_discovery_starts_workers_early(argv: list[str], jobs: int) -> None:
    assert entry.workers_wanted(argv) == jobs


def test_a_worker_imports_no_report_models() -> None:
    code = ("import sys, clearsight.discover.worker; "
            "print('pydantic' in sys.modules, 'clearsight.discover.run' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_server_starts_before_the_interface_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(LocalExecutor, "start", lambda self: order.append(f"start {self.jobs} {self.preload}"))
    monkeypatch.setattr(clearsight.cli.app, "run", lambda: order.append("run"))
    monkeypatch.setattr(sys, "argv", ["clearsight", "discover", "repo", "--jobs", "2"])
    entry.run()
    assert order == ["start 2 ('clearsight.discover.worker',)", "run"]
    order.clear()
    monkeypatch.setattr(sys, "argv", ["clearsight", "discover", "repo"])
    entry.run()
    assert order == ["run"]


def test_the_console_script_is_the_early_entry() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "clearsight"]
    assert script.value == "clearsight.cli.entry:run"


def test_a_parallel_run_through_the_entry_gives_the_serial_report(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for n in range(6):
        (repo / f"svc{n}").mkdir(parents=True)
        (repo / f"svc{n}" / "requirements.txt").write_text("openai==1.40.0\n")
        (repo / f"svc{n}" / "app.py").write_text(
            'import openai\nclient = openai.OpenAI()\nclient.chat(model="gpt-4o")\n')
    reports = []
    for jobs in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "clearsight", "discover", str(repo), "--format", "json",
                               "--jobs", jobs], capture_output=True, timeout=300, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        reports.append(json.loads(proc.stdout))
    assert reports[0] == reports[1]
    assert len(reports[0]["systems"]) == 6


def test_a_bad_jobs_value_is_still_the_command_s_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "clearsight", "discover", str(tmp_path), "--jobs", "0"],
                          capture_output=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert b"--jobs must be at least 1" in proc.stderr

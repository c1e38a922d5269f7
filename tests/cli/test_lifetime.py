"""Fast process exit after a command kept its large result: exit code, output and exit handlers survive it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clearsight.cli import lifetime
from clearsight.cli.app import main

SCRIPT = textwrap.dedent("""
    import atexit, pathlib, sys, threading, time
    from clearsight.cli.lifetime import exit_process, keep_until_exit
    atexit.register(lambda: pathlib.Path(sys.argv[1]).write_text("handlers ran"))
    def late():
        time.sleep(0.3)
        pathlib.Path(sys.argv[1] + ".thread").write_text("thread finished")
    threading.Thread(target=late).start()
    keep_until_exit([{"big": list(range(1000))} for _ in range(100)])
    sys.stdout.write("buffered, no newline")
    sys.stderr.write("to stderr")
    exit_process(3)
""")


def test_a_kept_result_ends_the_process_with_code_output_and_handlers(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(marker)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"
    assert proc.stderr == "to stderr"
    assert marker.read_text() == "handlers ran"
    assert (tmp_path / "marker.txt.thread").read_text() == "thread finished"  # non-daemon threads are waited for


def test_without_a_kept_result_the_exit_is_the_normal_one() -> None:
    lifetime.release()
    with pytest.raises(SystemExit) as exc:
        lifetime.exit_process(4)
    assert exc.value.code == 4


def test_each_in_process_run_starts_without_earlier_results() -> None:
    lifetime.keep_until_exit(object())
    assert main(["--version"]) == 0
    assert lifetime._kept == []


def test_the_console_entry_point_writes_the_whole_report(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection"
    proc = subprocess.run(
        [sys.executable, "-m", "clearsight", "assess", str(example), "--format", "json", "--fail-on", "critical"],
        capture_output=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.endswith(b"}\n")
    assert len(json.loads(proc.stdout)["systems"]) == 4

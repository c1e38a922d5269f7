"""h5py reads hostile HDF5 files only in a separate, resource-limited process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file
from clearsight.controls.artifacts.scanners import hdf5_isolated

LAMBDA = {"class_name": "Sequential", "config": {"layers": [
    {"class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {
        "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA", "defaults": None, "closure": None}}}}]}}


def _h5(path: Path, config: dict[str, object] | None) -> Path:
    with h5py.File(path, "w") as handle:
        if config is not None:
            handle.attrs["model_config"] = json.dumps(config)
        handle.create_dataset("w/kernel", data=np.zeros((2, 2)))
    return path


def test_the_child_reads_the_configuration(tmp_path: Path) -> None:
    path = _h5(tmp_path / "m.h5", LAMBDA)
    with path.open("rb") as stream:
        read = hdf5_isolated.read_configs(stream)
    assert read.failure is None and read.configs == (("model_config", LAMBDA),)


def test_an_h5_inside_an_archive_is_spilled_and_read(tmp_path: Path) -> None:
    path = _h5(tmp_path / "m.h5", LAMBDA)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.write(path, "models/m.h5")
    assert scan_bytes(buf.getvalue(), name="bundle.zip", policy=default_policy()).verdict == "malicious"


def test_the_scanning_process_never_imports_h5py(tmp_path: Path) -> None:
    path = _h5(tmp_path / "m.h5", LAMBDA)
    code = ("import sys; from pathlib import Path; from clearsight.controls.artifacts.scan import scan_file; "
            "from clearsight.controls.artifacts.policy import default_policy; "
            f"print(scan_file(Path({str(path)!r}), policy=default_policy()).verdict, 'h5py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["malicious", "False"]


@pytest.mark.parametrize(
    ("child", "fragment"),
    [
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "crashed (signal 11)"),
        ("import time; time.sleep(30)", "ran longer than"),
        ("raise MemoryError()", "memory limit"),
    ],
)
def test_a_parser_that_dies_makes_the_file_suspicious(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      child: str, fragment: str) -> None:
    monkeypatch.setattr(hdf5_isolated, "_CHILD", child)
    monkeypatch.setattr(hdf5_isolated, "TIMEOUT_SECONDS", 2.0)
    scanned = scan_file(_h5(tmp_path / "weights.h5", None), policy=default_policy())
    failed = [f for f in scanned.findings if f.rule == "format.parser-failed"]
    assert scanned.verdict == "suspicious" and failed and fragment in (failed[0].detail or "")


def test_weights_only_h5_stays_clean(tmp_path: Path) -> None:
    assert scan_file(_h5(tmp_path / "weights.h5", None), policy=default_policy()).verdict == "clean"

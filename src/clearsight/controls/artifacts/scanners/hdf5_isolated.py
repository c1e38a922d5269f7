"""Read a Keras HDF5 file's configuration attributes with h5py in a separate, resource-limited process.

libhdf5 is a large C library with a history of memory-safety bugs on crafted files; the scanner exists to
read hostile files, so it never parses HDF5 in its own process. A child process opens the file read-only,
prints the ``model_config`` and ``training_config`` attributes as JSON text, and is killed if it takes too
long or too much memory. A crash or a timeout is itself reported: a model file that breaks the parser is not
a model file to trust.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

TIMEOUT_SECONDS = 20.0
MEMORY_BYTES = 1024 * 1024 * 1024
MAX_SPILL_BYTES = 512 * 1024 * 1024
MAX_OUTPUT_BYTES = 64 * 1024 * 1024

_CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import h5py
out = {}
with h5py.File(sys.argv[1], "r") as handle:
    for key in ("model_config", "training_config"):
        if key in handle.attrs:
            value = handle.attrs[key]
            out[key] = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
sys.stdout.write(json.dumps(out))
"""


@dataclass(frozen=True)
class Hdf5Read:
    configs: tuple[tuple[str, object], ...] = ()
    failure: str | None = None  # why the child gave no answer (crash, timeout, memory), None when it answered


def available() -> bool:
    return importlib.util.find_spec("h5py") is not None


def read_configs(stream: BinaryIO) -> Hdf5Read:
    """The parsed configuration attributes, or why they could not be read."""
    path = getattr(stream, "name", None)
    if isinstance(path, str) and os.path.isfile(path):
        return _run(path)
    stream.seek(0)
    with tempfile.NamedTemporaryFile(prefix="clearsight-h5-", suffix=".h5") as spill:
        copied = 0
        while chunk := stream.read(1 << 20):
            copied += len(chunk)
            if copied > MAX_SPILL_BYTES:
                return Hdf5Read(failure=f"member larger than {MAX_SPILL_BYTES >> 20} MiB was not parsed")
            spill.write(chunk)
        spill.flush()
        return _run(spill.name)


def _run(path: str) -> Hdf5Read:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "PYTHONPATH")}
    env["HDF5_PLUGIN_PATH"] = ""  # no filter plugins from the environment
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _CHILD, path, str(MEMORY_BYTES)], capture_output=True,
                              timeout=TIMEOUT_SECONDS, env=env, check=False)
    except subprocess.TimeoutExpired:
        return Hdf5Read(failure=f"the HDF5 parser ran longer than {TIMEOUT_SECONDS:.0f} s")
    if done.returncode < 0:
        return Hdf5Read(failure=f"the HDF5 parser crashed (signal {-done.returncode})")
    if done.returncode != 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown error"])[-1][:200]
        if "MemoryError" in last:
            return Hdf5Read(failure="the HDF5 parser ran out of its memory limit")
        return Hdf5Read(configs=(), failure=None if _benign_error(last) else f"h5py could not open it: {last}")
    if len(done.stdout) > MAX_OUTPUT_BYTES:
        return Hdf5Read(failure="the configuration attributes are too large")
    found = json.loads(done.stdout or b"{}")
    return Hdf5Read(configs=tuple(_parsed(found)))


def _parsed(found: dict[str, str]) -> Iterator[tuple[str, object]]:
    for key, text in found.items():
        try:
            yield key, json.loads(text)
        except (ValueError, RecursionError):
            continue


def _benign_error(message: str) -> bool:
    """Not an HDF5 file after all, or a truncated one: the byte search still covers it; nothing to report."""
    return "OSError" in message or "not a HDF5 file" in message.lower() or "file signature not found" in message

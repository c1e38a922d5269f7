"""Files that appear whole or not at all: readers never see half a report or half a catalogue."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def stage(path: Path, text: str) -> str:
    """Write ``text`` to a temporary sibling of ``path`` (with normal permissions) and return its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomically(path: Path, text: str) -> None:
    tmp = stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

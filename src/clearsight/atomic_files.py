"""Files that appear whole or not at all: readers never see half a report or half a catalogue."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def _sibling(path: Path) -> Iterator[str]:
    """A temporary sibling of ``path`` with normal permissions; removed if the block fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage(path: Path, text: str | bytes) -> str:
    """Write ``text`` to a temporary sibling of ``path`` and return its name.

    Bytes are written as they are (UTF-8 already): a large JSON report then skips a decode and an encode.
    """
    with _sibling(path) as tmp:
        if isinstance(text, bytes):
            Path(tmp).write_bytes(text)
        else:
            Path(tmp).write_text(text, encoding="utf-8")
    return tmp


@contextmanager
def streamed(path: Path) -> Iterator[TextIO]:
    """Write a long output piece by piece; it replaces ``path`` only when the block completes."""
    with _sibling(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        yield handle
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> None:
    tmp = stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

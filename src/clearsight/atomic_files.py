"""Files that appear whole or not at all: readers never see half a report or half a catalogue."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def _sibling(path: Path) -> Iterator[tuple[str, TextIO]]:
    """A temporary sibling of ``path`` with normal permissions; removed if the block fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield tmp, handle
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stage(path: Path, text: str) -> str:
    """Write ``text`` to a temporary sibling of ``path`` and return its name."""
    with _sibling(path) as (tmp, handle):
        handle.write(text)
    return tmp


@contextmanager
def streamed(path: Path) -> Iterator[TextIO]:
    """Write a long output piece by piece; it replaces ``path`` only when the block completes."""
    with _sibling(path) as (tmp, handle):
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

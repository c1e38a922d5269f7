"""Files that appear whole or not at all: readers never see half a report or half a catalogue."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO


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


Rendered = str | bytes | Iterator[bytes]
"""A finished output: text, UTF-8 bytes, or UTF-8 pieces for a document too large to hold twice."""


def stage(path: Path, text: Rendered) -> str:
    """Write ``text`` to a temporary sibling of ``path`` and return its name."""
    with _sibling(path) as tmp, open(tmp, "wb") as handle:
        write_rendered(handle, text)
    return tmp


def write_rendered(handle: BinaryIO, text: Rendered) -> None:
    if isinstance(text, str):
        # names that are not UTF-8 reach reports as lone surrogates; they are written as \\udcXX, never a crash
        handle.write(text.encode("utf-8", "backslashreplace"))
    elif isinstance(text, bytes):
        handle.write(text)
    else:
        for piece in text:
            handle.write(piece)


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

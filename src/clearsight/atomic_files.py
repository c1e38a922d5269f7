"""Files that appear whole or not at all: readers never see half a report or half a catalogue."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO


def destination(path: Path) -> tuple[Path, bool]:
    """Where an output named ``path`` is written, and whether it may be replaced by renaming a finished sibling.

    Renaming over ``path`` itself would replace a symlink with a file (the link's target left stale) and a
    device or FIFO with a regular file (``-o /dev/null`` run as root replaced the system's /dev/null). So a
    link is followed to its target, and anything but a regular file (or nothing yet) is written into as it is.
    """
    real = Path(os.path.realpath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return real, True
    return real, stat.S_ISREG(mode)


def write_into(path: Path, text: Rendered) -> None:
    """Write into an existing node that is not a regular file (a device, a FIFO): no sibling, no rename."""
    with open(path, "wb") as handle:
        write_rendered(handle, text)


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
    path, atomic = destination(path)
    if not atomic:
        with open(path, "w", encoding="utf-8") as direct:
            yield direct
        return
    with _sibling(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        yield handle
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> None:
    path, atomic = destination(path)
    if not atomic:
        write_into(path, text)
        return
    tmp = stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Walk scan roots and hand every file to the detectors as a :class:`SourceFile`, listing what was skipped.

Rules (the same for every root):

- Vendored and generated trees are not entered (``DEFAULT_EXCLUDED_DIRS``, plus any directory holding a
  ``pyvenv.cfg`` or ``conda-meta``: a virtual environment whatever its name). Each is listed once as ``excluded``.
- Symlinks are never followed out of the root (``outside-root``). Symlinks that point inside the root are not
  followed either — their target is walked at its real place — so a loop cannot hang the walk (``symlink-loop``
  when the target is an ancestor, ``symlink`` otherwise). Broken links are ``unreadable``.
- A file with a NUL byte in its first 8 KB is ``binary``; a text file over ``max_text_bytes`` is ``huge``; a file
  that is not UTF-8 is ``undecodable``. All three are listed *and still yielded* with ``text=None`` and the first
  4 KB in ``head``, so content sniffers (the model-file detector) can see them; text detectors ignore them.
- Unreadable files and directories (permissions, FIFOs, devices, races) are listed and skipped, never raised.
- A file or directory whose *name* is not UTF-8 is ``undecodable`` too, listed with its name escaped and not
  read: no report format can encode such a name.

``rel`` paths always use forward slashes. Nothing read here is imported or executed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from clearsight.discover.interface import SourceFile, is_utf8, printable

SkipReason = Literal[
    "excluded", "binary", "huge", "undecodable", "unreadable", "symlink-loop", "symlink", "outside-root",
]

DEFAULT_EXCLUDED_DIRS: frozenset[str] = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "site-packages", "dist-packages", "__pycache__", "dist",
    "build", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".clearsight", ".eggs",
})
VENV_MARKERS: tuple[str, ...] = ("pyvenv.cfg", "conda-meta")
DEFAULT_MAX_TEXT_BYTES = 2 * 1024 * 1024
BINARY_PROBE_BYTES = 8 * 1024
HEAD_BYTES = 4 * 1024
_ONE_READ_BYTES = 64 * 1024  # files up to this size are read in one call (see _contents)


@dataclass(frozen=True)
class Skipped:
    """A file or directory the detectors did not read as text, and why (``detail`` never holds file content)."""

    root: Path
    rel: str
    reason: SkipReason
    detail: str = ""


@dataclass(frozen=True)
class FileRef:
    """A file the traversal found and has not read yet (it may still turn out unreadable).

    ``path`` is text, as the directory listing gives it: a ``Path`` per file cost the walk a third of its time,
    and rebuilding them from a worker's task as much again."""

    path: str
    root: Path
    rel: str
    regular: bool = True  # False for a FIFO, socket or device: listed, never opened (opening one has effects)


def walk(
    roots: Sequence[Path],
    *,
    skipped: list[Skipped] | None = None,
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
    excluded_dirs: frozenset[str] = DEFAULT_EXCLUDED_DIRS,
) -> Iterator[SourceFile]:
    """Every file under ``roots`` in a stable (sorted, depth-first) order; skipped items go to ``skipped``."""
    sink: list[Skipped] = skipped if skipped is not None else []
    for ref in walk_paths(roots, skipped=sink, excluded_dirs=excluded_dirs):
        yield from read_file(ref, sink, max_text_bytes)


def walk_paths(
    roots: Sequence[Path], *, skipped: list[Skipped], excluded_dirs: frozenset[str] = DEFAULT_EXCLUDED_DIRS,
) -> Iterator[FileRef]:
    """The traversal alone: files to read, in walk order; what the traversal itself skips goes to ``skipped``
    (files that turn out binary, huge or unreadable are recorded by :func:`read_file`)."""
    for root in roots:
        yield from _walk_root(Path(root), skipped, excluded_dirs)


def _walk_root(root: Path, sink: list[Skipped], excluded_dirs: frozenset[str]) -> Iterator[FileRef]:
    root_abs = Path(os.path.abspath(root))
    try:
        root_real = root_abs.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        sink.append(Skipped(root_abs, ".", "unreadable", _why(exc)))
        return
    if root_real.is_file():
        yield FileRef(str(root_abs), root_abs.parent, root_abs.name)
        return
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[str, str]] = [(str(root_abs), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            st = os.stat(directory)
            key = (st.st_dev, st.st_ino)
            if key in visited:
                sink.append(Skipped(root_abs, prefix.rstrip("/") or ".", "symlink-loop", "directory already walked"))
                continue
            visited.add(key)
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            sink.append(Skipped(root_abs, prefix.rstrip("/") or ".", "unreadable", _why(exc)))
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            rel = prefix + entry.name
            path = entry.path
            if not is_utf8(entry.name):
                # no report can encode such a name (Python keeps the bytes as lone surrogates): listed, not read
                sink.append(Skipped(root_abs, printable(rel), "undecodable", "its name is not UTF-8"))
                continue
            try:
                if entry.is_symlink():
                    _skip_symlink(Path(path), rel, Path(directory), root_abs, root_real, sink)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in excluded_dirs or any(os.path.exists(os.path.join(path, m)) for m in VENV_MARKERS):
                        sink.append(Skipped(root_abs, rel, "excluded", "vendored or generated tree"))
                    else:
                        subdirs.append((path, rel + "/"))
                    continue
                regular = entry.is_file(follow_symlinks=False)  # from the directory listing, mostly
            except OSError as exc:
                sink.append(Skipped(root_abs, rel, "unreadable", _why(exc)))
                continue
            yield FileRef(path, root_abs, rel, regular)
        stack.extend(reversed(subdirs))


def _skip_symlink(path: Path, rel: str, directory: Path, root_abs: Path, root_real: Path,
                  sink: list[Skipped]) -> None:
    """Symlinks are never followed; say why each one was left alone."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        sink.append(Skipped(root_abs, rel, "unreadable", "broken symlink"))
        return
    except (OSError, RuntimeError):  # ELOOP (OSError) or pathlib's own loop detection (RuntimeError)
        sink.append(Skipped(root_abs, rel, "symlink-loop", "symlink resolves to itself"))
        return
    if not target.is_relative_to(root_real):
        sink.append(Skipped(root_abs, rel, "outside-root", "symlink points outside the scan root"))
        return
    try:
        here = directory.resolve(strict=True)
    except (OSError, RuntimeError):
        here = directory
    if target.is_dir() and (here == target or here.is_relative_to(target)):
        sink.append(Skipped(root_abs, rel, "symlink-loop", "symlink points at an ancestor directory"))
    else:
        sink.append(Skipped(root_abs, rel, "symlink", "target is walked at its real path"))


# Opened without following a symlink and without waiting on a FIFO (a file may have been replaced since the
# walk, which never hands over what its listing called a FIFO, socket or device); fstat then says what was
# opened. One descriptor and three system calls per file, where a stat, a buffered file object and its reads
# cost twice the time over a tree of small files.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_SYMLINK_ERRORS = {errno.ELOOP, errno.EMLINK}


def read_file(ref: FileRef, sink: list[Skipped], max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES) -> Iterator[SourceFile]:
    """The file as a :class:`SourceFile` (text None for binary, huge or undecodable ones, which are also
    recorded in ``sink``); nothing for an unreadable one, which is recorded only."""
    path, root, rel = ref.path, ref.root, ref.rel
    if not ref.regular:
        sink.append(Skipped(root, rel, "unreadable", "not a regular file"))
        return
    try:
        if not _NOFOLLOW and not stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode):
            sink.append(Skipped(root, rel, "unreadable", "not a regular file"))
            return
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        why = "not a regular file" if exc.errno in _SYMLINK_ERRORS and _NOFOLLOW else _why(exc)
        sink.append(Skipped(root, rel, "unreadable", why))
        return
    try:
        st = os.fstat(fd)
        regular = stat.S_ISREG(st.st_mode)
        data = _contents(fd, st.st_size, max_text_bytes) if regular else b""
    except OSError as exc:
        sink.append(Skipped(root, rel, "unreadable", _why(exc)))
        return
    finally:
        os.close(fd)
    if not regular:
        sink.append(Skipped(root, rel, "unreadable", "not a regular file"))
        return
    head = data[:HEAD_BYTES]
    if data.find(b"\0", 0, BINARY_PROBE_BYTES) >= 0:
        sink.append(Skipped(root, rel, "binary", "NUL byte in the first 8 KB"))
        yield SourceFile(path=path, rel=rel, root=root, size=st.st_size, text=None, head=head)
        return
    if st.st_size > max_text_bytes or len(data) > max_text_bytes:
        sink.append(Skipped(root, rel, "huge", f"{max(st.st_size, len(data))} bytes > {max_text_bytes}"))
        yield SourceFile(path=path, rel=rel, root=root, size=st.st_size, text=None, head=head)
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sink.append(Skipped(root, rel, "undecodable", f"not UTF-8 at byte {exc.start}"))
        yield SourceFile(path=path, rel=rel, root=root, size=st.st_size, text=None, head=head)
        return
    yield SourceFile(path=path, rel=rel, root=root, size=st.st_size, text=text, head=head)


def _contents(fd: int, size: int, limit: int) -> bytes:
    """What :func:`read_file` needs of a regular file of ``size`` bytes (as ``fstat`` said): all of it, up to
    ``limit`` + 1 bytes, unless it is binary or bigger than ``limit``, when its first
    :data:`BINARY_PROBE_BYTES` are enough (more may come back).

    A small file is read in one call asking for one byte more than its size: getting exactly its size back
    means the whole file, where reading a probe, then the rest, then the end took three calls and a copy for
    every file of a tree (most are small). A file that grew, shrank or came back short is read on to the end
    as before. Bigger files are probed first, so a large binary is never read whole.
    """
    if size <= _ONE_READ_BYTES and size <= limit:
        data = os.read(fd, size + 1)
        return data if len(data) == size else data + _read(fd, limit + 1 - len(data))
    probe = _read(fd, BINARY_PROBE_BYTES)
    if size > limit or b"\0" in probe:
        return probe
    return probe + _read(fd, limit + 1 - len(probe))


def _read(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes, fewer only at the end of the file."""
    chunks: list[bytes] = []
    while limit > 0:
        chunk = os.read(fd, limit)
        if not chunk:
            break
        chunks.append(chunk)
        limit -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _why(exc: BaseException) -> str:
    """A short reason without the path (the record already has it)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class TextsOnDisk(Mapping[str, str]):
    """The texts of files a walk read as text, read again from disk when asked.

    Keeping every file's text for the whole scan cost as much memory as the tree itself; after the detectors
    have run, only the few files searched for paths into data folders are needed again. A file that changed
    or vanished since is read as it is now, or as empty text, never an error.
    """

    def __init__(self, root: Path, rels: Sequence[str], max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES) -> None:
        base = Path(os.path.abspath(root))
        self._base = str(base.parent if base.is_file() else base)  # joined as text: a path object per file was slow
        self._rels = list(rels)
        self._known = set(self._rels)
        self._max = max_text_bytes

    def __getitem__(self, rel: str) -> str:
        return self.text_of(self.raw(rel))

    def raw(self, rel: str) -> bytes:
        """The file's bytes, for a caller that can settle most files without decoding them."""
        if rel not in self._known:
            raise KeyError(rel)
        try:
            # as read_file: a symlink put there since is not followed
            fd = os.open(os.path.join(self._base, rel), _OPEN_FLAGS)
        except OSError:
            return b""
        try:
            return _read(fd, self._max) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        except OSError:
            return b""
        finally:
            os.close(fd)

    @staticmethod
    def text_of(data: bytes) -> str:
        """What ``self[rel]`` gives for a file of these bytes."""
        return data.decode("utf-8-sig", errors="replace")

    def __iter__(self) -> Iterator[str]:
        return iter(self._rels)

    def __len__(self) -> int:
        return len(self._rels)

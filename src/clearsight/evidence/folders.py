"""Walking a system's folders: the one traversal every file-reading collector shares.

Symlinks are never followed (a link can point anywhere, including back up the tree) and vendored or
generated trees are skipped, so a collector sees the project's own files once each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", "site-packages",
                       "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".clearsight"})


def walk_files(folder: Path, *, max_depth: int | None = None) -> Iterator[Path]:
    """Regular files under ``folder`` (depth 0 = the folder itself), unreadable folders skipped."""
    if not folder.is_dir():
        return
    stack = [(folder, 0)]
    while stack:
        current, depth = stack.pop()
        try:
            entries = list(current.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and (max_depth is None or depth < max_depth):
                    stack.append((entry, depth + 1))
            elif entry.is_file():
                yield entry

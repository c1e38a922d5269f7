"""Name and suffix of a walked file's relative POSIX path, with string operations.

Detectors ask every file for its name or suffix (tens of detectors times every file of a tree); building a
``PurePosixPath`` each time was a tenth of a discovery run. The walker's relative paths are already clean
(no ``//``, ``.`` parts or trailing slash), where these agree with ``PurePosixPath(rel).name`` and ``.suffix``.
"""

from __future__ import annotations


def base_name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def suffix(rel: str) -> str:
    """The final dotted suffix, as ``PurePosixPath.suffix``: none for ``.env``, ``name.`` or ``name``."""
    name = base_name(rel)
    at = name.rfind(".")
    return name[at:] if 0 < at < len(name) - 1 else ""

"""One parse per Python file, however many detectors read it (parsing dominates discovery's cost)."""

from __future__ import annotations

import ast
from functools import lru_cache


@lru_cache(maxsize=1)
def parse_python(source: str) -> ast.Module | None:
    """The syntax tree of ``source``, or None when it does not parse. Callers must not modify the tree.

    The detectors that read a file run one after the other on it, so the last tree is the only one worth
    keeping; a huge module's tree takes tens of MB.
    """
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None

"""The contracts between the parts of the model scanner, so each part can be built and tested alone.

scan.py          walks paths, hashes files, sniffs formats, recurses into containers
  formats.py     content sniffing: bytes -> format name (magic bytes, never the extension)
  containers.py  zip / tar / gzip / bz2 / xz members, with depth, size and path-traversal limits
  scanners/      one module per format; each returns Findings for one file or member
    pickle_scan  the pickle reader plus the policy (shared by torch, joblib, numpy object arrays)
policy.py        which callables a pickle may import: allowlist, denylist, user extensions
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from clearsight.core.evidence import Finding


class Policy(Protocol):
    """What a pickle may import. ``classify`` answers for one ``module.name`` global."""

    name: str

    def classify(self, module: str, name: str) -> str:
        """``"safe"``, ``"dangerous"`` or ``"unknown"`` (unknown is reported as suspicious)."""
        ...


@dataclass(frozen=True)
class Member:
    """One thing to scan: a file on disk, or a member inside a container (``outer!inner`` in ``where``)."""

    where: str
    size: int | None
    open: Callable[[], BinaryIO]


FormatScanner = Callable[[Member, Policy], list[Finding]]
"""Scans one member of a known format; never raises for bad content (it returns findings instead)."""

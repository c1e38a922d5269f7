"""The contracts between the walker, the detectors and the grouping step.

A detector is a small plugin: an ID, a one-line description, a cheap ``wants(rel_path)`` filter, and
``detect(file)`` returning Observations. It never raises for odd content (it returns nothing instead) and
never imports, executes or deserialises what it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from clearsight.core.system import ComponentKind

Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class SourceFile:
    """One readable file under a scan root. ``text`` is None for binary files (model files, archives)."""

    path: Path
    rel: str = field(metadata={"doc": "path relative to the scan root, with forward slashes"})
    root: Path
    size: int
    text: str | None
    head: bytes = b""


@dataclass(frozen=True)
class Observation:
    """Something a detector saw at one place: an SDK import, a model ID, a database URL, a personal-data field."""

    kind: ComponentKind
    name: str
    rel: str
    line: int | None
    detector: str
    evidence: str
    confidence: Confidence = "high"
    version: str | None = None


def source_lines(text: str) -> list[str]:
    """The lines of a text as editors and SARIF viewers number them.

    Only ``\n`` (with an optional ``\r`` before it) ends a line. ``str.splitlines`` also splits on form feeds,
    ``\x1c``–``\x1e``, ``\x85`` and the Unicode separators, which shifts every later line number in files that
    hold them (form feeds between sections are common in older code).
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start another
    return [line[:-1] if line.endswith("\r") else line for line in lines]


class Detector(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def description(self) -> str: ...

    def wants(self, rel: str) -> bool:
        """Cheap filter on the relative path (extension, file name) before the file is read."""
        ...

    def detect(self, file: SourceFile) -> list[Observation]:
        ...


@dataclass(frozen=True)
class FunctionDetector:
    """A detector built from two functions, so most detectors are a few lines of metadata plus logic."""

    id: str
    description: str
    wants_fn: Callable[[str], bool]
    detect_fn: Callable[[SourceFile], list[Observation]]

    def wants(self, rel: str) -> bool:
        return self.wants_fn(rel)

    def detect(self, file: SourceFile) -> list[Observation]:
        return self.detect_fn(file)

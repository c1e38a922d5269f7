"""The contracts between the walker, the detectors and the grouping step.

A detector is a small plugin: an ID, a one-line description, a cheap ``wants(rel_path)`` filter, and
``detect(file)`` returning Observations. It never raises for odd content (it returns nothing instead) and
never imports, executes or deserialises what it reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from clearsight.discover.text_gates import Gates

if TYPE_CHECKING:
    from clearsight.core.system import ComponentKind

Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class SourceFile:
    """One readable file under a scan root. ``text`` is None for binary files (model files, archives)."""

    path: str = field(metadata={"doc": "the file as the walk found it (for opening)"})
    rel: str = field(metadata={"doc": "path relative to the scan root, with forward slashes"})
    root: Path
    size: int
    text: str | None
    head: bytes = b""

    @cached_property
    def gates(self) -> Gates:
        """Which detectors' gate words the text holds (see :mod:`~clearsight.discover.text_gates`), shared by
        every detector that looks at this file; only for files with a text."""
        return Gates(self.text or "")


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

    def __post_init__(self) -> None:
        # JSON and YAML keep escaped lone surrogates ("\ud800") in the strings they return, and no report can
        # encode those as UTF-8: one crafted key in a config file used to end the whole run with an error.
        for name in ("name", "evidence", "version"):
            value = getattr(self, name)
            if value is not None and not value.isascii():
                object.__setattr__(self, name, printable(value))


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_utf8(text: str) -> bool:
    """False when ``text`` holds lone surrogates: file names that are not UTF-8 come from the OS that way."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def line_at(text: str, offset: int) -> int:
    """The 1-based line of ``offset``, numbered as :func:`source_lines` numbers them."""
    return text.count("\n", 0, offset) + 1


class LineCounter:
    """:func:`line_at` for offsets asked in increasing order, counting on from the last one: a detector asking
    each of a file's thousands of matches for its line from the top (a 1.3 MB ``CREATE TABLE`` took 106 s)
    reads the file once instead. An offset before the last one is counted from the top."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1

    def line(self, offset: int) -> int:
        if offset < self._offset:
            self._offset, self._line = 0, 1
        self._line += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._line


class KeyLines:
    """Lines of keys that a parsed JSON or YAML document names, found in its text.

    Parsers keep keys in the order the text has them, so each search starts where the last one matched, a file
    is scanned about once however many keys it holds, and line numbers are counted on from the last match. A key
    that is not ahead (written differently, or met out of order) is searched for from ``start``, then from the
    top. What the searches read is counted against a budget of a few passes over the text, and at most
    ``MAX_KEYS`` keys are looked up (callers compile a pattern per key); after that the remaining keys get no
    line, so no file, however crafted, makes this quadratic or slow. Real files name far fewer keys.
    """

    PASSES = 8
    FLOOR = 4_000_000  # characters any file may spend, so small files always get every line
    MAX_KEYS = 2_000

    def __init__(self, text: str, start: int = 0) -> None:
        self._text = text
        self._start = start
        self._cursor = start
        self._lines = LineCounter(text)
        self._budget = self.PASSES * len(text) + self.FLOOR
        self._keys = 0

    def wanted(self) -> bool:
        """Whether another key may still be looked up (ask before compiling its pattern)."""
        return self._budget > 0 and self._keys < self.MAX_KEYS

    def line_of(self, pattern: re.Pattern[str], start: int | None = None) -> int | None:
        """The line of ``pattern``'s next match; ``start``, when given and new, begins a new section there (the
        search is then ahead of it, falling back to the top)."""
        if not self.wanted():
            return None
        self._keys += 1
        text = self._text
        if start is not None and start != self._start:
            self._start = self._cursor = start
        match = pattern.search(text, self._cursor)
        if match is not None:
            self._budget -= match.end() - self._cursor
            self._cursor = match.end()
            return self._lines.line(match.start())
        self._budget -= len(text) - self._cursor
        for begin in dict.fromkeys((self._start, 0)):
            match = pattern.search(text, begin)
            self._budget -= (match.end() if match else len(text)) - begin
            if match is not None:
                self._budget -= match.start()  # what counting its line from the top may read
                return self._lines.line(match.start())
        return None


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


def last_extension(rel: str) -> str:
    """The lower-case file name from its last dot on (``.py``, ``.env`` for ``.env``, ``.local`` for
    ``.env.local``), "" without a dot: what :class:`NameFilter` matches."""
    name = rel[rel.rfind("/") + 1:].lower()
    at = name.rfind(".")
    return name[at:] if at >= 0 else ""


@dataclass(frozen=True)
class NameFilter:
    """What a detector's ``wants`` needs of a file's name, declared so the registry can skip asking: a file
    it wants has one of ``extensions`` (:func:`last_extension`) or a lower-case name starting with one of
    ``prefixes``. Asking thirty detectors about every file was a tenth of a discovery run; a test checks each
    filter against its detector's ``wants`` on thousands of names."""

    extensions: frozenset[str]
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, *extensions: str, prefixes: tuple[str, ...] = ()) -> NameFilter:
        return cls(frozenset(extensions), prefixes)

    @classmethod
    def named(cls, *names: str) -> NameFilter:
        """For a detector that wants exactly these file names."""
        return cls(frozenset(last_extension(name) for name in names))


# Dockerfiles (any "Dockerfile.*" or "Containerfile.*", "*.dockerfile"), compose files, Kubernetes manifests and
# Helm values: what the detectors of model servers and database images read.
DEPLOYMENT_FILES = NameFilter.of(".dockerfile", ".yaml", ".yml", prefixes=("dockerfile", "containerfile"))


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
    names: NameFilter | None = None  # what every file it wants is named like; None: ask about every file

    def wants(self, rel: str) -> bool:
        return self.wants_fn(rel)

    def detect(self, file: SourceFile) -> list[Observation]:
        return self.detect_fn(file)

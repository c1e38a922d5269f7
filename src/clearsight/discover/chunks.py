"""A worker's share of one root: read its files and run every detector on them (:func:`read_and_detect`).

Its own module, apart from :mod:`~clearsight.discover.run`, so that a worker importing it imports no report
models: the systems and the report (pydantic) are built by whoever groups the observations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearsight.collector import collector_paused
from clearsight.discover.interface import Observation, SourceFile
from clearsight.discover.walk import FileRef, Skipped, read_file

if TYPE_CHECKING:
    from clearsight.discover.registry import DetectorError

CHUNK_FILES = 256  # files per worker task: enough work to outweigh sending the task


@dataclass(frozen=True)
class ReadChunk:
    """A worker's share of one root: files to read and scan, numbered by their place in the walk."""

    first: int
    files: tuple[FileRef, ...]


@dataclass(frozen=True)
class ChunkResult:
    observations: tuple[Observation, ...]
    errors: tuple[DetectorError, ...]
    skipped: tuple[tuple[int, Skipped], ...]  # (place in the walk, record)
    read: tuple[tuple[str, bool], ...]  # (path, read as text) of every file read, in walk order


def read_and_detect(chunk: ReadChunk) -> ChunkResult:
    """Read a worker's files and run every detector on them, so texts never travel between processes."""
    skipped: list[tuple[int, Skipped]] = []
    read: list[tuple[str, bool]] = []

    def files() -> Iterator[SourceFile]:
        for place, ref in enumerate(chunk.files, start=chunk.first):
            sink: list[Skipped] = []
            for file in read_file(ref, sink):
                read.append((file.rel, file.text is not None))
                yield file
            # a binary file is the model-file sniffer's to judge; it is listed as skipped only where a detector
            # wanted its text (an app.py with a NUL byte, a UTF-16 requirements.txt), else every .so would be
            skipped.extend((place, record) for record in sink
                           if record.reason != "binary" or wanted_as_text(record.rel))

    # imported here: a parent with workers never runs a detector, and importing them all is a tenth of a second
    # of its serial part (the workers' fork server has them: clearsight.discover.worker)
    from clearsight.discover.registry import run_detectors, wanted_as_text

    errors: list[DetectorError] = []
    with collector_paused():  # syntax trees are big and acyclic: the collector's scans doubled parse time
        observations = run_detectors(files(), errors=errors)
    return ChunkResult(observations=tuple(observations), errors=tuple(errors), skipped=tuple(skipped),
                       read=tuple(read))

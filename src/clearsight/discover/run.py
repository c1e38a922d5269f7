"""``discover(paths)``: walk the trees, run every detector, group what they saw into systems.

Each path is its own root (a repository or a project folder); component and system locations are relative
to it. ``declared`` maps inventory system IDs to their folders, so units they cover are not shadow AI.

The work for one root (walk, detectors, grouping) is :func:`discover_root`, a top-level function whose
argument and result pickle, so an executor (serial, a process pool, a Dask cluster) can run roots anywhere;
results are merged in root order, so the report is the same whatever the executor. A single root is split
the other way: it is walked here and its files go to the executor in contiguous chunks for the detectors
(:func:`detect_chunk`), so one repository uses every worker too; observations come back in walk order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from clearsight.core.discovery import DiscoveredSystem, DiscoveryReport, SkippedFile
from clearsight.discover.grouping import group, merge
from clearsight.discover.interface import Observation, SourceFile
from clearsight.discover.registry import DetectorError, run_detectors
from clearsight.discover.walk import Skipped, TextsOnDisk, walk

if TYPE_CHECKING:
    from clearsight.executors import Executor


@dataclass(frozen=True)
class RootTask:
    """What one worker needs to search one root."""

    root: Path
    label: str
    multi: bool
    declared: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class RootResult:
    """What one root yields: small, picklable, already labelled with the root's name when several are searched."""

    systems: tuple[DiscoveredSystem, ...]
    observations: tuple[Observation, ...]
    skipped: tuple[SkippedFile, ...]
    files_read: int = field(default=0)


CHUNK_BYTES = 4 * 1024 * 1024  # of file text per detector task: enough work to outweigh sending it


@dataclass(frozen=True)
class ChunkResult:
    observations: tuple[Observation, ...]
    errors: tuple[DetectorError, ...]


def detect_chunk(files: Sequence[SourceFile]) -> ChunkResult:
    """Every detector on a run of files (a worker's share of one root)."""
    errors: list[DetectorError] = []
    observations = run_detectors(files, errors=errors)
    return ChunkResult(observations=tuple(observations), errors=tuple(errors))


def chunks(files: Sequence[SourceFile], limit: int) -> list[list[SourceFile]]:
    """Contiguous runs of files of about ``limit`` bytes of text (binary files count by their head)."""
    out: list[list[SourceFile]] = [[]]
    size = 0
    for file in files:
        if out[-1] and size >= limit:
            out.append([])
            size = 0
        out[-1].append(file)
        size += len(file.text) if file.text is not None else len(file.head)
    return out if out[0] else []


def discover_root(task: RootTask, detect_on: Executor | None = None) -> RootResult:
    """Walk one root, run every detector (on ``detect_on`` in chunks, if given) and group the observations.

    Run here, files stream past the detectors and only their paths are kept; the few files searched for
    paths into data folders are read again (:class:`TextsOnDisk`). Chunks for an executor hold their texts.
    """
    found: list[Skipped] = []
    errors: list[DetectorError] = []
    rels: list[str] = []
    text_rels: list[str] = []

    def walked() -> Iterator[SourceFile]:
        for file in walk([task.root], skipped=found):
            rels.append(file.rel)
            if file.text is not None:
                text_rels.append(file.rel)
            yield file

    observations: list[Observation] = []
    if detect_on is None:
        observations = run_detectors(walked(), errors=errors)
    else:
        for part in detect_on.map(detect_chunk, chunks(list(walked()), CHUNK_BYTES)):
            observations.extend(part.observations)
            errors.extend(part.errors)
    declared = {k: list(v) for k, v in task.declared} if not task.multi else None
    systems = group(observations, rels, root_name=task.root.resolve().name, declared=declared,
                    texts=TextsOnDisk(task.root, text_rels))
    if task.multi:
        systems = [s.model_copy(update={"id": f"{_slug(task.label)}-{s.id}"}) for s in systems]
    skipped = [SkippedFile(path=_join(task.label, s.rel), reason=s.reason) for s in found
               if s.reason not in ("excluded", "binary")]  # binaries were sniffed for models
    skipped.extend(SkippedFile(path=_join(task.label, e.rel), reason=f"detector {e.detector} failed: {e.error}")
                   for e in errors)
    return RootResult(
        systems=tuple(systems), observations=tuple(_relabel(o, task.label) for o in observations),
        skipped=tuple(skipped), files_read=len(rels),
    )


def discover(
    paths: Sequence[Path], *, declared: Mapping[str, Sequence[str]] | None = None,
    executor: Executor | None = None,
) -> DiscoveryReport:
    from clearsight.executors import SerialExecutor

    multi = len(paths) != 1
    frozen = tuple((k, tuple(v)) for k, v in (declared or {}).items())
    tasks = [RootTask(root=Path(p), label=_label(Path(p), len(paths)), multi=multi, declared=frozen) for p in paths]
    runner = executor or SerialExecutor()
    if len(tasks) == 1 and not isinstance(runner, SerialExecutor):
        results = [discover_root(tasks[0], runner)]
    else:
        results = runner.map(discover_root, tasks)
    systems: list[DiscoveredSystem] = []
    everything: list[Observation] = []
    skipped: list[SkippedFile] = []
    for result in results:  # root order, whatever order the workers finished in
        systems.extend(result.systems)
        everything.extend(result.observations)
        skipped.extend(result.skipped)
    return DiscoveryReport(
        roots=[str(p) for p in paths], systems=systems, components=merge(everything), skipped=skipped,
        files_read=sum(r.files_read for r in results),
    )


def _label(root: Path, count: int) -> str:
    return "" if count == 1 else root.resolve().name


def _join(label: str, rel: str) -> str:
    return f"{label}/{rel}" if label else rel


def _slug(text: str) -> str:
    from clearsight.core.ids import slugify

    return slugify(text)


def _relabel(observation: Observation, label: str) -> Observation:
    if not label:
        return observation
    return replace(observation, rel=f"{label}/{observation.rel}")

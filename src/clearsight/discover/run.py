"""``discover(paths)``: walk the trees, run every detector, group what they saw into systems.

Each path is its own root (a repository or a project folder); component and system locations are relative
to it. ``declared`` maps inventory system IDs to their folders, so units they cover are not shadow AI.

The work for one root (walk, detectors, grouping) is :func:`discover_root`, a top-level function whose
argument and result pickle, so a Dask cluster can run whole repositories on its workers; results are merged
in root order, so the report is the same whatever the executor. On a local process pool (and for a single
root on any executor) the roots are split the other way: they are walked here and their files go to the
executor in contiguous chunks for the detectors (:func:`~clearsight.discover.chunks.read_and_detect`), so
every worker stays busy to the end, and each root is grouped here; observations come back in walk order.

Once everything is handed out, this process imports what it needs afterwards (the report models, and what the
caller names as ``meanwhile``, such as its renderers) while the workers scan: imported first, they held back the
walk and the workers' first files; imported after, they were time nobody else could use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from clearsight.discover import chunks
from clearsight.discover.chunks import ChunkResult, ReadChunk, read_and_detect
from clearsight.discover.interface import Observation
from clearsight.discover.walk import FileRef, Skipped, TextsOnDisk, walk_paths
from clearsight.executors import LocalExecutor, SerialExecutor

if TYPE_CHECKING:
    from clearsight.core.discovery import DiscoveredSystem, DiscoveryReport, SkippedFile
    from clearsight.discover.registry import DetectorError
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


def discover_root(task: RootTask, detect_on: Executor | None = None,
                  meanwhile: Callable[[], object] | None = None) -> RootResult:
    """Walk one root, run every detector (on ``detect_on`` in chunks, if given) and group the observations.

    Only paths are kept: files are read and scanned one after the other (by the workers, with an executor),
    and the few files searched for paths into data folders are read again (:class:`TextsOnDisk`).
    """
    return _split_roots([task], detect_on, meanwhile)[0]


def _split_roots(tasks: Sequence[RootTask], detect_on: Executor | None,
                 meanwhile: Callable[[], object] | None) -> list[RootResult]:
    """Every root walked here, its files scanned in chunks on ``detect_on`` (one chunk per root without it),
    each root grouped here: the roots' chunks go out one after the other, so two workers stay busy to the
    end however unequal the roots (a root per task left one worker idle for up to 0.4 s of a 2 s run)."""
    scans = [_RootScan(task, split=detect_on is not None) for task in tasks]
    owners: list[_RootScan] = []

    def walked() -> Iterator[ReadChunk]:
        """Chunks as the walk fills them, so workers scan the first while the rest is walked."""
        for scan in scans:
            for chunk in scan.chunks():
                owners.append(scan)
                yield chunk
        _prepare(meanwhile)  # a pool asks for the next chunk as soon as it has sent the last

    runner = detect_on or SerialExecutor()
    for owner, part in zip(owners, runner.map(read_and_detect, walked()), strict=True):
        owner.take(part)
    return [scan.result() for scan in scans]


class _RootScan:
    """One root's walk, as chunks of files to scan, and what the scans of its chunks found."""

    def __init__(self, task: RootTask, *, split: bool) -> None:
        self.task = task
        self.split = split
        # The traversal's own records are placed before the file that followed them, and each file's record at
        # that file, so the merged list is in walk order however the files were split.
        self.placed: list[tuple[int, int, Skipped]] = []
        self.traversal: list[Skipped] = []
        self.errors: list[DetectorError] = []
        self.rels: list[str] = []
        self.text_rels: list[str] = []
        self.observations: list[Observation] = []

    def chunks(self) -> Iterator[ReadChunk]:
        refs: list[FileRef] = []
        first = walked_so_far = 0
        placed, traversal = self.placed, self.traversal
        for ref in walk_paths([self.task.root], skipped=traversal):
            placed.extend((walked_so_far, 0, record) for record in traversal[len(placed):])
            refs.append(ref)
            walked_so_far += 1
            if self.split and len(refs) == chunks.CHUNK_FILES:
                yield ReadChunk(first=first, files=tuple(refs))
                first, refs = walked_so_far, []
        placed.extend((walked_so_far, 0, record) for record in traversal[len(placed):])
        if refs:
            yield ReadChunk(first=first, files=tuple(refs))

    def take(self, part: ChunkResult) -> None:
        self.observations.extend(part.observations)
        self.errors.extend(part.errors)
        self.placed.extend((place, 1, record) for place, record in part.skipped)
        for rel, is_text in part.read:
            self.rels.append(rel)
            if is_text:
                self.text_rels.append(rel)

    def result(self) -> RootResult:
        from clearsight.core.discovery import SkippedFile
        from clearsight.discover.grouping import group

        task = self.task
        found = [record for _, _, record in sorted(self.placed, key=lambda item: (item[0], item[1]))]
        declared = {k: list(v) for k, v in task.declared} if not task.multi else None
        systems = group(self.observations, self.rels, root_name=task.root.resolve().name, declared=declared,
                        texts=TextsOnDisk(task.root, self.text_rels))
        if task.multi:
            systems = [_relabel_system(s, task.label) for s in systems]
        skipped = [SkippedFile(path=_join(task.label, s.rel), reason=s.reason) for s in found
                   if s.reason != "excluded"]  # binaries only where a detector wanted their text (read_and_detect)
        skipped.extend(SkippedFile(path=_join(task.label, e.rel), reason=f"detector {e.detector} failed: {e.error}")
                       for e in self.errors)
        return RootResult(
            systems=tuple(systems), observations=tuple(_relabel(o, task.label) for o in self.observations),
            skipped=tuple(skipped), files_read=len(self.rels),
        )


def discover(
    paths: Sequence[Path], *, declared: Mapping[str, Sequence[str]] | None = None,
    executor: Executor | None = None, meanwhile: Callable[[], object] | None = None,
) -> DiscoveryReport:
    """``meanwhile``: called once, when the executor has every task (see the module's docstring)."""
    multi = len(paths) != 1
    frozen = tuple((k, tuple(v)) for k, v in (declared or {}).items())
    labels = _labels([Path(p) for p in paths])
    # absolute: a Dask worker walks the root from its own working folder (a relative root came out unreadable)
    tasks = [RootTask(root=Path(os.path.abspath(p)), label=label, multi=multi, declared=frozen)
             for p, label in zip(paths, labels, strict=True)]
    runner = executor or SerialExecutor()
    if isinstance(runner, LocalExecutor) or (len(tasks) == 1 and not isinstance(runner, SerialExecutor)):
        results = _split_roots(tasks, runner, meanwhile)
    else:  # a root per task: a Dask cluster's workers walk and group the repositories they are given
        results = runner.map(discover_root, _ThenCall(tasks, lambda: _prepare(meanwhile)))
    from clearsight.core.discovery import DiscoveryReport
    from clearsight.discover.grouping import merge

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


def _prepare(meanwhile: Callable[[], object] | None) -> None:
    import clearsight.discover.grouping  # noqa: F401  (the report models)

    if meanwhile is not None:
        meanwhile()


class _ThenCall(Sequence[RootTask]):
    """The tasks, and a call as soon as the last one is taken (a pool takes them all before it waits)."""

    def __init__(self, tasks: Sequence[RootTask], then: Callable[[], object]) -> None:
        self._tasks = tasks
        self._then = then

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, index: int) -> RootTask:  # type: ignore[override]  # never sliced
        return self._tasks[index]

    def __iter__(self) -> Iterator[RootTask]:
        yield from self._tasks
        self._then()


def _labels(roots: Sequence[Path]) -> list[str]:
    """What each root's paths and system IDs start with when several are searched: its folder's name, with as
    many parent folders as it takes to tell roots of the same name apart (``a/proj``, ``b/proj``), and ``#2``
    and on for a root given twice. Two roots called ``proj`` gave two systems ``proj-proj`` whose locations
    could not be told apart, and one SARIF fingerprint (found by a review)."""
    if len(roots) == 1:
        return [""]
    resolved = [root.resolve() for root in roots]
    distinct = list(dict.fromkeys(resolved))
    parts = [path.parts[1:] or ("/",) for path in distinct]
    depth = [1] * len(distinct)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashing = {label for label in labels if labels.count(label) > 1}
        grow = [i for i, label in enumerate(labels) if label in clashing and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    label_of = dict(zip(distinct, labels, strict=True))
    seen: dict[Path, int] = {}
    unique: list[str] = []
    for path in resolved:
        seen[path] = seen.get(path, 0) + 1
        unique.append(label_of[path] if seen[path] == 1 else f"{label_of[path]}#{seen[path]}")
    return unique


def _relabel_system(system: DiscoveredSystem, label: str) -> DiscoveredSystem:
    """A system found under one of several roots, with its ID, folder and every path it holds under the root's
    label, as the report's top-level components have them."""
    components = [c.model_copy(update={"locations": [loc.model_copy(update={"path": _join(label, loc.path)})
                                                     for loc in c.locations]}) for c in system.components]
    reads = [use.model_copy(update={"folder": _join(label, use.folder), "location": use.location.model_copy(
        update={"path": _join(label, use.location.path)})}) for use in system.reads]
    root = label if system.root == "." else _join(label, system.root)
    return system.model_copy(update={"id": f"{_slug(label)}-{system.id}", "root": root, "components": components,
                                     "reads": reads})


def _join(label: str, rel: str) -> str:
    return f"{label}/{rel}" if label else rel


def _slug(text: str) -> str:
    from clearsight.core.ids import slugify

    return slugify(text)


def _relabel(observation: Observation, label: str) -> Observation:
    if not label:
        return observation
    return replace(observation, rel=f"{label}/{observation.rel}")

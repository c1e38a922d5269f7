"""``discover(paths)``: walk the trees, run every detector, group what they saw into systems.

Each path is its own root (a repository or a project folder); component and system locations are relative
to it. ``declared`` maps inventory system IDs to their folders, so units they cover are not shadow AI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from clearsight.core.discovery import DiscoveredSystem, DiscoveryReport, SkippedFile
from clearsight.discover.grouping import group, merge
from clearsight.discover.interface import Observation
from clearsight.discover.registry import DetectorError, run_detectors
from clearsight.discover.walk import Skipped, walk


def discover(paths: Sequence[Path], *, declared: Mapping[str, Sequence[str]] | None = None) -> DiscoveryReport:
    systems: list[DiscoveredSystem] = []
    everything: list[Observation] = []
    skipped: list[SkippedFile] = []
    files_read = 0
    for root in paths:
        found: list[Skipped] = []
        errors: list[DetectorError] = []
        files = list(walk([root], skipped=found))
        files_read += len(files)
        observations = run_detectors(files, errors=errors)
        label = _label(root, len(paths))
        everything.extend(_relabel(o, label) for o in observations)
        systems.extend(
            s if len(paths) == 1 else s.model_copy(update={"id": f"{_slug(label)}-{s.id}"})
            for s in group(observations, [f.rel for f in files], root_name=root.resolve().name,
                           declared=declared if len(paths) == 1 else None)
        )
        skipped.extend(SkippedFile(path=_join(label, s.rel), reason=s.reason) for s in found
                       if s.reason not in ("excluded", "binary"))  # binaries were sniffed for models
        skipped.extend(SkippedFile(path=_join(label, e.rel), reason=f"detector {e.detector} failed: {e.error}")
                       for e in errors)
    return DiscoveryReport(
        roots=[str(p) for p in paths], systems=systems, components=merge(everything), skipped=skipped,
        files_read=files_read,
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
    from dataclasses import replace

    return replace(observation, rel=f"{label}/{observation.rel}")

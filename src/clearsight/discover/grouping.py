"""From observations to components to systems: one system per deployable unit that uses AI.

A deployable unit is the nearest folder holding a project marker (a manifest, a Dockerfile); files outside
any such folder belong to their top-level folder. Declared systems claim the units under their folders, the
deepest declaration winning. The inventory's own folder (".") claims only the files directly in it, so that a
system declared with ``root: .`` does not silently absorb every undeclared project below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from clearsight.core.discovery import DiscoveredComponent, DiscoveredSystem
from clearsight.core.ids import slugify
from clearsight.core.system import SourceLocation
from clearsight.discover.interface import Confidence, Observation

UNIT_MARKERS = frozenset({
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "environment.yml", "environment.yaml", "package.json",
    "Dockerfile", "requirements.txt", "go.mod", "pom.xml",
})
_REQUIREMENTS = re.compile(r"^requirements[\w.-]*\.(txt|in)$")
AI_KINDS = frozenset({"provider", "sdk", "model", "model_file", "agent_framework", "serving", "vector_store",
                      "mcp_server", "dataset"})
_CONFIDENCE = {"low": 0, "medium": 1, "high": 2}


def is_marker(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return name in UNIT_MARKERS or bool(_REQUIREMENTS.match(name))


def unit_roots(rels: Iterable[str]) -> set[str]:
    """Folders holding a project marker ("." for the scanned root itself)."""
    return {str(PurePosixPath(rel).parent) for rel in rels if is_marker(rel)}


def unit_of(rel: str, units: set[str]) -> str:
    """The deepest unit folder containing ``rel``; otherwise its top-level folder (or "." for root files)."""
    parent = PurePosixPath(rel).parent
    for folder in (parent, *parent.parents):
        if str(folder) in units and str(folder) != ".":
            return str(folder)
    parts = PurePosixPath(rel).parts
    return parts[0] if len(parts) > 1 else "."


@dataclass
class _Merged:
    first: Observation
    locations: list[SourceLocation] = field(default_factory=list)
    seen: set[tuple[str, int | None]] = field(default_factory=set)
    detectors: set[str] = field(default_factory=set)
    confidence: str = "low"
    version: str | None = None


def merge(observations: Iterable[Observation]) -> list[DiscoveredComponent]:
    """One component per (kind, name), with every place it was seen."""
    merged: dict[tuple[str, str], _Merged] = {}
    for ob in observations:
        entry = merged.get((ob.kind, ob.name))
        if entry is None:
            entry = merged[(ob.kind, ob.name)] = _Merged(first=ob, confidence=ob.confidence)
        if (ob.rel, ob.line) not in entry.seen:  # a set: comparing pydantic models one by one was quadratic
            entry.seen.add((ob.rel, ob.line))
            entry.locations.append(SourceLocation(path=ob.rel, line=ob.line))
        entry.detectors.add(ob.detector)
        if _CONFIDENCE[ob.confidence] > _CONFIDENCE[entry.confidence]:
            entry.confidence = ob.confidence
        if entry.version is None and ob.version:
            entry.version = ob.version
    return [
        DiscoveredComponent(
            kind=entry.first.kind, name=entry.first.name, version=entry.version,
            locations=sorted(entry.locations, key=lambda x: (x.path, x.line or 0)),
            evidence=entry.first.evidence, confidence=_as_confidence(entry.confidence),
            detectors=sorted(entry.detectors),
        )
        for _key, entry in sorted(merged.items())
    ]


def _as_confidence(value: str) -> Confidence:
    return "high" if value == "high" else ("medium" if value == "medium" else "low")


def claim(unit: str, declared: Mapping[str, Sequence[str]]) -> str | None:
    """The declared system whose folder holds ``unit`` most specifically ("." holds only itself)."""
    best: tuple[int, str] | None = None
    for system_id, folders in declared.items():
        for folder in folders:
            normal = str(PurePosixPath(folder)) if folder not in ("", ".") else "."
            if normal == ".":
                hit = unit == "."
                depth = 0
            else:
                hit = unit == normal or unit.startswith(normal + "/")
                depth = normal.count("/") + 1
            if hit and (best is None or depth > best[0]):
                best = (depth, system_id)
    return best[1] if best else None


def group(
    observations: Sequence[Observation], rels: Iterable[str], *, root_name: str,
    declared: Mapping[str, Sequence[str]] | None = None,
) -> list[DiscoveredSystem]:
    """Systems for the units that use AI; non-AI findings (data stores, personal data, key names) ride along."""
    units = unit_roots(rels)
    by_unit: dict[str, list[Observation]] = {}
    for ob in observations:
        by_unit.setdefault(unit_of(ob.rel, units), []).append(ob)
    systems: list[DiscoveredSystem] = []
    owned: dict[str, list[str]] = {}
    for unit, found in sorted(by_unit.items()):
        owner = claim(unit, declared or {})
        if owner is not None:  # a declared system is one system, however many folders it spans
            owned.setdefault(owner, []).append(unit)
            continue
        components = merge(found)
        if not any(c.kind in AI_KINDS for c in components):
            continue
        name = root_name if unit == "." else PurePosixPath(unit).name
        systems.append(DiscoveredSystem(
            id=slugify(name if unit == "." else unit), name=name, root=unit, declared=False, components=components,
        ))
    for owner, folders in sorted(owned.items()):
        components = merge(ob for folder in folders for ob in by_unit[folder])
        systems.append(DiscoveredSystem(
            id=owner, name=owner, root=folders[0], declared=True, declared_as=owner, components=components,
        ))
    return sorted(systems, key=lambda s: (s.declared, s.root))

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

from clearsight.core.base import SourceLocation
from clearsight.core.discovery import DataUse, DiscoveredComponent, DiscoveredSystem
from clearsight.core.ids import slugify
from clearsight.discover.interface import Confidence, Observation
from clearsight.discover.links import find_reads, is_reader
from clearsight.discover.relpaths import base_name

UNIT_MARKERS = frozenset({
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "environment.yml", "environment.yaml", "package.json",
    "Dockerfile", "requirements.txt", "go.mod", "pom.xml",
})
_REQUIREMENTS = re.compile(r"^requirements[\w.-]*\.(txt|in)$")
AI_KINDS = frozenset({"provider", "sdk", "model", "model_file", "agent_framework", "serving", "vector_store",
                      "mcp_server", "dataset"})
# What a folder without AI lends to the systems that use its data.
DATA_KINDS = frozenset({"personal_data", "data_store"})
_CONFIDENCE = {"low": 0, "medium": 1, "high": 2}


def is_marker(rel: str) -> bool:
    name = base_name(rel) if _clean(rel) else PurePosixPath(rel).name
    return name in UNIT_MARKERS or bool(_REQUIREMENTS.match(name))


def unit_roots(rels: Iterable[str]) -> set[str]:
    """Folders holding a project marker ("." for the scanned root itself)."""
    return {str(PurePosixPath(rel).parent) for rel in rels if is_marker(rel)}


def _clean(rel: str) -> bool:
    """A walker's relative path (no empty or "." parts, not absolute), where string operations agree with
    ``PurePosixPath``; every file of a tree is placed in its unit, so a path object each was slow."""
    return (bool(rel) and rel[0] != "/" and rel[-1] != "/" and "//" not in rel and "./" not in rel
            and rel != "." and not rel.endswith("/."))


def unit_of(rel: str, units: set[str]) -> str:
    """The deepest unit folder containing ``rel``; otherwise its top-level folder (or "." for root files)."""
    if _clean(rel):
        at = rel.rfind("/")
        while at > 0:
            if rel[:at] in units:
                return rel[:at]
            at = rel.rfind("/", 0, at)
        first = rel.find("/")
        return rel[:first] if first > 0 else "."
    return _unit_by_path(rel, units)


def _unit_by_path(rel: str, units: set[str]) -> str:
    """:func:`unit_of` with path objects, for paths a walker does not make (the string form is checked against it)."""
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
    declared: Mapping[str, Sequence[str]] | None = None, texts: Mapping[str, str] | None = None,
) -> list[DiscoveredSystem]:
    """Systems for the units that use AI; non-AI findings (data stores, personal data, key names) ride along.

    With ``texts`` (file path -> text), a folder without AI whose files hold personal data or data stores
    lends them to every system whose files write a path into it (see :mod:`clearsight.discover.links`).
    """
    files = list(rels)
    units = unit_roots(files)
    by_unit: dict[str, list[Observation]] = {}
    for ob in observations:
        by_unit.setdefault(unit_of(ob.rel, units), []).append(ob)
    owners = {unit: claim(unit, declared or {}) for unit in by_unit}
    # a low-confidence finding (a generic unpickling of unknown data) is listed, but is no evidence of AI on its own
    ai_units = {unit for unit, found in by_unit.items()
                if any(ob.kind in AI_KINDS and ob.confidence != "low" for ob in found)}
    data_units = {unit for unit, found in by_unit.items()
                  if unit not in ai_units and any(ob.kind in DATA_KINDS for ob in found)}
    readers = ai_units | {unit for unit, owner in owners.items() if owner is not None}
    reads: dict[str, list[DataUse]] = {}
    if texts and data_units:
        file_units = {rel: unit_of(rel, units) for rel in texts if is_reader(rel)}  # only readers are searched
        reads = find_reads(texts, file_units, readers, data_units)

    def lent(folders: Sequence[str]) -> tuple[list[DataUse], list[Observation]]:
        uses = sorted({use.folder: use for folder in folders for use in reads.get(folder, [])
                       if use.folder not in folders}.values(), key=lambda use: use.folder)
        return uses, [ob for use in uses for ob in by_unit[use.folder] if ob.kind in DATA_KINDS]

    systems: list[DiscoveredSystem] = []
    owned: dict[str, list[str]] = {}
    for unit, found in sorted(by_unit.items()):
        owner = owners[unit]
        if owner is not None:  # a declared system is one system, however many folders it spans
            owned.setdefault(owner, []).append(unit)
            continue
        if unit not in ai_units:
            continue
        uses, borrowed = lent([unit])
        name = root_name if unit == "." else PurePosixPath(unit).name
        systems.append(DiscoveredSystem(
            id=slugify(name if unit == "." else unit), name=name, root=unit, declared=False,
            components=merge([*found, *borrowed]), reads=uses,
        ))
    for owner, folders in sorted(owned.items()):
        uses, borrowed = lent(folders)
        components = merge([*(ob for folder in folders for ob in by_unit[folder]), *borrowed])
        systems.append(DiscoveredSystem(
            id=owner, name=owner, root=folders[0], declared=True, declared_as=owner, components=components,
            reads=uses,
        ))
    return sorted(systems, key=lambda s: (s.declared, s.root))

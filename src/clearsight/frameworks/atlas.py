"""MITRE ATLAS: tactics, techniques, mitigations and case studies as facts (IDs, names, links).

The built-in copy is generated from MITRE's official ``ATLAS.yaml`` by :func:`parse_official_atlas`, the same
code ``clearsight atlas update`` runs on a newer file, so the shipped data and a user's update never drift in
shape. Descriptions are not shipped; every item links to its page on atlas.mitre.org.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import ConfigDict, Field

from clearsight.core.base import Frozen
from clearsight.core.errors import CatalogueError
from clearsight.frameworks.catalogue import CatalogueMeta

ATLAS_ID = re.compile(r"^AML\.(T|TA|M|CS)\d{4}(\.\d{3})?$")
ATLAS_SITE = "https://atlas.mitre.org"


class AtlasTactic(Frozen):
    id: str
    name: str
    attack_id: str | None = None


class AtlasTechnique(Frozen):
    id: str
    name: str
    tactics: list[str]
    parent: str | None = None
    maturity: str | None = None


class AtlasMitigation(Frozen):
    id: str
    name: str
    techniques: list[str]
    lifecycle: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class CaseStudyStep(Frozen):
    tactic: str
    technique: str


class AtlasCaseStudy(Frozen):
    id: str
    name: str
    kind: str | None = None
    incident_date: str | None = None
    steps: list[CaseStudyStep] = Field(default_factory=list)


class AtlasCatalogue(Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    meta: CatalogueMeta
    tactics: list[AtlasTactic]
    techniques: list[AtlasTechnique]
    mitigations: list[AtlasMitigation]
    case_studies: list[AtlasCaseStudy]

    @cached_property
    def technique_index(self) -> dict[str, AtlasTechnique]:
        return {t.id: t for t in self.techniques}

    @cached_property
    def tactic_index(self) -> dict[str, AtlasTactic]:
        return {t.id: t for t in self.tactics}

    @cached_property
    def mitigation_index(self) -> dict[str, AtlasMitigation]:
        return {m.id: m for m in self.mitigations}

    @cached_property
    def case_studies_by_technique(self) -> dict[str, list[AtlasCaseStudy]]:
        """Case studies whose procedure uses a technique (or one of its sub-techniques)."""
        out: dict[str, list[AtlasCaseStudy]] = {}
        for cs in self.case_studies:
            seen: set[str] = set()
            for step in cs.steps:
                for tid in {step.technique, step.technique.split(".", 2)[0] + "." + step.technique.split(".")[1]}:
                    if tid not in seen:
                        seen.add(tid)
                        out.setdefault(tid, []).append(cs)
        return out

    def ids(self) -> set[str]:
        return (
            {t.id for t in self.tactics} | {t.id for t in self.techniques}
            | {m.id for m in self.mitigations} | {c.id for c in self.case_studies}
        )

    def name_of(self, atlas_id: str) -> str:
        for index in (self.technique_index, self.tactic_index, self.mitigation_index):
            if atlas_id in index:
                return index[atlas_id].name
        for cs in self.case_studies:
            if cs.id == atlas_id:
                return cs.name
        raise KeyError(atlas_id)


def atlas_url(atlas_id: str) -> str:
    """Public page of an ATLAS object; the kind is read from the ID's prefix."""
    kind = atlas_id.split(".")[1]
    folder = {"TA": "tactics", "M": "mitigations", "CS": "studies"}.get(kind.rstrip("0123456789"), "techniques")
    return f"{ATLAS_SITE}/{folder}/{atlas_id}"


# --------------------------------------------------------------------------- official file


def parse_official_atlas(data: Any, *, source: str) -> tuple[AtlasCatalogue, list[str]]:
    """Validate MITRE's ``ATLAS.yaml`` structure and convert it to our catalogue, repairing known defects.

    Returns the catalogue and the list of repairs made, so the caller can show them. Raises
    :class:`CatalogueError` with a one-line reason when the file is not an ATLAS distribution file.
    """
    if not isinstance(data, Mapping):
        raise CatalogueError("not an ATLAS file: the top level is not a mapping")
    version = _require(data, "version", "top level")
    matrices = _require(data, "matrices", "top level")
    if not isinstance(matrices, list) or not matrices or not isinstance(matrices[0], Mapping):
        raise CatalogueError("not an ATLAS file: 'matrices' is not a non-empty list of matrices")
    matrix = matrices[0]
    repairs: list[str] = []

    tactics = [
        AtlasTactic(
            id=_atlas_id(t, "tactic"), name=_text(t, "name"),
            attack_id=(t.get("ATT&CK-reference") or {}).get("id") if isinstance(t, Mapping) else None,
        )
        for t in _list(matrix, "tactics")
    ]
    tactic_ids = {t.id for t in tactics}

    raw_techniques = _list(matrix, "techniques")
    parents = {
        _atlas_id(t, "technique"): list(t.get("tactics") or [])
        for t in raw_techniques if isinstance(t, Mapping) and "subtechnique-of" not in t
    }
    techniques: list[AtlasTechnique] = []
    for raw in raw_techniques:
        tid = _atlas_id(raw, "technique")
        parent = raw.get("subtechnique-of")
        tactic_list = [str(x) for x in raw.get("tactics") or []]
        if parent is not None:
            if parent not in parents:
                raise CatalogueError(f"technique {tid}: parent {parent} does not exist")
            if not tactic_list:
                tactic_list = list(parents[parent])
                repairs.append(f"{tid}: inherited tactics {', '.join(tactic_list)} from {parent}")
        unknown = [x for x in tactic_list if x not in tactic_ids]
        if unknown:
            raise CatalogueError(f"technique {tid}: unknown tactics {unknown}")
        techniques.append(AtlasTechnique(
            id=tid, name=_text(raw, "name"), tactics=tactic_list, parent=parent,
            maturity=raw.get("maturity"),
        ))
    technique_ids = {t.id for t in techniques}

    mitigations: list[AtlasMitigation] = []
    for raw in _list(matrix, "mitigations"):
        mid = _atlas_id(raw, "mitigation")
        linked: list[str] = []
        for link in raw.get("techniques") or []:
            linked.append(str(link["id"] if isinstance(link, Mapping) else link))
        lifecycle: list[str] = []
        for item in raw.get("ml-lifecycle") or []:
            if isinstance(item, Mapping) and "id" in item:
                linked.append(str(item["id"]))
                repairs.append(f"{mid}: moved technique link {item['id']} out of its ml-lifecycle list")
            else:
                lifecycle.append(str(item))
        dangling = [x for x in linked if x not in technique_ids]
        if dangling:
            raise CatalogueError(f"mitigation {mid}: links to unknown techniques {dangling}")
        mitigations.append(AtlasMitigation(
            id=mid, name=_text(raw, "name"), techniques=list(dict.fromkeys(linked)),
            lifecycle=lifecycle, categories=[str(c) for c in raw.get("category") or []],
        ))

    case_studies: list[AtlasCaseStudy] = []
    for raw in data.get("case-studies") or []:
        cid = _atlas_id(raw, "case study")
        steps = [
            CaseStudyStep(tactic=str(s.get("tactic")), technique=str(s.get("technique")))
            for s in raw.get("procedure") or [] if isinstance(s, Mapping) and s.get("technique")
        ]
        unknown_steps = [s.technique for s in steps if s.technique not in technique_ids]
        if unknown_steps:
            repairs.append(f"{cid}: dropped procedure steps with unknown techniques {unknown_steps}")
            steps = [s for s in steps if s.technique in technique_ids]
        date = raw.get("incident-date")
        case_studies.append(AtlasCaseStudy(
            id=cid, name=_text(raw, "name"), kind=raw.get("case-study-type"),
            incident_date=date.isoformat() if isinstance(date, dt.date) else (str(date) if date else None),
            steps=steps,
        ))

    seen: set[str] = set()
    for item_id in [*(t.id for t in tactics), *(t.id for t in techniques), *(m.id for m in mitigations),
                    *(c.id for c in case_studies)]:
        if item_id in seen:
            raise CatalogueError(f"ID {item_id} appears more than once")
        seen.add(item_id)
    modified = _latest_date(matrix)
    meta = CatalogueMeta(
        id="mitre-atlas", title="MITRE ATLAS", version=str(version), effective_date=modified,
        source=source, licence="Apache-2.0 (MITRE ATLAS data); IDs, names and links only",
    )
    catalogue = AtlasCatalogue(
        meta=meta, tactics=tactics, techniques=techniques, mitigations=mitigations,
        case_studies=case_studies,
    )
    return catalogue, repairs


def _latest_date(matrix: Mapping[str, Any]) -> dt.date | None:
    dates = [
        item.get("modified_date")
        for key in ("tactics", "techniques", "mitigations")
        for item in matrix.get(key) or [] if isinstance(item, Mapping)
    ]
    real = [d for d in dates if isinstance(d, dt.date)]
    return max(real) if real else None


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise CatalogueError(f"not an ATLAS file: '{key}' missing at {where}")
    return data[key]


def _list(matrix: Mapping[str, Any], key: str) -> list[Any]:
    value = _require(matrix, key, "matrix")
    if not isinstance(value, list):
        raise CatalogueError(f"not an ATLAS file: matrix '{key}' is not a list")
    return value


def _atlas_id(raw: Any, what: str) -> str:
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise CatalogueError(f"a {what} entry has no 'id'")
    value = str(raw["id"])
    if not ATLAS_ID.match(value):
        raise CatalogueError(f"{what} ID '{value}' is not an ATLAS ID")
    return value


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{raw.get('id', '?')}: '{key}' is missing or empty")
    return value.strip()

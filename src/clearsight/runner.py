"""The main job with its I/O: read the inventory, collect evidence, run the pure pipeline.

Kept apart from ``assess/`` so the four steps stay free of files, clocks and environment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from clearsight.assess.pipeline import assess
from clearsight.collector import collector_paused
from clearsight.core.assessment import Assessment, AssessmentSettings
from clearsight.core.errors import InputError
from clearsight.core.evidence import Evidence
from clearsight.evidence.collectors import collect_evidence
from clearsight.evidence.discovery import discover_systems
from clearsight.frameworks.bundle import Catalogues, load_catalogues
from clearsight.inventory.loader import load_inventory


def assess_path(
    path: Path | str,
    *,
    home: Path | None = None,
    as_of: dt.date | None = None,
    calendar: str | None = None,
    now: dt.datetime | None = None,
    catalogues: Catalogues | None = None,
    discover: bool = True,
) -> Assessment:
    """Assess the AI systems declared under ``path`` (a folder with ``clearsight.yaml``, or the file), plus
    the undeclared ones discovery finds in the code there (unless ``discover`` is False)."""
    with collector_paused():
        return _assess_path(Path(path), home=home, as_of=as_of, calendar=calendar, now=now, catalogues=catalogues,
                            discover=discover)


def _assess_path(
    path: Path, *, home: Path | None, as_of: dt.date | None, calendar: str | None, now: dt.datetime | None,
    catalogues: Catalogues | None, discover: bool,
) -> Assessment:
    cats = catalogues or load_catalogues(home)
    loaded = load_inventory(
        path,
        known_purposes=cats.eu_ai_act.use_case_ids(),
        known_controls=set(cats.controls.by_id()),
    )
    org = loaded.inventory.organisation
    chosen = calendar or org.eu_ai_act_calendar or cats.eu_ai_act.default_calendar
    if chosen not in {c.id for c in cats.eu_ai_act.calendars}:
        raise InputError(
            f"unknown EU AI Act calendar '{chosen}'", path=str(loaded.path),
            hint="known: " + ", ".join(c.id for c in cats.eu_ai_act.calendars),
        )
    moment = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    settings = AssessmentSettings(
        as_of=as_of or org.as_of or moment.date(),
        eu_ai_act_calendar=chosen,
        capacity_days=list(loaded.inventory.planning.capacity_days),
    )
    systems = list(loaded.systems)
    evidence: list[Evidence] = []
    if discover:
        shadow, found = discover_systems(loaded.path.parent, systems)
        systems += shadow
        evidence += found
    evidence = collect_evidence(loaded.path.parent, systems) + evidence
    return assess(
        organisation=org.name, inventory_path=str(loaded.path), systems=systems, evidence=evidence,
        catalogues=cats, settings=settings, generated_at=moment,
    )

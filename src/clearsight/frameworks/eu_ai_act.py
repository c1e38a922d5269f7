"""EU AI Act (Regulation (EU) 2024/1689) as versioned data: practices, annexes, duties and calendars.

Dates are never hard-coded in the classifier: obligations carry a ``date_key`` that a calendar resolves, and
the catalogue holds the Regulation as published and the 2026 amendment side by side.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Literal

from pydantic import Field, model_validator

from clearsight.core.base import Frozen
from clearsight.core.risk import LegalRoute
from clearsight.core.system import Incentive
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data

Actor = Literal["provider", "deployer", "both"]
AppliesTo = Literal[
    "all", "high-risk-provider", "high-risk-deployer", "gpai", "gpai-systemic", "annex-iii-fria",
    "annex-iii-derogated",
]


class Calendar(Frozen):
    """One set of application dates; an amendment lists only the dates it changes."""

    id: str
    label: str
    status: str
    amends: str | None = None
    dates: dict[str, dt.date | None]


class Practice(Frozen):
    """An Art. 5 prohibited practice."""

    id: str
    article: str
    title: str
    summary: str
    exception: str | None = None
    date_key: str = "prohibitions"


class AnnexIPoint(Frozen):
    id: str
    act: str
    ref: str


class AnnexIIIPoint(Frozen):
    id: str = Field(pattern=r"^III-\d[a-e]$")
    ref: str = Field(description="How the law cites it, e.g. 'Annex III 5(b)'.")
    summary: str


class AnnexIIIArea(Frozen):
    id: str = Field(pattern=r"^III-\d$")
    area: str
    points: list[AnnexIIIPoint]


class DerogationCondition(Frozen):
    id: str
    summary: str


class Derogation(Frozen):
    article: str
    summary: str
    conditions: list[DerogationCondition]
    profiling_override: str


class TransparencyDuty(Frozen):
    id: str
    article: str
    actor: Actor
    trigger: str
    duty: str
    date_key: str = "transparency"


class ObligationDef(Frozen):
    """A duty with the class of systems it attaches to and the calendar key of its start date."""

    id: str
    article: str
    title: str
    summary: str
    applies_to: AppliesTo
    routes: list[LegalRoute] | None = Field(None, description="Only for systems classified by these routes.")
    date_key: str


class UseCase(Frozen):
    """A purpose from our vocabulary, mapped to where the law puts it.

    ``annex_iii`` names the point a use falls under; ``carve_out`` explains an exception in the Annex text
    itself (the fraud-detection carve-out of Annex III 5(b)); ``prohibited`` names an Art. 5 practice.
    """

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    label: str
    annex_iii: str | None = None
    related_point: str | None = None
    carve_out: str | None = None
    prohibited: str | None = None
    transparency: list[str] = Field(default_factory=list)
    profiling: bool = Field(
        False, description="The use profiles natural persons by its nature (Art. 6(3), last subparagraph)."
    )
    adversarial_incentive: Incentive = "low"
    note: str | None = None

    @model_validator(mode="after")
    def _carve_out_needs_point(self) -> UseCase:
        if self.carve_out and not self.related_point:
            raise ValueError(f"use case {self.id}: a carve_out must name the related_point it is carved from")
        return self


class GpaiRules(Frozen):
    systemic_threshold_flops: float
    article_classification: str


class EuAiAct(Frozen):
    meta: CatalogueMeta
    default_calendar: str
    calendars: list[Calendar]
    prohibited_practices: list[Practice]
    annex_i_section_a: list[AnnexIPoint]
    annex_i_section_b: list[AnnexIPoint]
    annex_iii: list[AnnexIIIArea]
    derogation: Derogation
    transparency_duties: list[TransparencyDuty]
    gpai: GpaiRules
    obligations: list[ObligationDef]
    use_cases: list[UseCase]

    def calendar_dates(self, calendar_id: str) -> dict[str, dt.date | None]:
        """Resolve a calendar's dates, applying an amendment on top of what it amends."""
        by_id = {c.id: c for c in self.calendars}
        if calendar_id not in by_id:
            raise KeyError(calendar_id)
        cal = by_id[calendar_id]
        base = self.calendar_dates(cal.amends) if cal.amends else {}
        return {**base, **cal.dates}

    def annex_iii_point(self, point_id: str) -> AnnexIIIPoint:
        for area in self.annex_iii:
            for point in area.points:
                if point.id == point_id:
                    return point
        raise KeyError(point_id)

    def use_case(self, use_case_id: str) -> UseCase:
        return self._use_cases()[use_case_id]

    def use_case_ids(self) -> set[str]:
        return set(self._use_cases())

    def _use_cases(self) -> dict[str, UseCase]:
        return {u.id: u for u in self.use_cases}

    def obligation_ids(self) -> set[str]:
        ids = {o.id for o in self.obligations} | {t.id for t in self.transparency_duties}
        return ids | {p.id for p in self.prohibited_practices}


@cache
def load_eu_ai_act() -> EuAiAct:
    return EuAiAct.model_validate(read_package_data("eu_ai_act.yaml"))

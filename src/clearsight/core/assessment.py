"""The Assessment: one versioned document that every report, the store and ``diff`` read.

Nothing downstream re-derives a rating; if a report shows it, it is in here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.evidence import Evidence
from clearsight.core.gap import Gap
from clearsight.core.plan import Plan
from clearsight.core.risk import RiskProfile
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem
from clearsight.core.threat import Scenario, ThreatMatch

SCHEMA_VERSION: Literal["1.0"] = "1.0"


class CatalogueVersion(Frozen):
    """Which edition of a framework the assessment used; every report prints these."""

    id: str
    title: str
    version: str
    effective_date: dt.date | None = None
    source: str


class SystemAssessment(Frozen):
    system: AISystem
    risk: RiskProfile
    threats: list[ThreatMatch] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(default_factory=list)
    gaps: list[Gap] = Field(default_factory=list)


class PortfolioEntry(Frozen):
    """One row of the portfolio ranking, most dangerous first."""

    rank: int
    system: str
    name: str
    internal_tier: Severity
    legal_tier: str
    score: int = Field(description="Internal impact x likelihood (1-25).")
    open_gaps: int
    declared: bool


class Summary(Frozen):
    systems: int
    discovery_run: bool = Field(
        False, description="Discovery looked at the code, so shadow_systems is a measurement, not a blank."
    )
    shadow_systems: int
    high_risk_legal: int
    internal_tiers: dict[str, int]
    open_gaps: dict[str, int] = Field(description="Open gaps by severity.")
    controls_in_place: int
    controls_required: int


class AssessmentSettings(Frozen):
    """The knobs that changed the result, recorded so the run can be reproduced."""

    as_of: dt.date
    eu_ai_act_calendar: str
    capacity_days: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        description="Team capacity in person-days for phases 1, 2 and 3."
    )


class Assessment(Frozen):
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    generated_at: dt.datetime
    organisation: str
    inventory: str = Field(description="Path of the inventory file the run read.")
    settings: AssessmentSettings
    catalogues: list[CatalogueVersion]
    systems: list[SystemAssessment]
    portfolio: list[PortfolioEntry]
    plan: Plan
    evidence: list[Evidence] = Field(default_factory=list)
    summary: Summary

"""The schema of ``clearsight.yaml``: what an organisation declares about its AI systems."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.system import SystemDeclaration


class PlanningSettings(Frozen):
    """How much the team can do; the plan never books more than this into a phase."""

    capacity_days: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [60.0, 60.0, 60.0],
        min_length=3,
        max_length=3,
        description="Person-days available in phases 1, 2 and 3 (two months each).",
    )


class Organisation(Frozen):
    name: str
    sector: str | None = None
    eu_ai_act_calendar: str | None = Field(
        None, description="Which EU AI Act calendar to apply; default: the catalogue's current one."
    )
    as_of: dt.date | None = Field(None, description="Date the assessment is made for; default: today.")


class Inventory(Frozen):
    """Top level of ``clearsight.yaml``."""

    version: Literal[1] = 1
    organisation: Organisation
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    systems: list[SystemDeclaration] = Field(default_factory=list)

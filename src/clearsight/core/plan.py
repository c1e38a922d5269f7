"""Step 4's result: actions in the article's three phases, with effort, capacity and dependencies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.severity import Severity

PhaseNumber = Literal[1, 2, 3]


class Action(Frozen):
    """Put one control in place across every system that lacks it."""

    id: str
    control: str
    title: str
    severity: Severity
    phase: PhaseNumber | None = Field(description="1-3, or None when it waits in the backlog.")
    systems: list[str]
    gaps: list[str]
    effort_days: float
    effort_drivers: str
    depends_on: list[str] = Field(default_factory=list, description="Action IDs that must come first.")
    key: bool = Field(False, description="One of phase 1's key controls.")
    start_week: int | None = None
    end_week: int | None = None
    note: str | None = None


class Phase(Frozen):
    number: PhaseNumber
    name: str
    months: str
    capacity_days: float
    planned_days: float
    actions: list[str]


class Plan(Frozen):
    phases: list[Phase]
    actions: list[Action]
    backlog: list[str] = Field(default_factory=list)
    key_controls: list[str] = Field(default_factory=list)
    total_effort_days: float

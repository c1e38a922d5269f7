"""Step 2's result: ATLAS techniques that apply to a system and the attack scenarios built from them."""

from __future__ import annotations

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.severity import Level, Severity


class ThreatMatch(Frozen):
    """An ATLAS technique that applies to one system, and why."""

    id: str
    system: str
    technique: str
    name: str
    tactics: list[str] = Field(default_factory=list)
    likelihood: Level
    impact: Level
    severity: Severity
    reasons: list[str] = Field(default_factory=list)


class ScenarioStep(Frozen):
    tactic: str
    technique: str
    name: str


class CaseStudyRef(Frozen):
    id: str
    name: str


class Scenario(Frozen):
    """A concrete attack: a chain of ATLAS tactics ending in the attacker's goal."""

    id: str
    system: str
    template: str
    title: str
    narrative: str
    goal: str = Field(description="The technique that achieves the attacker's objective.")
    steps: list[ScenarioStep]
    likelihood: Level
    impact: Level
    severity: Severity
    case_studies: list[CaseStudyRef] = Field(default_factory=list)

"""Our threat model as data: which ATLAS techniques apply to which system traits, and the attack
scenarios (tactic chains) they assemble into.

Ratings start from a base and move with named adjustments, so every likelihood and impact in a report can
say why it is what it is.
"""

from __future__ import annotations

from functools import cache

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.conditions import Condition
from clearsight.core.severity import Level
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class Adjustment(Frozen):
    when: Condition
    delta: int = Field(ge=-3, le=3)
    why: str


class Rating(Frozen):
    base: Level
    adjust: list[Adjustment] = Field(default_factory=list)


class ThreatRule(Frozen):
    """An ATLAS technique applies to a system when ``when`` holds."""

    id: str
    technique: str
    when: Condition
    why: str
    likelihood: Rating
    impact: Rating


class TemplateStep(Frozen):
    tactic: str
    technique: str
    when: Condition | None = Field(None, description="Include the step only for systems where this holds.")


class ScenarioTemplate(Frozen):
    """A tactic chain that becomes a scenario for every system its goal technique applies to."""

    id: str
    title: str
    narrative: str = Field(description="May use {system} for the system's name.")
    goal: str
    when: Condition | None = Field(None, description="Extra condition beyond the goal technique applying.")
    steps: list[TemplateStep] = Field(min_length=2)


class ThreatModel(Frozen):
    meta: CatalogueMeta
    rules: list[ThreatRule]
    scenarios: list[ScenarioTemplate]


@cache
def load_threat_model() -> ThreatModel:
    return ThreatModel.model_validate(read_package_data("threat_model.yaml"))

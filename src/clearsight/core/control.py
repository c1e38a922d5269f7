"""A security control from the catalogue, with its crosswalks, effort and how its evidence is detected."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.conditions import Condition
from clearsight.core.evidence import FactValue
from clearsight.core.severity import Severity

ControlDomain = Literal[
    "governance", "data", "model", "supply-chain", "deployment", "llm", "monitoring", "incident-response"
]
CONTROL_ID_PATTERN = r"^CS-[A-Z]{2,4}-\d{2}$"


class FrameworkRefs(Frozen):
    """Where the control sits in each framework; IDs are checked against the catalogues in tests."""

    atlas_mitigations: list[str] = Field(default_factory=list)
    atlas_techniques: list[str] = Field(default_factory=list)
    nist_ai_rmf: list[str] = Field(default_factory=list)
    iso_42001: list[str] = Field(default_factory=list)
    eu_ai_act: list[str] = Field(default_factory=list)
    owasp: list[str] = Field(default_factory=list)


class EvidenceRule(Frozen):
    """Evidence of this ``kind`` whose facts match ``where`` shows the control in place.

    A list-valued fact matches when it contains the wanted value; everything else matches on equality.
    """

    kind: str
    where: dict[str, FactValue] = Field(default_factory=dict)
    status: Literal["implemented", "partial"] = "implemented"
    description: str


class Effort(Frozen):
    """Person-days to put the control in place: once, plus for every further system it covers."""

    base_days: float = Field(gt=0)
    per_system_days: float = Field(ge=0)
    drivers: str


class Control(Frozen):
    """One AI-security control: what it achieves, where it maps, what it costs and how we see it."""

    SUPPORTING_DOMAINS: ClassVar[frozenset[str]] = frozenset({"governance", "incident-response"})

    id: str = Field(pattern=CONTROL_ID_PATTERN)
    title: str
    objective: str
    domain: ControlDomain
    crisp_phase: str = Field(description="CRISP-ML(Q) phase ID, P1..P6.")
    refs: FrameworkRefs = Field(default_factory=FrameworkRefs)
    effort: Effort
    detection: str = Field(description="How Clearsight observes whether the control is in place.")
    evidence: list[EvidenceRule] = Field(default_factory=list)
    implemented_by: str | None = Field(
        None, description="Clearsight command that implements it today; None means 'not yet'."
    )
    planned_command: str | None = Field(
        None, description="The command that will implement it once its issue lands (honest 'not yet')."
    )
    depends_on: list[str] = Field(default_factory=list)
    primary_techniques: list[str] | None = Field(
        None,
        description=(
            "Techniques this control is a first line of defence against; the planner gives full credit only "
            "for these. None: all of refs.atlas_techniques (none for governance and incident response)."
        ),
    )
    applies_when: Condition | None = Field(None, description="Systems the control is relevant to at all.")
    baseline: Severity | None = Field(
        None, description="Required for every applicable system whose internal tier is at least this."
    )

    def primary(self) -> frozenset[str]:
        """Techniques the control is a first line of defence against (see ``primary_techniques``)."""
        if self.primary_techniques is not None:
            return frozenset(self.primary_techniques)
        if self.domain in self.SUPPORTING_DOMAINS:
            return frozenset()
        return frozenset(self.refs.atlas_techniques)

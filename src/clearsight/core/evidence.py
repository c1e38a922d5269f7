"""Evidence: the only thing besides attestations that decides whether a control is in place.

Anything that looks at the world (an attestation, a discovered component, a scanner finding, a guard's
configuration) produces :class:`Evidence`. Controls name the evidence that satisfies them, so adding a new
detector never touches the assessment steps.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen, SourceLocation
from clearsight.core.severity import Severity

FactValue = str | int | float | bool | list[str]
ClaimStatus = Literal["implemented", "partial", "missing", "not-applicable"]


class Finding(Frozen):
    """A problem a detector saw, e.g. a pickle that imports ``os.system``."""

    rule: str
    severity: Severity
    message: str
    location: SourceLocation | None = None
    detail: str | None = None


class Evidence(Frozen):
    """One observed fact about one system (or the whole organisation when ``system`` is None)."""

    id: str
    kind: str = Field(description="Dotted kind such as `attestation`, `scan.model`, `guard.config`.")
    source: str = Field(description="Detector or person that produced it.")
    system: str | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict)
    claims: dict[str, ClaimStatus] = Field(
        default_factory=dict, description="Control ID -> status this evidence directly claims."
    )
    findings: list[Finding] = Field(default_factory=list)
    location: SourceLocation | None = None
    summary: str = ""

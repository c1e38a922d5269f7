"""Step 3's result: every control a system needs, with its status; the open ones are the gaps.

Passing controls are kept too, because "what is already in place" is half of what a board asks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.severity import Severity

ControlStatus = Literal["implemented", "partial", "missing", "not-applicable"]
OPEN_STATUSES: frozenset[str] = frozenset({"missing", "partial"})


class Gap(Frozen):
    """A required control's status for one system; ``missing`` and ``partial`` are open gaps."""

    id: str
    system: str
    control: str
    title: str
    status: ControlStatus
    severity: Severity = Field(description="Risk of leaving it as it is (residual risk when in place).")
    required_by: list[str] = Field(default_factory=list, description="Why it is required, in words.")
    threats: list[str] = Field(default_factory=list, description="ATLAS techniques it counters here.")
    obligations: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="IDs of evidence that set the status.")
    status_reason: str

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

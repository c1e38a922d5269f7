"""Ordered severities and the 5x5 likelihood-impact matrix every rating in Clearsight uses.

One scale for internal risk tiers, scenario risks and gap risks, so that a plan can sort them together.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

Level = Annotated[int, Field(ge=1, le=5)]
"""A rating on the 1 (very low) .. 5 (very high) scale used for likelihood and impact."""


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.value.capitalize()


_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


def clamp_level(value: float) -> int:
    """Round a computed rating onto the 1..5 scale."""
    return max(1, min(5, round(value)))


def severity_from_matrix(likelihood: int, impact: int) -> Severity:
    """Map a likelihood x impact cell to a severity.

    The bands follow the common 5x5 heat map: 20+ critical, 12+ high, 6+ medium, below that low; a 5 in
    impact never rates below medium because a rare catastrophe still needs an owner.
    """
    score = likelihood * impact
    if score >= 20:
        return Severity.CRITICAL
    if score >= 12:
        return Severity.HIGH
    if score >= 6 or impact == 5:
        return Severity.MEDIUM
    return Severity.LOW

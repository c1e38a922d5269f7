"""``--fail-on SEVERITY|never``: one choice and one rule for every command that gates CI on a severity."""

from __future__ import annotations

from enum import StrEnum

from clearsight.core.severity import Severity


class SeverityGate(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"
    never = "never"

    def fails(self, worst: Severity | None) -> bool:
        """Whether the worst finding reaches this gate (exit 1); ``never`` always passes."""
        return self is not SeverityGate.never and worst is not None and worst >= Severity(self.value)

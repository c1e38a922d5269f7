"""Step 1's result: the legal classification and the internal risk tier, kept apart on purpose.

A fraud model can be outside the EU AI Act's high-risk list and still be the riskiest system a bank runs;
mixing the two answers hides one of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.severity import Level, Severity
from clearsight.core.system import GpaiStatus

LegalTier = Literal["prohibited", "high-risk", "limited", "minimal", "out-of-scope"]
LegalRoute = Literal["art5", "annex-i", "annex-iii", "none"]


class Obligation(Frozen):
    """A duty that follows from the legal class, with the date it applies under the chosen calendar."""

    id: str
    article: str
    title: str
    applies_from: dt.date | None = None
    actor: str = "provider"


class LegalClassification(Frozen):
    tier: LegalTier
    route: LegalRoute = "none"
    basis: list[str] = Field(default_factory=list, description="Legal references that decided the tier.")
    annex_points: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list, description="Carve-outs and derogations applied.")
    transparency_duties: list[str] = Field(default_factory=list)
    gpai: GpaiStatus = "none"
    obligations: list[Obligation] = Field(default_factory=list)
    rationale: list[str] = Field(default_factory=list)
    calendar: str


class RiskFactor(Frozen):
    """One NIST-AI-RMF-style factor behind the internal rating, with the reason in words."""

    name: str
    axis: Literal["impact", "likelihood"]
    level: Level
    reason: str


class InternalRisk(Frozen):
    tier: Severity
    impact: Level
    likelihood: Level
    factors: list[RiskFactor] = Field(default_factory=list)
    rationale: str


class RiskProfile(Frozen):
    system: str
    legal: LegalClassification
    internal: InternalRisk

"""What every section of the HTML report reads: the assessment plus the look-ups built once for all of them.

The systems are put in portfolio-rank order here, once, so that every per-system section lists them in the
same order as the ranking table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from clearsight.core.assessment import Assessment, SystemAssessment
from clearsight.core.control import Control
from clearsight.core.evidence import Evidence
from clearsight.frameworks.atlas import AtlasCatalogue

ControlIndex = Mapping[str, Control]


@dataclass(frozen=True)
class ReportContext:
    assessment: Assessment
    atlas: AtlasCatalogue
    controls: ControlIndex | None
    controls_problem: str | None
    ordered: list[SystemAssessment]
    names: dict[str, str]
    evidence: dict[str, Evidence]

    @property
    def as_of(self) -> dt.date:
        return self.assessment.settings.as_of

    def tactic_name(self, tactic: str) -> str:
        known = self.atlas.tactic_index.get(tactic)
        return known.name if known else tactic

    def technique_name(self, technique: str, fallback: str = "") -> str:
        known = self.atlas.technique_index.get(technique)
        return known.name if known else (fallback or technique)


def build_context(
    assessment: Assessment,
    *,
    atlas: AtlasCatalogue,
    controls: ControlIndex | None,
    controls_problem: str | None,
) -> ReportContext:
    """The context for one report; systems missing from the portfolio sort last, by name."""
    ranks = {p.system: p.rank for p in assessment.portfolio}
    ordered = sorted(
        assessment.systems,
        key=lambda sa: (ranks.get(sa.system.id, len(ranks) + 1), sa.system.name.lower(), sa.system.id),
    )
    return ReportContext(
        assessment=assessment, atlas=atlas, controls=controls, controls_problem=controls_problem,
        ordered=ordered, names={sa.system.id: sa.system.name for sa in assessment.systems},
        evidence={ev.id: ev for ev in assessment.evidence},
    )

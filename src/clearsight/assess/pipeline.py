"""The four steps chained: inventory and evidence in, one Assessment out. No I/O happens here.

    classify -> threats -> gaps -> plan

The step objects are compiled once per run (conditions into closures, control-to-technique links into an
index), so a portfolio of ten thousand systems costs little more per system than one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from clearsight import __version__
from clearsight.assess.classify import Classifier, resolve_traits
from clearsight.assess.gaps import EvidenceIndex, GapAnalyser
from clearsight.assess.plan import build_plan
from clearsight.assess.threats import ThreatModeller
from clearsight.core.assessment import (
    Assessment,
    AssessmentSettings,
    PortfolioEntry,
    Summary,
    SystemAssessment,
)
from clearsight.core.evidence import Evidence
from clearsight.core.gap import OPEN_STATUSES
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem
from clearsight.frameworks.bundle import Catalogues


def assess(
    *,
    organisation: str,
    inventory_path: str,
    systems: Sequence[AISystem],
    evidence: Sequence[Evidence],
    catalogues: Catalogues,
    settings: AssessmentSettings,
    generated_at: dt.datetime,
) -> Assessment:
    """Run the four steps over a portfolio and return the complete Assessment."""
    classifier = Classifier(catalogues.eu_ai_act, settings.eu_ai_act_calendar)
    modeller = ThreatModeller(catalogues.threat_model, catalogues.atlas)
    analyser = GapAnalyser(catalogues.controls, catalogues.atlas)
    index = EvidenceIndex.build(evidence)
    results: list[SystemAssessment] = []
    for system in systems:
        traits = resolve_traits(system.traits, catalogues.eu_ai_act)
        risk = classifier.classify(system, traits)
        threats = modeller.threats_for(system, traits)
        scenarios = modeller.scenarios_for(system, traits, threats)
        gaps = analyser.gaps_for(system, traits, risk, threats, index.for_system(system.id), settings.as_of)
        results.append(SystemAssessment(system=system, risk=risk, threats=threats, scenarios=scenarios, gaps=gaps))

    all_gaps = [g for r in results for g in r.gaps]
    severities = {(t.system, t.technique): t.severity for r in results for t in r.threats}
    plan = build_plan(all_gaps, catalogues.controls.by_id(), settings.capacity_days, severities)
    return Assessment(
        tool_version=__version__, generated_at=generated_at, organisation=organisation,
        inventory=inventory_path, settings=settings, catalogues=catalogues.versions(), systems=results,
        portfolio=rank_portfolio(results), plan=plan, evidence=list(evidence),
        summary=summarise(results, discovery_run=any(e.kind.startswith("discovery.") for e in evidence)),
    )


_LEGAL_ORDER = {"prohibited": 0, "high-risk": 1, "limited": 2, "minimal": 3, "out-of-scope": 4}


def rank_portfolio(results: Sequence[SystemAssessment]) -> list[PortfolioEntry]:
    """Most dangerous first: internal tier, then impact x likelihood, then legal class, then open gaps."""
    open_gaps = {r.system.id: sum(1 for g in r.gaps if g.status in OPEN_STATUSES) for r in results}

    def key(r: SystemAssessment) -> tuple[int, int, int, int, str]:
        internal = r.risk.internal
        return (
            -internal.tier.rank, -internal.impact * internal.likelihood, _LEGAL_ORDER[r.risk.legal.tier],
            -open_gaps[r.system.id], r.system.id,
        )

    ranked = sorted(results, key=key)
    return [
        PortfolioEntry(
            rank=i, system=r.system.id, name=r.system.name, internal_tier=r.risk.internal.tier,
            legal_tier=r.risk.legal.tier, score=r.risk.internal.impact * r.risk.internal.likelihood,
            open_gaps=open_gaps[r.system.id], declared=r.system.declared,
        )
        for i, r in enumerate(ranked, start=1)
    ]


def summarise(results: Sequence[SystemAssessment], *, discovery_run: bool = False) -> Summary:
    tiers = Counter(r.risk.internal.tier.value for r in results)
    statuses: Counter[str] = Counter()
    open_gaps: Counter[str] = Counter()
    for r in results:
        for g in r.gaps:
            statuses[g.status] += 1
            if g.status in OPEN_STATUSES:
                open_gaps[g.severity.value] += 1
    return Summary(
        systems=len(results),
        discovery_run=discovery_run,
        shadow_systems=sum(1 for r in results if not r.system.declared),
        high_risk_legal=sum(1 for r in results if r.risk.legal.tier == "high-risk"),
        internal_tiers={s.value: tiers.get(s.value, 0) for s in reversed(Severity)},
        open_gaps={s.value: open_gaps.get(s.value, 0) for s in reversed(Severity)},
        controls_in_place=statuses["implemented"],
        controls_required=sum(statuses.values()) - statuses["not-applicable"],
    )

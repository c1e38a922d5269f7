"""Assessments built in code from the real core models, for report tests.

The factory computes the summary, portfolio and plan from the systems it makes, the way the pipeline
would, so that a test can compare what a report shows with what the assessment holds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from clearsight.core.assessment import (
    Assessment,
    AssessmentSettings,
    CatalogueVersion,
    PortfolioEntry,
    Summary,
    SystemAssessment,
)
from clearsight.core.control import Control, Effort, FrameworkRefs
from clearsight.core.evidence import Evidence
from clearsight.core.gap import Gap
from clearsight.core.plan import Action, Phase, Plan
from clearsight.core.risk import (
    InternalRisk,
    LegalClassification,
    LegalTier,
    Obligation,
    RiskFactor,
    RiskProfile,
)
from clearsight.core.severity import Severity, severity_from_matrix
from clearsight.core.system import AISystem, SystemTraits
from clearsight.core.threat import CaseStudyRef, Scenario, ScenarioStep, ThreatMatch

AS_OF = dt.date(2026, 5, 4)

# id, title, domain, CRISP-ML(Q) phase, NIST AI RMF refs
CONTROL_SPECS: list[tuple[str, str, str, str, list[str]]] = [
    ("CS-GOV-01", "AI system inventory and ownership", "governance", "P1", ["GOVERN 1.6"]),
    ("CS-GOV-02", "Risk classification register", "governance", "P1", ["MAP 1.1", "GOVERN 1.3"]),
    ("CS-DAT-01", "Training data provenance and validation", "data", "P2", ["MEASURE 2.7", "MAP 4.1"]),
    ("CS-SUP-01", "Model artefact scanning", "supply-chain", "P3", ["MANAGE 3.1"]),
    ("CS-MOD-01", "Adversarial robustness testing", "model", "P4", ["MEASURE 2.7"]),
    ("CS-DEP-01", "Inference API rate limits and extraction detection", "deployment", "P5", ["MANAGE 2.4"]),
    ("CS-LLM-01", "Prompt-injection guard", "llm", "P5", ["MEASURE 2.7", "MANAGE 2.4"]),
    ("CS-MON-01", "Drift and unusual-query monitoring", "monitoring", "P6", ["MEASURE 3.1"]),
]
TITLES = {c[0]: c[1] for c in CONTROL_SPECS}
CLASSICAL_CONTROLS = [
    "CS-GOV-01",
    "CS-GOV-02",
    "CS-DAT-01",
    "CS-SUP-01",
    "CS-MOD-01",
    "CS-DEP-01",
    "CS-MON-01",
]
LLM_CONTROLS = ["CS-GOV-01", "CS-GOV-02", "CS-SUP-01", "CS-LLM-01", "CS-DEP-01", "CS-MON-01"]

CATALOGUES = [
    CatalogueVersion(
        id="mitre-atlas",
        title="MITRE ATLAS",
        version="5.6.0",
        effective_date=dt.date(2026, 4, 30),
        source="https://github.com/mitre-atlas/atlas-data",
    ),
    CatalogueVersion(
        id="eu-ai-act",
        title="EU AI Act",
        version="Regulation (EU) 2024/1689",
        effective_date=dt.date(2024, 8, 1),
        source="OJ L, 2024/1689, 12.7.2024",
    ),
    CatalogueVersion(
        id="nist-ai-rmf",
        title="NIST AI RMF",
        version="1.0",
        effective_date=dt.date(2023, 1, 26),
        source="NIST AI 100-1",
    ),
    CatalogueVersion(id="crisp-ml-q", title="CRISP-ML(Q)", version="2021", source="Studer et al. 2021"),
    CatalogueVersion(
        id="clearsight-controls",
        title="Clearsight control catalogue",
        version="0.1.0",
        source="clearsight/frameworks/data/controls.yaml",
    ),
]

TIER_CYCLE: list[LegalTier] = ["high-risk", "limited", "minimal", "high-risk", "out-of-scope"]
STATUS_CYCLE = ["missing", "implemented", "partial", "missing", "implemented", "not-applicable", "missing"]


def make_controls() -> dict[str, Control]:
    """A small control catalogue for coverage charts (stands in for frameworks/data/controls.yaml)."""
    return {
        cid: Control(
            id=cid,
            title=title,
            objective=f"{title}.",
            domain=domain,
            crisp_phase=phase,
            refs=FrameworkRefs(nist_ai_rmf=nist),
            effort=Effort(base_days=3, per_system_days=0.5, drivers="x"),
            detection="attestation",
        )
        for cid, title, domain, phase, nist in CONTROL_SPECS
    }


def _threats(system_id: str, llm: bool, likelihood: int, impact: int) -> list[ThreatMatch]:
    if llm:
        picks = [
            ("AML.T0051", "LLM Prompt Injection", ["AML.TA0005"]),
            ("AML.T0057", "LLM Data Leakage", ["AML.TA0010"]),
            ("AML.T0053", "AI Agent Tool Invocation", ["AML.TA0005", "AML.TA0012"]),
        ]
    else:
        picks = [
            ("AML.T0040", "AI Model Inference API Access", ["AML.TA0000"]),
            ("AML.T0043", "Craft Adversarial Data", ["AML.TA0001"]),
            ("AML.T0020", "Poison Training Data", ["AML.TA0003", "AML.TA0006"]),
            ("AML.T0024", "Exfiltration via AI Inference API", ["AML.TA0010"]),
        ]
    out = []
    for offset, (technique, name, tactics) in enumerate(picks):
        lk = max(1, min(5, likelihood - offset % 2))
        out.append(
            ThreatMatch(
                id=f"THR:{system_id}:{technique}",
                system=system_id,
                technique=technique,
                name=name,
                tactics=tactics,
                likelihood=lk,
                impact=impact,
                severity=severity_from_matrix(lk, impact),
                reasons=[f"exposure makes {name.lower()} reachable"],
            )
        )
    return out


def _scenarios(system_id: str, llm: bool, likelihood: int, impact: int) -> list[Scenario]:
    if llm:
        return [
            Scenario(
                id=f"SCN:{system_id}:prompt-injection-exfil",
                system=system_id,
                template="prompt-injection-exfil",
                title="Indirect prompt injection leaks customer data",
                narrative=(
                    "A poisoned document in the RAG store instructs the assistant to call a tool that "
                    "sends conversation history to the attacker."
                ),
                goal="AML.T0057",
                steps=[
                    ScenarioStep(tactic="AML.TA0005", technique="AML.T0051", name="LLM Prompt Injection"),
                    ScenarioStep(tactic="AML.TA0012", technique="AML.T0053", name="AI Agent Tool Invocation"),
                    ScenarioStep(tactic="AML.TA0010", technique="AML.T0057", name="LLM Data Leakage"),
                ],
                likelihood=likelihood,
                impact=impact,
                severity=severity_from_matrix(likelihood, impact),
                case_studies=[
                    CaseStudyRef(
                        id="AML.CS0020", name="Indirect Prompt Injection Threats: Bing Chat Data Pirate"
                    ),
                    CaseStudyRef(id="AML.CS0021", name="ChatGPT Conversation Exfiltration"),
                ],
            )
        ]
    return [
        Scenario(
            id=f"SCN:{system_id}:model-extraction",
            system=system_id,
            template="model-extraction",
            title="Model extraction through the scoring API",
            narrative="A partner account queries the scoring API at scale and trains a copy of the model.",
            goal="AML.T0024",
            steps=[
                ScenarioStep(
                    tactic="AML.TA0000", technique="AML.T0040", name="AI Model Inference API Access"
                ),
                ScenarioStep(
                    tactic="AML.TA0010", technique="AML.T0024", name="Exfiltration via AI Inference API"
                ),
            ],
            likelihood=likelihood,
            impact=impact,
            severity=severity_from_matrix(likelihood, impact),
            case_studies=[
                CaseStudyRef(id="AML.CS0056", name="Model Distillation Campaigns Targeting Anthropic Claude")
            ],
        )
    ]


def _legal(tier: LegalTier) -> LegalClassification:
    obligations = [
        Obligation(
            id="art4",
            article="Art. 4",
            title="AI literacy",
            applies_from=dt.date(2025, 2, 2),
            actor="deployer",
        )
    ]
    basis = ["Art. 6(3)"] if tier == "minimal" else []
    route = "none"
    annex: list[str] = []
    if tier == "high-risk":
        route, annex, basis = "annex-iii", ["Annex III 5(b)"], ["Art. 6(2)", "Annex III point 5(b)"]
        obligations += [
            Obligation(
                id="art9", article="Art. 9", title="Risk management system", applies_from=dt.date(2026, 8, 2)
            ),
            Obligation(
                id="art10",
                article="Art. 10",
                title="Data and data governance",
                applies_from=dt.date(2026, 8, 2),
            ),
            Obligation(
                id="art15",
                article="Art. 15",
                title="Accuracy, robustness and cybersecurity",
                applies_from=dt.date(2026, 8, 2),
            ),
        ]
    if tier == "limited":
        basis = ["Art. 50(1)"]
        obligations.append(
            Obligation(
                id="art50",
                article="Art. 50(1)",
                title="Tell people they talk to an AI",
                applies_from=dt.date(2026, 8, 2),
            )
        )
    if tier == "prohibited":
        route, basis = "art5", ["Art. 5(1)(f)"]
    return LegalClassification(
        tier=tier,
        route=route,
        basis=basis,
        annex_points=annex,
        exceptions=["Art. 6(3)(a) narrow procedural task"] if tier == "minimal" else [],
        transparency_duties=["Art. 50(1)"] if tier == "limited" else [],
        obligations=obligations,
        rationale=[f"classified {tier} from the declared purposes"],
        calendar="original",
    )


def make_system(
    index: int,
    *,
    name: str | None = None,
    likelihood: int | None = None,
    impact: int | None = None,
    tier: LegalTier | None = None,
    declared: bool | None = None,
    llm: bool | None = None,
) -> SystemAssessment:
    sid = f"sys-{index:04d}"
    likelihood = likelihood if likelihood is not None else 1 + (index * 3 + 1) % 5
    impact = impact if impact is not None else 1 + (index * 2 + 3) % 5
    llm = llm if llm is not None else index % 2 == 1
    declared = declared if declared is not None else index % 4 != 3
    tier = tier if tier is not None else TIER_CYCLE[index % len(TIER_CYCLE)]
    system = AISystem(
        id=sid,
        name=name or f"System {index}",
        owner=f"team-{index % 3}",
        declared=declared,
        traits=SystemTraits(model_kind="llm" if llm else "classical-ml", exposure="public"),
    )
    internal_tier = severity_from_matrix(likelihood, impact)
    risk = RiskProfile(
        system=sid,
        legal=_legal(tier),
        internal=InternalRisk(
            tier=internal_tier,
            impact=impact,
            likelihood=likelihood,
            rationale="impact x likelihood",
            factors=[RiskFactor(name="exposure", axis="likelihood", level=likelihood, reason="public API")],
        ),
    )
    gaps = []
    for offset, control in enumerate(LLM_CONTROLS if llm else CLASSICAL_CONTROLS):
        status = STATUS_CYCLE[(index + offset) % len(STATUS_CYCLE)]
        severity = severity_from_matrix(max(1, likelihood - offset % 3), impact)
        gaps.append(
            Gap(
                id=f"GAP:{sid}:{control}",
                system=sid,
                control=control,
                title=TITLES[control],
                status=status,
                severity=severity,
                required_by=[f"internal tier {internal_tier.value}"],
                threats=["AML.T0051"] if llm else ["AML.T0040"],
                evidence=[f"EV:{sid}:{control}"] if status == "implemented" else [],
                status_reason="attested by the owner" if status == "implemented" else "no evidence found",
            )
        )
    return SystemAssessment(
        system=system,
        risk=risk,
        threats=_threats(sid, llm, likelihood, impact),
        scenarios=_scenarios(sid, llm, likelihood, impact),
        gaps=gaps,
    )


def _plan(systems: list[SystemAssessment], capacity: list[float]) -> Plan:
    by_control: dict[str, list[Gap]] = {}
    for sa in systems:
        for gap in sa.gaps:
            if gap.is_open:
                by_control.setdefault(gap.control, []).append(gap)
    phase_of = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3}
    actions: list[Action] = []
    used = [0.0, 0.0, 0.0]
    for control, gaps in sorted(by_control.items()):
        severity = sorted(g.severity for g in gaps)[len(gaps) // 2]
        effort = 3 + 0.5 * len(gaps)
        phase = phase_of.get(severity)
        if phase is not None and used[phase - 1] + effort > capacity[phase - 1]:
            phase = None
        if phase is not None:
            used[phase - 1] += effort
        title = TITLES[control]
        actions.append(
            Action(
                id=f"ACT:{control}",
                control=control,
                title=title,
                severity=severity,
                phase=phase,
                systems=sorted({g.system for g in gaps}),
                gaps=[g.id for g in gaps],
                effort_days=effort,
                effort_drivers=f"3 pd once + 0.5 pd x {len(gaps)} systems",
                depends_on=["ACT:CS-GOV-01"] if control == "CS-GOV-02" and "CS-GOV-01" in by_control else [],
                key=phase == 1 and control.startswith("CS-GOV"),
            )
        )
    names = {1: ("Critical", "months 1-2"), 2: ("High", "months 3-4"), 3: ("Medium", "months 5-6")}
    phases = [
        Phase(
            number=n,
            name=names[n][0],
            months=names[n][1],
            capacity_days=capacity[n - 1],
            planned_days=used[n - 1],
            actions=[a.id for a in actions if a.phase == n],
        )
        for n in (1, 2, 3)
    ]
    return Plan(
        phases=phases,
        actions=actions,
        backlog=[a.id for a in actions if a.phase is None],
        key_controls=[a.control for a in actions if a.key],
        total_effort_days=sum(a.effort_days for a in actions),
    )


def make_assessment(
    systems: int | list[SystemAssessment] = 5,
    *,
    organisation: str = "Acme Bank AG",
    capacity: list[float] | None = None,
) -> Assessment:
    items = systems if isinstance(systems, list) else [make_system(i) for i in range(systems)]
    capacity = capacity or [40.0, 40.0, 30.0]
    ranked = sorted(
        items, key=lambda sa: (-sa.risk.internal.likelihood * sa.risk.internal.impact, sa.system.id)
    )
    portfolio = [
        PortfolioEntry(
            rank=rank,
            system=sa.system.id,
            name=sa.system.name,
            internal_tier=sa.risk.internal.tier,
            legal_tier=sa.risk.legal.tier,
            score=sa.risk.internal.likelihood * sa.risk.internal.impact,
            open_gaps=sum(1 for g in sa.gaps if g.is_open),
            declared=sa.system.declared,
        )
        for rank, sa in enumerate(ranked, start=1)
    ]
    all_gaps = [g for sa in items for g in sa.gaps]
    summary = Summary(
        systems=len(items),
        discovery_run=True,  # the factory's portfolios include discovered (shadow) systems
        shadow_systems=sum(1 for sa in items if not sa.system.declared),
        high_risk_legal=sum(1 for sa in items if sa.risk.legal.tier == "high-risk"),
        internal_tiers=dict(Counter(sa.risk.internal.tier.value for sa in items)),
        open_gaps=dict(Counter(g.severity.value for g in all_gaps if g.is_open)),
        controls_in_place=sum(1 for g in all_gaps if g.status == "implemented"),
        controls_required=sum(1 for g in all_gaps if g.status != "not-applicable"),
    )
    evidence = [
        Evidence(
            id=eid,
            kind="attestation",
            source="clearsight.yaml",
            system=g.system,
            claims={g.control: "implemented"},
            summary="Owner attests the control is in place",
        )
        for g in all_gaps
        for eid in g.evidence
    ]
    return Assessment(
        tool_version="0.1.0",
        generated_at=dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC),
        organisation=organisation,
        inventory="clearsight.yaml",
        settings=AssessmentSettings(as_of=AS_OF, eu_ai_act_calendar="original", capacity_days=capacity),
        catalogues=list(CATALOGUES),
        systems=items,
        portfolio=portfolio,
        plan=_plan(items, capacity),
        evidence=evidence,
        summary=summary,
    )

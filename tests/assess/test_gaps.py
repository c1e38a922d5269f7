from __future__ import annotations

import datetime as dt

from clearsight.assess.classify import classify_system, resolve_traits
from clearsight.assess.gaps import GapAnalyser, addressed_techniques
from clearsight.assess.threats import ThreatModeller
from clearsight.core.control import Control, Effort, EvidenceRule, FrameworkRefs
from clearsight.core.evidence import Evidence
from clearsight.core.gap import Gap
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem, SystemTraits
from clearsight.frameworks.atlas_store import load_builtin_atlas
from clearsight.frameworks.controls import ControlCatalogue, load_controls
from clearsight.frameworks.eu_ai_act import load_eu_ai_act
from clearsight.frameworks.threat_model import load_threat_model

ATLAS = load_builtin_atlas()
EU = load_eu_ai_act()
AS_OF = dt.date(2026, 11, 26)


def run(traits: dict[str, object], evidence: list[Evidence] | None = None,
        controls: ControlCatalogue | None = None) -> dict[str, Gap]:
    system = AISystem(id="s", name="S", traits=SystemTraits.model_validate(traits))
    resolved = resolve_traits(system.traits, EU)
    risk = classify_system(system, resolved, EU, "digital-omnibus-2026")
    threats = ThreatModeller(load_threat_model(), ATLAS).threats_for(system, resolved)
    analyser = GapAnalyser(controls or load_controls(), ATLAS)
    return {g.control: g for g in analyser.gaps_for(system, resolved, risk, threats, evidence or [], AS_OF)}


SCORING_API = {"inference_api": True, "exposure": "partner", "outputs": "score", "purposes": ["fraud-detection"],
               "business_criticality": "critical"}


def test_threat_driven_gap_names_what_it_counters() -> None:
    gaps = run(SCORING_API)
    rate = gaps["CS-API-02"]
    assert rate.status == "missing"
    assert "AML.T0024.002" in rate.threats
    assert rate.severity >= Severity.HIGH
    assert rate.required_by[0].startswith("counters ")


def test_legal_obligation_drives_gap_with_date() -> None:
    gaps = run({"purposes": ["credit-scoring"]})
    docs = gaps["CS-GOV-06"]
    assert "ART11" in docs.obligations
    assert any("Art. 11" in r and "2027-12-02" in r for r in docs.required_by)


def test_controls_outside_their_scope_are_not_required() -> None:
    gaps = run(SCORING_API)
    assert not any(c.startswith("CS-LLM-") for c in gaps)


def test_attestation_sets_status_and_lowers_severity() -> None:
    claim = Evidence(id="EV:1", kind="attestation", source="test", system="s", claims={"CS-API-02": "partial"})
    gaps = run(SCORING_API, [claim])
    assert gaps["CS-API-02"].status == "partial"
    assert gaps["CS-API-02"].evidence == ["EV:1"]
    done = Evidence(id="EV:2", kind="attestation", source="test", system=None, claims={"CS-API-02": "implemented"})
    gaps = run(SCORING_API, [done])
    assert gaps["CS-API-02"].status == "implemented"
    assert gaps["CS-API-02"].severity is Severity.LOW
    # A system-specific claim wins over an organisation-wide one.
    gaps = run(SCORING_API, [done, claim])
    assert gaps["CS-API-02"].status == "partial"


def test_detected_evidence_closes_a_control_through_its_rule() -> None:
    control = Control(
        id="CS-API-99", title="Rate limits", objective="test", domain="deployment", crisp_phase="P5",
        refs=FrameworkRefs(atlas_techniques=["AML.T0024.002"]),
        effort=Effort(base_days=1, per_system_days=0, drivers="x"), detection="guard config",
        evidence=[EvidenceRule(kind="guard.config", where={"rate_limit": True}, description="guard limits rate")],
    )
    catalogue = ControlCatalogue(meta=load_controls().meta, controls=[control])
    seen = Evidence(id="EV:g", kind="guard.config", source="guard", system="s", facts={"rate_limit": True})
    other = Evidence(id="EV:h", kind="guard.config", source="guard", system="s", facts={"rate_limit": False})
    assert run(SCORING_API, [other], catalogue)["CS-API-99"].status == "missing"
    gap = run(SCORING_API, [other, seen], catalogue)["CS-API-99"]
    assert gap.status == "implemented"
    assert gap.evidence == ["EV:g"]
    assert "guard limits rate" in gap.status_reason


def test_explicit_techniques_beat_mitigation_links() -> None:
    controls = load_controls().by_id()
    # CS-MON-05 names its techniques, so ATLAS's many M0024 links do not make it an extraction control.
    assert "AML.T0024.002" not in addressed_techniques(controls["CS-MON-05"], ATLAS)
    bare = controls["CS-MON-05"].model_copy(update={"refs": FrameworkRefs(atlas_mitigations=["AML.M0004"])})
    assert "AML.T0024.002" in addressed_techniques(bare, ATLAS)


def test_baseline_controls_follow_the_internal_tier() -> None:
    gaps = run({"business_criticality": "low", "scale": "small", "decision_role": "none"})
    assert "CS-GOV-01" in gaps  # baseline low: every system
    assert any(r.startswith("baseline") for r in gaps["CS-GOV-01"].required_by)


def test_one_analyser_rates_obligations_by_the_date_of_each_call() -> None:
    # Legal parts are shared between systems; the date they were rated for is part of what is shared.
    control = Control(
        id="CS-GOV-99", title="Technical documentation", objective="test", domain="governance", crisp_phase="P1",
        refs=FrameworkRefs(eu_ai_act=["ART11"]), effort=Effort(base_days=1, per_system_days=0, drivers="x"),
        detection="attestation",
    )
    analyser = GapAnalyser(ControlCatalogue(meta=load_controls().meta, controls=[control]), ATLAS)
    system = AISystem(id="s", name="S", traits=SystemTraits.model_validate({"purposes": ["credit-scoring"]}))
    resolved = resolve_traits(system.traits, EU)
    risk = classify_system(system, resolved, EU, "digital-omnibus-2026")

    def severity(as_of: dt.date) -> Severity:
        (gap,) = analyser.gaps_for(system, resolved, risk, [], [], as_of)
        return gap.severity

    far, near = dt.date(2025, 1, 1), dt.date(2027, 6, 1)  # Art. 11 applies from 2027-12-02
    assert severity(far) is Severity.MEDIUM
    assert severity(near) is Severity.HIGH
    assert severity(far) is Severity.MEDIUM

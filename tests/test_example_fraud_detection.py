"""Golden test: the article's fraud-detection story, computed from examples/fraud-detection."""

from __future__ import annotations

from clearsight.core.assessment import Assessment, SystemAssessment
from clearsight.core.severity import Severity
from clearsight.frameworks.controls import load_controls

ARTICLE_THREATS = {"AML.T0024.002": "model extraction", "AML.T0020": "data poisoning", "AML.T0015": "evasion"}


def fraud(assessment: Assessment) -> SystemAssessment:
    return next(r for r in assessment.systems if r.system.id == "card-fraud-detection")


def test_fraud_detection_is_not_annex_iii_high_risk_because_of_the_carve_out(example_assessment: Assessment) -> None:
    legal = fraud(example_assessment).risk.legal
    assert legal.tier != "high-risk"
    assert legal.annex_points == []
    assert any("Annex III 5(b)" in e and "fraud" in e for e in legal.exceptions)


def test_but_its_internal_tier_is_high_or_critical(example_assessment: Assessment) -> None:
    internal = fraud(example_assessment).risk.internal
    assert internal.tier >= Severity.HIGH
    assert example_assessment.portfolio[0].system == "card-fraud-detection"


def test_the_article_threats_are_found_with_reasons_and_case_studies(example_assessment: Assessment) -> None:
    result = fraud(example_assessment)
    threats = {t.technique: t for t in result.threats}
    for technique in ARTICLE_THREATS:
        assert technique in threats, ARTICLE_THREATS[technique]
        assert threats[technique].severity >= Severity.HIGH
        assert threats[technique].reasons
    goals = {s.goal: s for s in result.scenarios}
    assert set(ARTICLE_THREATS) <= set(goals)
    theft = goals["AML.T0024.002"]
    assert [s.tactic for s in theft.steps][-2:] == ["AML.TA0001", "AML.TA0011"]
    assert theft.case_studies, "model theft must cite real ATLAS case studies"
    assert "Card payment fraud detection" in theft.narrative


def test_phase_one_holds_controls_against_each_article_threat(example_assessment: Assessment) -> None:
    controls = load_controls().by_id()
    result = fraud(example_assessment)
    gaps = {g.control: g for g in result.gaps}
    phase_one = [a for a in example_assessment.plan.actions if a.phase == 1 and "card-fraud-detection" in a.systems]
    for technique, label in ARTICLE_THREATS.items():
        against = [a for a in phase_one if technique in gaps[a.control].threats
                   and technique in controls[a.control].primary()]
        assert against, f"no phase-1 control against {label}"
    assert len(example_assessment.plan.key_controls) == 5
    phase = example_assessment.plan.phases[0]
    assert phase.planned_days <= phase.capacity_days


def test_attestations_decide_status_and_passing_controls_are_reported(example_assessment: Assessment) -> None:
    gaps = {g.control: g for g in fraud(example_assessment).gaps}
    assert gaps["CS-GOV-01"].status == "implemented"
    assert gaps["CS-GOV-01"].severity is Severity.LOW
    assert gaps["CS-API-01"].status == "partial"
    assert gaps["CS-API-02"].status == "missing"
    assert "no attestation or evidence" in gaps["CS-API-02"].status_reason
    assert gaps["CS-GOV-01"].evidence == ["EV:attestation:card-fraud-detection:CS-GOV-01"]


def test_portfolio_mixes_legal_classes(example_assessment: Assessment) -> None:
    legal = {r.system.id: r.risk.legal.tier for r in example_assessment.systems}
    assert legal["loan-precheck"] == "high-risk"
    assert legal["policy-assistant"] == "limited"
    assert example_assessment.summary.high_risk_legal == 1
    assert example_assessment.summary.systems == 4  # three declared, one found by discovery


def test_the_undeclared_chatbot_is_found_as_shadow_ai(example_assessment: Assessment) -> None:
    summary = example_assessment.summary
    assert summary.discovery_run and summary.shadow_systems == 1
    (shadow,) = [r for r in example_assessment.systems if not r.system.declared]
    assert shadow.system.root == "support-chatbot"
    found = {(c.kind, c.name) for c in shadow.system.components}
    assert {("provider", "openai"), ("secret_ref", "OPENAI_API_KEY"), ("data_store", "postgresql")} <= found
    assert shadow.system.traits.model_kind == "llm"
    assert shadow.system.traits.production_data == "read"
    assert "ART50-1" in shadow.risk.legal.transparency_duties  # a chatbot must say it is an AI
    assert any(t.technique == "AML.T0051.000" for t in shadow.threats)  # prompt injection
    # what discovery saw in the declared system's folders is evidence for it, not a second system
    declared_evidence = [e for e in example_assessment.evidence if e.kind == "discovery.system"
                         and e.system == "card-fraud-detection"]
    assert declared_evidence and declared_evidence[0].facts["declared"] is True


def test_the_shadow_system_can_be_left_out(example_dir) -> None:  # type: ignore[no-untyped-def]
    from clearsight.runner import assess_path

    declared_only = assess_path(example_dir, discover=False)
    assert all(r.system.declared for r in declared_only.systems)
    assert not declared_only.summary.discovery_run

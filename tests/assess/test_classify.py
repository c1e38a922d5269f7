from __future__ import annotations

import datetime as dt

import pytest

from clearsight.assess.classify import classify_eu_ai_act, rate_internal_risk, resolve_traits
from clearsight.core.severity import Severity
from clearsight.core.system import SystemTraits
from clearsight.frameworks.eu_ai_act import EuAiAct, load_eu_ai_act

CAL = "digital-omnibus-2026"


@pytest.fixture(scope="module")
def eu() -> EuAiAct:
    return load_eu_ai_act()


def traits(**values: object) -> SystemTraits:
    return SystemTraits.model_validate(values)


def test_fraud_detection_is_carved_out_of_annex_iii(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["fraud-detection"]), eu, CAL)
    assert legal.tier == "minimal"
    assert legal.annex_points == []
    assert any("Annex III 5(b)" in e for e in legal.exceptions)
    assert any("carved out" in r for r in legal.rationale)


def test_credit_scoring_is_annex_iii_high_risk_with_dated_obligations(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["credit-scoring"], role="provider"), eu, CAL)
    assert legal.tier == "high-risk"
    assert legal.route == "annex-iii"
    assert legal.annex_points == ["III-5b"]
    obligations = {o.id: o for o in legal.obligations}
    assert {"ART9", "ART10", "ART15", "ART4"} <= obligations.keys()
    assert obligations["ART15"].applies_from == dt.date(2027, 12, 2)  # moved by the 2026 amendment
    original = classify_eu_ai_act(traits(purposes=["credit-scoring"]), eu, "regulation-2024")
    assert {o.id: o for o in original.obligations}["ART15"].applies_from == dt.date(2026, 8, 2)


def test_deployer_of_credit_scoring_gets_deployer_duties_and_fria(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["credit-scoring"], role="deployer"), eu, CAL)
    ids = {o.id for o in legal.obligations}
    assert {"ART26", "ART27"} <= ids
    assert "ART16" not in ids


def test_derogation_applies_only_without_profiling(eu: EuAiAct) -> None:
    derogated = classify_eu_ai_act(traits(purposes=["learning-outcome-evaluation"], derogation="D-a"), eu, CAL)
    assert derogated.tier == "minimal"
    assert any("derogation" in e for e in derogated.exceptions)
    assert {"ART6-4", "ART49-2"} <= {o.id for o in derogated.obligations}
    profiled = classify_eu_ai_act(
        traits(purposes=["learning-outcome-evaluation"], derogation="D-a", profiling=True), eu, CAL
    )
    assert profiled.tier == "high-risk"
    assert any("profiles natural persons" in r for r in profiled.rationale)


def test_credit_scoring_profiles_by_nature_so_no_derogation(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["credit-scoring"], derogation="D-d", profiling=False), eu, CAL)
    assert legal.tier == "high-risk"
    assert any("by its nature" in r for r in legal.rationale)


def test_provider_that_also_deploys_gets_both_sets_of_duties(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["credit-scoring"], role="both"), eu, CAL)
    ids = {o.id for o in legal.obligations}
    assert {"ART16", "ART26", "ART27"} <= ids
    literacy = next(o for o in legal.obligations if o.id == "ART4")
    assert literacy.actor == "provider and deployer"


def test_deployers_of_gpai_models_get_no_provider_duties(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(model_kind="llm", gpai="gpai-systemic", role="deployer"), eu, CAL)
    assert not {o.id for o in legal.obligations} & {"ART53-1a", "ART55-1a"}
    assert next(o for o in legal.obligations if o.id == "ART4").actor == "deployer"


def test_right_to_explanation_is_for_annex_iii_only(eu: EuAiAct) -> None:
    annex_i = classify_eu_ai_act(traits(annex_i_product=True, third_party_conformity=True, role="both"), eu, CAL)
    annex_iii = classify_eu_ai_act(traits(purposes=["credit-scoring"], role="both"), eu, CAL)
    assert "ART86" not in {o.id for o in annex_i.obligations}
    assert "ART86" in {o.id for o in annex_iii.obligations}


def test_prohibited_systems_are_critical_internally(eu: EuAiAct) -> None:
    quiet = resolve_traits(traits(purposes=["social-scoring"], business_criticality="low", scale="small"), eu)
    legal = classify_eu_ai_act(quiet, eu, CAL)
    risk = rate_internal_risk(quiet, legal)
    assert risk.tier is Severity.CRITICAL
    assert "prohibited practice" in risk.rationale


def test_prohibited_practice(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(purposes=["social-scoring"]), eu, CAL)
    assert legal.tier == "prohibited"
    assert legal.route == "art5"
    assert legal.obligations == []


def test_new_prohibition_depends_on_the_calendar(eu: EuAiAct) -> None:
    amended = classify_eu_ai_act(traits(purposes=["ncii-generation"]), eu, CAL)
    assert amended.tier == "prohibited"
    original = classify_eu_ai_act(traits(purposes=["ncii-generation"]), eu, "regulation-2024")
    assert original.tier != "prohibited"
    assert any("not in force" in r for r in original.rationale)


def test_chatbot_has_transparency_duties(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(
        traits(purposes=["customer-support-chat"], model_kind="llm", interacts_with_people=True), eu, CAL
    )
    assert legal.tier == "limited"
    assert "ART50-1" in legal.transparency_duties


def test_annex_i_route(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(annex_i_product=True, third_party_conformity=True), eu, CAL)
    assert legal.tier == "high-risk"
    assert legal.route == "annex-i"
    art9 = next(o for o in legal.obligations if o.id == "ART9")
    assert art9.applies_from == dt.date(2028, 8, 2)


def test_outside_the_eu(eu: EuAiAct) -> None:
    assert classify_eu_ai_act(traits(purposes=["credit-scoring"], eu_market=False), eu, CAL).tier == "out-of-scope"


def test_gpai_obligations(eu: EuAiAct) -> None:
    legal = classify_eu_ai_act(traits(model_kind="llm", gpai="gpai-systemic"), eu, CAL)
    ids = {o.id for o in legal.obligations}
    assert {"ART53-1a", "ART55-1a"} <= ids


def test_incentive_comes_from_purposes_unless_declared(eu: EuAiAct) -> None:
    assert resolve_traits(traits(purposes=["fraud-detection"]), eu).adversarial_incentive == "high"
    assert resolve_traits(traits(purposes=["demand-forecasting"]), eu).adversarial_incentive == "low"
    declared = traits(purposes=["demand-forecasting"], adversarial_incentive="medium")
    assert resolve_traits(declared, eu).adversarial_incentive == "medium"


def test_internal_risk_separates_from_legal_class(eu: EuAiAct) -> None:
    fraud = resolve_traits(traits(
        purposes=["fraud-detection"], exposure="partner", inference_api=True, outputs="score",
        training_data=["customer", "outcome-feedback"], retraining="periodic",
        personal_data=["financial"], production_data="read", decision_role="automated",
        affected=["customers"], scale="large", business_criticality="critical", regulated_sector=True,
    ), eu)
    legal = classify_eu_ai_act(fraud, eu, CAL)
    risk = rate_internal_risk(fraud, legal)
    assert legal.tier == "minimal"
    assert risk.tier >= Severity.HIGH
    assert {f.axis for f in risk.factors} == {"impact", "likelihood"}
    assert "main drivers" in risk.rationale

    toy = resolve_traits(traits(purposes=["internal-analytics"], business_criticality="low", scale="small"), eu)
    assert rate_internal_risk(toy, classify_eu_ai_act(toy, eu, CAL)).tier <= Severity.MEDIUM

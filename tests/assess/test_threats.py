from __future__ import annotations

from clearsight.assess.threats import ThreatModeller
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem, SystemTraits
from clearsight.frameworks.atlas_store import load_builtin_atlas
from clearsight.frameworks.threat_model import load_threat_model

MODELLER = ThreatModeller(load_threat_model(), load_builtin_atlas())


def system(**traits: object) -> tuple[AISystem, SystemTraits]:
    resolved = SystemTraits.model_validate({"adversarial_incentive": "low", **traits})
    return AISystem(id="s", name="System S", traits=resolved), resolved


def techniques(**traits: object) -> set[str]:
    s, t = system(**traits)
    return {m.technique for m in MODELLER.threats_for(s, t)}


def test_internal_rules_engine_has_no_api_threats() -> None:
    found = techniques(model_kind="rules")
    assert found == set()


def test_public_scoring_api_invites_extraction_and_more_so_with_scores() -> None:
    s, t = system(inference_api=True, exposure="public", outputs="label")
    label = {m.technique: m for m in MODELLER.threats_for(s, t)}["AML.T0024.002"]
    s, t = system(inference_api=True, exposure="public", outputs="scores")
    scores = {m.technique: m for m in MODELLER.threats_for(s, t)}["AML.T0024.002"]
    assert scores.likelihood == label.likelihood + 1
    assert any("confidence scores" in r for r in scores.reasons)
    assert techniques(inference_api=True, exposure="internal").isdisjoint({"AML.T0024.002"})


def test_feedback_labels_and_retraining_invite_poisoning() -> None:
    assert "AML.T0020" in techniques(training_data=["outcome-feedback"], retraining="periodic")
    assert "AML.T0020" not in techniques(training_data=["internal"], retraining="none")


def test_llm_chatbot_threats() -> None:
    found = techniques(model_kind="llm", interacts_with_people=True, rag=True, personal_data=["contact"])
    assert {"AML.T0051.000", "AML.T0051.001", "AML.T0054", "AML.T0056", "AML.T0057", "AML.T0070"} <= found
    assert "AML.T0053" not in found
    assert "AML.T0053" in techniques(model_kind="llm", agent=True)


def test_scenarios_follow_their_goal_threat_and_cite_case_studies() -> None:
    s, t = system(inference_api=True, exposure="public", outputs="score", adversarial_incentive="high",
                  business_criticality="critical")
    threats = MODELLER.threats_for(s, t)
    scenarios = {sc.template: sc for sc in MODELLER.scenarios_for(s, t, threats)}
    theft = scenarios["model-theft"]
    goal = next(x for x in threats if x.technique == "AML.T0024.002")
    assert (theft.likelihood, theft.impact, theft.severity) == (goal.likelihood, goal.impact, goal.severity)
    assert theft.severity >= Severity.HIGH
    assert "AML.CS0056" in {c.id for c in theft.case_studies}  # the 2026 distillation campaign
    assert theft.id == "SCN:s:model-theft"
    assert "System S" in theft.narrative


def test_threats_are_sorted_by_risk() -> None:
    s, t = system(model_kind="llm", interacts_with_people=True, agent=True, production_data="write",
                  personal_data=["financial"], exposure="public", inference_api=True)
    scores = [m.likelihood * m.impact for m in MODELLER.threats_for(s, t)]
    assert scores == sorted(scores, reverse=True)


def test_scenario_steps_fit_the_system() -> None:
    s, t = system(model_kind="llm", interacts_with_people=True, rag=True, personal_data=["employee"],
                  exposure="internal", adversarial_incentive="medium")
    threats = MODELLER.threats_for(s, t)
    scenarios = {sc.template: sc for sc in MODELLER.scenarios_for(s, t, threats)}
    indirect = [st.technique for st in scenarios["indirect-injection"].steps]
    assert "AML.T0053" not in indirect and "AML.T0086" not in indirect  # not an agent
    assert indirect[-1] == "AML.T0057"
    theft = [st.technique for st in scenarios["prompt-injection-data-theft"].steps]
    assert "AML.T0049" not in theft  # internal: no public-facing application to exploit
    assert "evasion" not in scenarios  # an advisory assistant decides nothing an attacker needs to slip past
    s, t = system(model_kind="classical-ml", adversarial_incentive="medium", decision_role="automated")
    scenarios = {sc.template: sc for sc in MODELLER.scenarios_for(s, t, MODELLER.threats_for(s, t))}
    evasion = [st.technique for st in scenarios["evasion"].steps]
    assert "AML.T0040" not in evasion and "AML.T0043.002" in evasion  # no inference API: transfer attack
    assert "AML.T0048.000" not in evasion


def test_sub_techniques_carry_their_parent_name() -> None:
    s, t = system(model_kind="llm", interacts_with_people=True)
    names = {m.technique: m.name for m in MODELLER.threats_for(s, t)}
    assert names["AML.T0051.000"] == "LLM Prompt Injection: Direct"

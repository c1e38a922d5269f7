from __future__ import annotations

import pytest

from clearsight.core.conditions import compile_condition
from clearsight.core.system import SystemTraits
from clearsight.frameworks.atlas_store import load_builtin_atlas
from clearsight.frameworks.threat_model import ThreatRule, load_threat_model

MODEL = load_threat_model()
ATLAS = load_builtin_atlas()


@pytest.mark.parametrize("rule", MODEL.rules, ids=lambda r: r.id)
def test_rule_names_a_real_technique_and_compiles(rule: ThreatRule) -> None:
    assert rule.technique in ATLAS.technique_index
    assert rule.why.strip()
    predicate = compile_condition(rule.when)
    assert not predicate(SystemTraits(model_kind="rules", adversarial_incentive="low")) or rule.technique in {
        "AML.T0036"}, "rules engines are not ML: almost no ML threat should apply"
    for adjustment in rule.likelihood.adjust + rule.impact.adjust:
        assert adjustment.why.strip()
        compile_condition(adjustment.when)


def test_rule_ids_and_techniques_are_unique() -> None:
    assert len({r.id for r in MODEL.rules}) == len(MODEL.rules)
    assert len({r.technique for r in MODEL.rules}) == len(MODEL.rules)


@pytest.mark.parametrize("template", MODEL.scenarios, ids=lambda s: s.id)
def test_scenario_chain_is_valid_atlas(template: object) -> None:
    from clearsight.frameworks.threat_model import ScenarioTemplate

    assert isinstance(template, ScenarioTemplate)
    rules = {r.technique for r in MODEL.rules}
    assert template.goal in rules, "a scenario's goal must be a technique some rule can match"
    assert template.goal in [s.technique for s in template.steps]
    assert any(s.technique == template.goal and s.when is None for s in template.steps), "goal step is always shown"
    for step in template.steps:
        technique = ATLAS.technique_index[step.technique]
        assert step.tactic in technique.tactics, f"{step.technique} is not under {step.tactic}"
    assert "{system}" in template.narrative


def test_the_article_threats_are_modelled() -> None:
    techniques = {r.technique for r in MODEL.rules}
    assert {"AML.T0024.002", "AML.T0020", "AML.T0015", "AML.T0051.000"} <= techniques

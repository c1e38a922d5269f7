"""Step 2: how will attackers proceed?

Threat rules (data) decide which ATLAS techniques apply to a system's traits and rate them; scenario
templates chain techniques into attacks, and the ATLAS case studies that used the same techniques are cited
as evidence that the attack is real.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.core.conditions import Predicate, compile_condition
from clearsight.core.ids import scenario_id, threat_id
from clearsight.core.severity import clamp_level, severity_from_matrix
from clearsight.core.system import AISystem, SystemTraits
from clearsight.core.threat import CaseStudyRef, Scenario, ScenarioStep, ThreatMatch
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.threat_model import Rating, ScenarioTemplate, ThreatModel

MAX_CASE_STUDIES = 3


@dataclass(frozen=True)
class _CompiledRating:
    base: int
    adjustments: tuple[tuple[Predicate, int, str], ...]

    def evaluate(self, traits: SystemTraits) -> tuple[int, list[str]]:
        value = self.base
        reasons: list[str] = []
        for predicate, delta, why in self.adjustments:
            if predicate(traits):
                value += delta
                reasons.append(why)
        return clamp_level(value), reasons


@dataclass(frozen=True)
class _CompiledRule:
    technique: str
    name: str
    tactics: tuple[str, ...]
    when: Predicate
    why: str
    likelihood: _CompiledRating
    impact: _CompiledRating


@dataclass(frozen=True)
class _CompiledScenario:
    template: ScenarioTemplate
    when: Predicate
    steps: tuple[tuple[ScenarioStep, Predicate], ...]
    case_studies: tuple[CaseStudyRef, ...]


class ThreatModeller:
    """The threat model compiled against one ATLAS edition; reuse it for every system in a portfolio."""

    def __init__(self, model: ThreatModel, atlas: AtlasCatalogue) -> None:
        techniques = atlas.technique_index
        self._rules = [
            _CompiledRule(
                technique=r.technique,
                name=display_name(atlas, r.technique),
                tactics=tuple(techniques[r.technique].tactics),
                when=compile_condition(r.when),
                why=r.why,
                likelihood=_compile_rating(r.likelihood),
                impact=_compile_rating(r.impact),
            )
            for r in model.rules
            if r.technique in techniques  # a newer ATLAS may retire a technique; its rule then rests
        ]
        self._scenarios = [
            _CompiledScenario(
                template=s,
                when=compile_condition(s.when),
                steps=tuple(
                    (ScenarioStep(tactic=st.tactic, technique=st.technique, name=display_name(atlas, st.technique)),
                     compile_condition(st.when))
                    for st in s.steps
                ),
                case_studies=_case_studies_for(s, atlas),
            )
            for s in model.scenarios
            if all(st.technique in techniques for st in s.steps) and s.goal in techniques
        ]

    def threats_for(self, system: AISystem, traits: SystemTraits) -> list[ThreatMatch]:
        out: list[ThreatMatch] = []
        for rule in self._rules:
            if not rule.when(traits):
                continue
            likelihood, l_reasons = rule.likelihood.evaluate(traits)
            impact, i_reasons = rule.impact.evaluate(traits)
            out.append(ThreatMatch(
                id=threat_id(system.id, rule.technique), system=system.id, technique=rule.technique,
                name=rule.name, tactics=list(rule.tactics), likelihood=likelihood, impact=impact,
                severity=severity_from_matrix(likelihood, impact), reasons=[rule.why, *l_reasons, *i_reasons],
            ))
        out.sort(key=lambda t: (-t.likelihood * t.impact, t.technique))
        return out

    def scenarios_for(self, system: AISystem, traits: SystemTraits, threats: list[ThreatMatch]) -> list[Scenario]:
        by_technique = {t.technique: t for t in threats}
        out: list[Scenario] = []
        for compiled in self._scenarios:
            template = compiled.template
            goal = by_technique.get(template.goal)
            if goal is None or not compiled.when(traits):
                continue
            steps = [step for step, applies in compiled.steps if applies(traits)]
            out.append(Scenario(
                id=scenario_id(system.id, template.id), system=system.id, template=template.id,
                title=template.title, narrative=template.narrative.replace("{system}", system.name),
                goal=template.goal, steps=steps, likelihood=goal.likelihood,
                impact=goal.impact, severity=goal.severity, case_studies=list(compiled.case_studies),
            ))
        out.sort(key=lambda s: (-s.likelihood * s.impact, s.template))
        return out


def display_name(atlas: AtlasCatalogue, technique: str) -> str:
    """Sub-techniques read poorly alone ("Direct"), so they carry their parent's name."""
    found = atlas.technique_index[technique]
    if found.parent and found.parent in atlas.technique_index:
        return f"{atlas.technique_index[found.parent].name}: {found.name}"
    return found.name


def _compile_rating(rating: Rating) -> _CompiledRating:
    return _CompiledRating(
        base=rating.base,
        adjustments=tuple((compile_condition(a.when), a.delta, a.why) for a in rating.adjust),
    )


def _case_studies_for(template: ScenarioTemplate, atlas: AtlasCatalogue) -> tuple[CaseStudyRef, ...]:
    """Case studies that used the goal technique, most similar chain first, then most recent."""
    chain = {st.technique for st in template.steps}
    candidates = atlas.case_studies_by_technique.get(template.goal, [])

    def score(cs_steps: set[str]) -> int:
        return len(chain & cs_steps)

    ranked = sorted(
        candidates,
        key=lambda cs: (-score({s.technique for s in cs.steps}), -_date_key(cs.incident_date), cs.id),
    )
    return tuple(CaseStudyRef(id=cs.id, name=cs.name) for cs in ranked[:MAX_CASE_STUDIES])


def _date_key(date: str | None) -> int:
    return int(date.replace("-", "")[:8]) if date else 0

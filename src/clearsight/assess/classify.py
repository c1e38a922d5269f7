"""Step 1: how high is each system's AI risk?

Two separate answers, each with its reasons: the legal class under the EU AI Act (decided by the
catalogue's data, never by keywords in code) and an internal risk tier from NIST-AI-RMF-style impact and
likelihood factors.
"""

from __future__ import annotations

import datetime as dt
import math

from clearsight.core.risk import (
    InternalRisk,
    LegalClassification,
    LegalRoute,
    LegalTier,
    Obligation,
    RiskFactor,
    RiskProfile,
)
from clearsight.core.severity import Severity, clamp_level, severity_from_matrix
from clearsight.core.system import AISystem, Incentive, SystemTraits
from clearsight.frameworks.eu_ai_act import EuAiAct, ObligationDef

_INCENTIVE_ORDER: tuple[Incentive, ...] = ("low", "medium", "high")


def resolve_traits(traits: SystemTraits, eu: EuAiAct) -> SystemTraits:
    """Fill in what the declaration left to be derived (the adversarial incentive of its purposes)."""
    if traits.adversarial_incentive is not None:
        return traits
    incentive: Incentive = "low"
    for purpose in traits.purposes:
        level = eu.use_case(purpose).adversarial_incentive
        if _INCENTIVE_ORDER.index(level) > _INCENTIVE_ORDER.index(incentive):
            incentive = level
    return traits.model_copy(update={"adversarial_incentive": incentive})


# --------------------------------------------------------------------------- EU AI Act


def classify_eu_ai_act(traits: SystemTraits, eu: EuAiAct, calendar: str) -> LegalClassification:
    """Walk the Act's decision order: scope, Art. 5, Art. 6(1), Art. 6(2)/(3), Art. 50, GPAI."""
    dates = eu.calendar_dates(calendar)
    if not traits.eu_market:
        return LegalClassification(
            tier="out-of-scope", calendar=calendar,
            rationale=["Not placed on the EU market and its output is not used in the EU (Art. 2(1))."],
        )
    rationale: list[str] = []
    basis: list[str] = []
    exceptions: list[str] = []
    annex_points: list[str] = []
    tier: LegalTier = "minimal"
    route: LegalRoute = "none"
    use_cases = [eu.use_case(p) for p in traits.purposes]

    practices = {p.id: p for p in eu.prohibited_practices}
    for use in (u for u in use_cases if u.prohibited):
        practice = practices[use.prohibited or ""]
        since = dates.get(practice.date_key)
        if since is None:
            rationale.append(
                f"Purpose '{use.label}' matches {practice.title}, a prohibition that is not in force under "
                f"the '{calendar}' calendar."
            )
            continue
        basis.append(practice.article)
        rationale.append(
            f"Purpose '{use.label}' is a prohibited practice: {practice.title} (applies from {since.isoformat()})."
        )
        tier, route = "prohibited", "art5"

    for use in use_cases:
        if use.carve_out:
            point = eu.annex_iii_point(use.related_point or "")
            exceptions.append(f"{point.ref}: {use.carve_out}")
            rationale.append(f"Purpose '{use.label}' is close to {point.ref} but carved out: {use.carve_out}")

    if tier != "prohibited" and traits.annex_i_product and traits.third_party_conformity:
        tier, route = "high-risk", "annex-i"
        basis.append("Art. 6(1), Annex I")
        rationale.append(
            "Safety component of, or itself, a product under Annex I law that needs third-party "
            "conformity assessment, so high-risk under Art. 6(1)."
        )

    annex_uses = [u for u in use_cases if u.annex_iii]
    profiling = traits.profiling or any(u.profiling for u in annex_uses)
    derogated = False
    if tier != "prohibited" and annex_uses:
        points = [eu.annex_iii_point(u.annex_iii or "") for u in annex_uses]
        annex_points = [p.id for p in points]
        refs = ", ".join(p.ref for p in points)
        if traits.derogation and not profiling:
            derogated = True
            condition = next(c for c in eu.derogation.conditions if c.id == traits.derogation)
            exceptions.append(f"{eu.derogation.article} derogation ({condition.id}): {condition.summary}")
            rationale.append(
                f"Listed in {refs}, but the documented {eu.derogation.article} condition "
                f"'{condition.summary}' applies and it does not profile people, so it is not high-risk; the "
                "assessment must be documented and the system registered (Art. 49(2))."
            )
        else:
            if traits.derogation and profiling:
                why = "the system profiles" if traits.profiling else "this use profiles, by its nature,"
                rationale.append(
                    f"A {eu.derogation.article} derogation was declared, but {why} natural persons: "
                    f"{eu.derogation.profiling_override}"
                )
            if tier != "high-risk":
                tier, route = "high-risk", "annex-iii"
            basis.append(f"Art. 6(2), {refs}")
            rationale.append(f"Its purpose is listed in {refs}, so it is high-risk under Art. 6(2).")

    duties = _transparency_duties(traits, [d for u in use_cases for d in u.transparency], eu)
    if duties:
        basis.append("Art. 50")
        rationale.append(
            "Transparency duties apply (" + ", ".join(duties) + ")"
            + ("; they stack with the high-risk requirements." if tier == "high-risk" else ".")
        )
        if tier == "minimal":
            tier = "limited"
    if traits.gpai != "none":
        basis.append(eu.gpai.article_classification)
        rationale.append(
            "General-purpose AI model" + (" with systemic risk (above the compute threshold or designated)"
                                          if traits.gpai == "gpai-systemic" else "")
            + ": Art. 53" + (" and Art. 55" if traits.gpai == "gpai-systemic" else "") + " apply."
        )
    if tier == "minimal":
        rationale.append(
            "No prohibited practice, no Annex I or Annex III use and no Art. 50 trigger: minimal risk "
            "(AI literacy under Art. 4 and voluntary codes still apply)."
        )

    obligations = _obligations(traits, tier, route, duties, annex_points, derogated, eu, dates)
    return LegalClassification(
        tier=tier, route=route, basis=basis, annex_points=annex_points, exceptions=exceptions,
        transparency_duties=duties, gpai=traits.gpai, obligations=obligations, rationale=rationale,
        calendar=calendar,
    )


def _transparency_duties(traits: SystemTraits, from_purposes: list[str], eu: EuAiAct) -> list[str]:
    duties = set(from_purposes)
    if traits.interacts_with_people:
        duties.add("ART50-1")
    if traits.generates_content:
        duties.add("ART50-2")
    known = {d.id: d for d in eu.transparency_duties}
    roles = {"provider", "deployer"} if traits.role == "both" else {traits.role}
    return [d for d in sorted(duties) if d in known and (known[d].actor in roles or known[d].actor == "both")]


_APPLIES: dict[str, tuple[str, ...]] = {
    "provider": ("all", "high-risk-provider"),
    "deployer": ("all", "high-risk-deployer"),
    "both": ("all", "high-risk-provider", "high-risk-deployer"),
}
_FRIA_POINTS = frozenset({"III-5b", "III-5c"})
_DEPLOYER_DUTIES = frozenset({"high-risk-deployer", "annex-iii-fria"})


def _obligations(
    traits: SystemTraits, tier: LegalTier, route: LegalRoute, duties: list[str], annex_points: list[str],
    derogated: bool, eu: EuAiAct, dates: dict[str, dt.date | None],
) -> list[Obligation]:
    deploys = traits.role in ("deployer", "both")
    provides = traits.role in ("provider", "both")

    def wanted(ob: ObligationDef) -> bool:
        if ob.routes is not None and route not in ob.routes:
            return False
        if ob.applies_to == "all":
            return True
        if ob.applies_to in ("high-risk-provider", "high-risk-deployer"):
            return tier == "high-risk" and ob.applies_to in _APPLIES[traits.role]
        if ob.applies_to == "annex-iii-fria":
            return tier == "high-risk" and deploys and bool(_FRIA_POINTS & set(annex_points))
        if ob.applies_to == "annex-iii-derogated":
            return derogated and provides
        if ob.applies_to == "gpai":
            return traits.gpai != "none" and provides
        if ob.applies_to == "gpai-systemic":
            return traits.gpai == "gpai-systemic" and provides
        return False

    out: list[Obligation] = []
    if tier in ("prohibited", "out-of-scope"):
        return out
    for ob in eu.obligations:
        if not wanted(ob):
            continue
        key = ob.date_key
        if route == "annex-i" and key == "annex_iii_high_risk":
            key = "annex_i_high_risk"
        if ob.applies_to in _DEPLOYER_DUTIES:
            actor = "deployer"
        elif ob.applies_to == "all":
            actor = "provider and deployer" if traits.role == "both" else traits.role
        else:
            actor = "provider"
        out.append(Obligation(id=ob.id, article=ob.article, title=ob.title,
                              applies_from=dates.get(key), actor=actor))
    known = {d.id: d for d in eu.transparency_duties}
    for duty_id in duties:
        duty = known[duty_id]
        out.append(Obligation(id=duty.id, article=duty.article, title=duty.duty,
                              applies_from=dates.get(duty.date_key), actor=duty.actor))
    return out


# --------------------------------------------------------------------------- internal risk

_DECISION = {"none": 1, "advisory": 2, "human-in-the-loop": 3, "automated": 4}
_CRITICALITY = {"low": 1, "medium": 2, "high": 4, "critical": 5}
_SCALE = {"small": 1, "medium": 2, "large": 3, "very-large": 4}
_EXPOSURE = {"none": 1, "internal": 2, "partner": 3, "public": 4}
_INCENTIVE = {"low": 1, "medium": 3, "high": 5}
_LEGAL = {"prohibited": 5, "high-risk": 4, "limited": 2, "minimal": 1, "out-of-scope": 1}
_PRODUCTION = {"none": 1, "read": 3, "write": 4}
_SENSITIVE = {"health", "biometric", "special-category", "children"}
_PERSONAL_FINANCIAL = {"financial", "identifiers"}
_UNTRUSTED_DATA = {"outcome-feedback", "user-feedback", "public-web", "third-party"}


def rate_internal_risk(traits: SystemTraits, legal: LegalClassification) -> InternalRisk:
    """Impact x likelihood from named factors, each level explained.

    Each axis combines its worst factor with the average of all (half each): one severe factor is enough
    to raise a system, but a system is not rated critical on a single mild signal.
    """
    factors = _impact_factors(traits, legal) + _likelihood_factors(traits)
    impact = _combine([f.level for f in factors if f.axis == "impact"])
    likelihood = _combine([f.level for f in factors if f.axis == "likelihood"])
    tier = severity_from_matrix(likelihood, impact)
    top = sorted(factors, key=lambda f: -f.level)[:3]
    rationale = (
        f"Impact {impact}/5 and likelihood {likelihood}/5 give {tier.title}; main drivers: "
        + "; ".join(f"{f.name} ({f.reason})" for f in top) + "."
    )
    if legal.tier == "prohibited":
        tier = Severity.CRITICAL
        rationale += " Raised to Critical: the system falls under an EU AI Act prohibited practice."
    return InternalRisk(tier=tier, impact=impact, likelihood=likelihood, factors=factors, rationale=rationale)


def _combine(levels: list[int]) -> int:
    value = 0.5 * max(levels) + 0.5 * (sum(levels) / len(levels))
    return clamp_level(math.floor(value + 0.5))


def _impact_factors(t: SystemTraits, legal: LegalClassification) -> list[RiskFactor]:
    people = [a for a in t.affected if a in ("customers", "public")]
    decision = _DECISION[t.decision_role] + (1 if t.scale == "very-large" and people else 0)
    decision_reason = f"decisions are {t.decision_role}" + (f" and affect {', '.join(people)}" if people else "")
    personal = set(t.personal_data)
    if personal & _SENSITIVE:
        data_level, data_reason = 5, "special-category or sensitive personal data"
    elif personal & _PERSONAL_FINANCIAL:
        data_level, data_reason = 4, "financial or identifying personal data"
    elif personal:
        data_level, data_reason = 3, "personal data"
    else:
        data_level, data_reason = 1, "no personal data"
    regulatory = _LEGAL[legal.tier]
    regulatory_reason = f"EU AI Act class {legal.tier}"
    if t.regulated_sector and regulatory < 4:
        regulatory, regulatory_reason = 4, "operates in a regulated sector under supervisory oversight"
    return [
        RiskFactor(name="decision impact", axis="impact", level=clamp_level(decision), reason=decision_reason),
        RiskFactor(name="data sensitivity", axis="impact", level=data_level, reason=data_reason),
        RiskFactor(name="business criticality", axis="impact", level=_CRITICALITY[t.business_criticality],
                   reason=f"{t.business_criticality} business criticality"),
        RiskFactor(name="regulatory exposure", axis="impact", level=regulatory, reason=regulatory_reason),
        RiskFactor(name="scale", axis="impact", level=_SCALE[t.scale], reason=f"{t.scale} scale of use"),
    ]


def _likelihood_factors(t: SystemTraits) -> list[RiskFactor]:
    exposure = _EXPOSURE[t.exposure] + (1 if t.inference_api and t.outputs in ("score", "scores") else 0)
    exposure_reason = f"{t.exposure} exposure" + (
        " of an inference API returning scores" if t.inference_api and t.outputs in ("score", "scores") else ""
    )
    incentive = t.adversarial_incentive or "low"
    surface = 1
    surface_reasons: list[str] = []
    if t.model_kind == "llm":
        surface += 2
        surface_reasons.append("language model")
    if t.agent:
        surface += 1
        surface_reasons.append("acts through tools")
    if t.rag:
        surface += 1
        surface_reasons.append("retrieves documents")
    if t.model_origin in ("open-pretrained", "fine-tuned-open", "third-party-api"):
        surface += 1
        surface_reasons.append(f"{t.model_origin} model")
    untrusted = sorted(set(t.training_data) & _UNTRUSTED_DATA)
    supply = 1 + (2 if untrusted else 0) + (1 if t.retraining != "none" else 0) \
        + (1 if t.retraining == "continuous" else 0)
    supply_reason = (
        ("training data from " + ", ".join(untrusted)) if untrusted else "training data from trusted sources"
    ) + (f", retrained {t.retraining}" if t.retraining != "none" else "")
    return [
        RiskFactor(name="exposure", axis="likelihood", level=clamp_level(exposure), reason=exposure_reason),
        RiskFactor(name="adversarial incentive", axis="likelihood", level=_INCENTIVE[incentive],
                   reason=f"{incentive} attacker incentive for its purpose"),
        RiskFactor(name="attack surface", axis="likelihood", level=clamp_level(surface),
                   reason=", ".join(surface_reasons) or "in-house model without LLM features"),
        RiskFactor(name="data supply chain", axis="likelihood", level=clamp_level(supply), reason=supply_reason),
        RiskFactor(name="production data access", axis="likelihood", level=_PRODUCTION[t.production_data],
                   reason=f"{t.production_data} access to production data"),
    ]


def classify_system(system: AISystem, traits: SystemTraits, eu: EuAiAct, calendar: str) -> RiskProfile:
    """Both ratings for one system (``traits`` already resolved)."""
    return Classifier(eu, calendar).classify(system, traits)


_LEGAL_TRAITS = (
    "purposes", "eu_market", "annex_i_product", "third_party_conformity", "derogation", "profiling",
    "interacts_with_people", "generates_content", "role", "gpai",
)


class Classifier:
    """Step 1 for a whole portfolio: the legal answer depends on a handful of traits, so systems that
    share them share one (immutable) classification instead of recomputing it."""

    def __init__(self, eu: EuAiAct, calendar: str) -> None:
        self._eu = eu
        self._calendar = calendar
        self._legal: dict[tuple[object, ...], LegalClassification] = {}

    def classify(self, system: AISystem, traits: SystemTraits) -> RiskProfile:
        key = tuple(
            tuple(v) if isinstance(v, list) else v for v in (getattr(traits, name) for name in _LEGAL_TRAITS)
        )
        legal = self._legal.get(key)
        if legal is None:
            legal = self._legal[key] = classify_eu_ai_act(traits, self._eu, self._calendar)
        return RiskProfile(system=system.id, legal=legal, internal=rate_internal_risk(traits, legal))

"""Step 3: which controls does each system need, which are in place, and how bad is each gap?

A control is required for three reasons, each recorded in words: it counters an ATLAS technique that
applies (see :func:`addressed_techniques`), a legal obligation of
the system's class maps to it, or it is a baseline for the system's internal tier. Its status comes only
from attestations and Evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from clearsight.core.atlas_ids import covers
from clearsight.core.conditions import Predicate, compile_condition
from clearsight.core.control import Control, EvidenceRule
from clearsight.core.evidence import Evidence, FactValue
from clearsight.core.gap import ControlStatus, Gap
from clearsight.core.ids import gap_id
from clearsight.core.risk import LegalClassification, RiskProfile
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem, SystemTraits
from clearsight.core.threat import ThreatMatch
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.controls import ControlCatalogue

URGENT_WITHIN = dt.timedelta(days=365)


@dataclass(frozen=True)
class _CompiledControl:
    control: Control
    applies: Predicate
    techniques: frozenset[str]
    obligations: frozenset[str]
    baseline: int | None  # rank of the tier from which the control is a baseline


def addressed_techniques(control: Control, atlas: AtlasCatalogue) -> frozenset[str]:
    """Techniques the control counters.

    A control's own technique list is curated, so it is authoritative. Only a control that names
    mitigations without techniques borrows the techniques ATLAS links to those mitigations; one ATLAS
    mitigation often links to many techniques, and borrowing them always would over-credit controls.
    """
    if control.refs.atlas_techniques:
        return frozenset(control.refs.atlas_techniques)
    mitigations = atlas.mitigation_index
    found: set[str] = set()
    for mid in control.refs.atlas_mitigations:
        if mid in mitigations:
            found.update(mitigations[mid].techniques)
    return frozenset(found)


@dataclass
class EvidenceIndex:
    """Evidence grouped by system (None: organisation-wide) for quick look-up per gap."""

    by_system: dict[str | None, list[Evidence]] = field(default_factory=dict)

    @classmethod
    def build(cls, evidence: Iterable[Evidence]) -> EvidenceIndex:
        index = cls()
        for item in evidence:
            index.by_system.setdefault(item.system, []).append(item)
        return index

    def for_system(self, system_id: str) -> list[Evidence]:
        return self.by_system.get(system_id, []) + self.by_system.get(None, [])


class GapAnalyser:
    """The control catalogue compiled once; :meth:`gaps_for` runs per system."""

    def __init__(self, controls: ControlCatalogue, atlas: AtlasCatalogue) -> None:
        self._controls = [
            _CompiledControl(
                control=c,
                applies=compile_condition(c.applies_when),
                techniques=addressed_techniques(c, atlas),
                obligations=frozenset(c.refs.eu_ai_act),
                baseline=None if c.baseline is None else c.baseline.rank,
            )
            for c in controls.controls
        ]
        self._countering: dict[str, tuple[int, ...]] = {}
        self._legal_cache: dict[int, tuple[LegalClassification, dt.date, list[_LegalPart]]] = {}
        self._parts_by_obligations: dict[tuple[object, ...], list[_LegalPart]] = {}

    def _controls_countering(self, technique: str) -> tuple[int, ...]:
        found = self._countering.get(technique)
        if found is None:
            found = tuple(i for i, c in enumerate(self._controls) if covers(c.techniques, technique))
            self._countering[technique] = found
        return found

    def gaps_for(
        self, system: AISystem, traits: SystemTraits, risk: RiskProfile, threats: Sequence[ThreatMatch],
        evidence: Sequence[Evidence], as_of: dt.date,
    ) -> list[Gap]:
        # Runs ~64 controls for each of possibly 10,000 systems: severities are compared as integer ranks.
        legal_parts = self._legal_parts(risk.legal, as_of)
        countered_by: dict[int, list[ThreatMatch]] = {}
        for threat in threats:
            for index in self._controls_countering(threat.technique):
                countered_by.setdefault(index, []).append(threat)
        tier = risk.internal.tier
        tier_rank = tier.rank
        baseline_rank = min(tier_rank, _HIGH)
        baseline_reason = f"baseline for {tier.value}-tier systems"
        claims = [e for e in evidence if e.claims]
        out: list[Gap] = []
        for index, compiled in enumerate(self._controls):
            if not compiled.applies(traits):
                continue
            control = compiled.control
            legal_ids, legal_reasons, worst = legal_parts[index]
            countered = countered_by.get(index, ())
            if countered:
                riskiest = max(countered, key=_threat_risk)
                worst = max(worst, _RANK[riskiest.severity])
                reasons = [_counter_text(tuple((t.technique, t.name) for t in countered)), *legal_reasons]
            else:
                reasons = list(legal_reasons)
            if compiled.baseline is not None and tier_rank >= compiled.baseline:
                worst = max(worst, baseline_rank)
                reasons.append(baseline_reason)
            if not reasons:
                continue
            if claims or control.evidence:
                status, evidence_ids, status_reason = _status(control, claims, evidence)
            else:
                status, evidence_ids, status_reason = "missing", [], _NO_EVIDENCE
            if status == "partial":
                worst = max(worst - 1, 0)
            elif status in ("implemented", "not-applicable"):
                worst = 0
            out.append(Gap(
                id=gap_id(system.id, control.id), system=system.id, control=control.id, title=control.title,
                status=status, severity=_BY_RANK[worst], required_by=reasons,
                threats=[t.technique for t in countered], obligations=legal_ids, evidence=evidence_ids,
                status_reason=status_reason,
            ))
        out.sort(key=lambda g: (g.status not in ("missing", "partial"), -_RANK[g.severity], g.control))
        return out

    def _legal_parts(self, legal: LegalClassification, as_of: dt.date) -> list[_LegalPart]:
        """Per control: the obligations that require it, in words, with their severities.

        Legal classifications are shared between systems with the same legal traits, so this is computed
        once per distinct classification.
        """
        cached = self._legal_cache.get(id(legal))
        if cached is not None and cached[0] is legal and cached[1] == as_of:
            return cached[2]
        prohibited = legal.tier == "prohibited"
        # Many classifications (different purposes, roles...) carry the same obligations: share their parts.
        key = (as_of, prohibited, tuple((o.id, o.article, o.title, o.applies_from) for o in legal.obligations))
        parts = self._parts_by_obligations.get(key)
        if parts is None:
            parts = self._parts_by_obligations[key] = self._compute_legal_parts(legal, prohibited, as_of)
        self._legal_cache[id(legal)] = (legal, as_of, parts)
        return parts

    def _compute_legal_parts(
        self, legal: LegalClassification, prohibited: bool, as_of: dt.date
    ) -> list[_LegalPart]:
        obligations = {o.id: o for o in legal.obligations}
        parts: list[_LegalPart] = []
        for compiled in self._controls:
            ids = sorted(compiled.obligations & obligations.keys())
            reasons: list[str] = []
            severities: list[Severity] = []
            for ob_id in ids:
                ob = obligations[ob_id]
                severities.append(_legal_severity(ob.applies_from, as_of))
                when = f", applies from {ob.applies_from.isoformat()}" if ob.applies_from else ""
                reasons.append(f"required by {ob.article} ({ob.title}{when})")
            if prohibited and compiled.control.domain == "governance":
                severities.append(Severity.CRITICAL)
                reasons.append("the system falls under an Art. 5 prohibited practice")
            parts.append((ids, tuple(reasons), max((_RANK[s] for s in severities), default=-1)))
        return parts


_LegalPart = tuple[list[str], tuple[str, ...], int]
"""Per control: the obligation IDs, the reasons in words, and the highest severity's rank (-1: none)."""
_RANK = {s: s.rank for s in Severity}
_BY_RANK = sorted(Severity, key=lambda s: s.rank)
_HIGH = Severity.HIGH.rank
_NO_EVIDENCE = "no attestation or evidence found"


def _threat_risk(threat: ThreatMatch) -> int:
    return threat.likelihood * threat.impact


@lru_cache(maxsize=4096)
def _counter_text(countered: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(f"{technique} {name}" for technique, name in countered[:3])
    more = f" and {len(countered) - 3} more" if len(countered) > 3 else ""
    return f"counters {names}{more}"


def _legal_severity(applies_from: dt.date | None, as_of: dt.date) -> Severity:
    """Obligations in force, or within a year, are high; later ones medium."""
    if applies_from is None or applies_from - as_of <= URGENT_WITHIN:
        return Severity.HIGH
    return Severity.MEDIUM


_STATUS_ORDER: dict[ControlStatus, int] = {"missing": 0, "partial": 1, "implemented": 2, "not-applicable": 3}


def _status(
    control: Control, claims: Sequence[Evidence], evidence: Sequence[Evidence]
) -> tuple[ControlStatus, list[str], str]:
    """Attestations (explicit claims) win over detected evidence; the best detected status counts."""
    claiming = [e for e in claims if control.id in e.claims]
    if claiming:
        # A system-specific claim beats an organisation-wide one.
        claiming.sort(key=lambda e: e.system is None)
        chosen = claiming[0]
        status = chosen.claims[control.id]
        detail = f": {chosen.summary}" if chosen.summary else ""
        return status, [chosen.id], f"{status} according to {chosen.source}{detail}"
    best: ControlStatus = "missing"
    used: list[str] = []
    why = _NO_EVIDENCE
    if not control.evidence:
        return best, used, why
    for item in evidence:
        for rule in control.evidence:
            if _matches(rule, item) and _STATUS_ORDER[rule.status] >= _STATUS_ORDER[best]:
                if _STATUS_ORDER[rule.status] > _STATUS_ORDER[best]:
                    used = []
                best = rule.status
                used.append(item.id)
                why = f"{rule.status}: {rule.description} (seen by {item.source})"
    return best, used, why


def _matches(rule: EvidenceRule, item: Evidence) -> bool:
    if item.kind != rule.kind:
        return False
    return all(_fact_matches(item.facts.get(key), want) for key, want in rule.where.items())


def _fact_matches(have: FactValue | None, want: FactValue) -> bool:
    if isinstance(have, list) and not isinstance(want, list):
        return want in have
    return have == want

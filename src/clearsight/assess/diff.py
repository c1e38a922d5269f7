"""``clearsight diff``: what got better or worse between two assessments, matched by stable IDs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from clearsight.core.assessment import Assessment
from clearsight.core.base import Frozen
from clearsight.core.gap import Gap
from clearsight.core.severity import Severity

ChangeKind = Literal[
    "system-added", "system-removed", "tier-changed", "legal-changed", "gap-opened", "gap-closed",
    "gap-changed", "threat-added", "threat-removed", "threat-changed",
]
_LEGAL_RANK = {"out-of-scope": 0, "minimal": 1, "limited": 2, "high-risk": 3, "prohibited": 4}
_STATUS_RANK = {"missing": 0, "partial": 1, "implemented": 2, "not-applicable": 2}


class Change(Frozen):
    kind: ChangeKind
    system: str
    subject: str
    before: str | None = None
    after: str | None = None
    better: bool
    severity: Severity = Field(Severity.LOW, description="How much the change matters.")


class AssessmentDiff(Frozen):
    old: str
    new: str
    changes: list[Change]

    @property
    def improved(self) -> int:
        return sum(1 for c in self.changes if c.better)

    @property
    def worsened(self) -> int:
        return sum(1 for c in self.changes if not c.better)


def diff_assessments(old: Assessment, new: Assessment) -> AssessmentDiff:
    changes: list[Change] = []
    before = {r.system.id: r for r in old.systems}
    after = {r.system.id: r for r in new.systems}
    for sid in sorted(set(after) - set(before)):
        r = after[sid]
        changes.append(Change(kind="system-added", system=sid, subject=r.system.name,
                              after=r.risk.internal.tier.value, better=False, severity=r.risk.internal.tier))
    for sid in sorted(set(before) - set(after)):
        r = before[sid]
        changes.append(Change(kind="system-removed", system=sid, subject=r.system.name,
                              before=r.risk.internal.tier.value, better=True, severity=r.risk.internal.tier))
    for sid in sorted(set(before) & set(after)):
        a, b = before[sid], after[sid]
        ta, tb = a.risk.internal.tier, b.risk.internal.tier
        if ta != tb:
            changes.append(Change(kind="tier-changed", system=sid, subject="internal risk tier", before=ta.value,
                                  after=tb.value, better=tb < ta, severity=max(ta, tb)))
        la, lb = a.risk.legal.tier, b.risk.legal.tier
        if la != lb:
            changes.append(Change(kind="legal-changed", system=sid, subject="EU AI Act class", before=la, after=lb,
                                  better=_LEGAL_RANK[lb] < _LEGAL_RANK[la], severity=Severity.HIGH))
        changes.extend(_gap_changes(sid, a.gaps, b.gaps))
        old_t = {t.technique: t for t in a.threats}
        new_t = {t.technique: t for t in b.threats}
        for tid in sorted(set(new_t) - set(old_t)):
            changes.append(Change(kind="threat-added", system=sid, subject=f"{tid} {new_t[tid].name}",
                                  after=new_t[tid].severity.value, better=False, severity=new_t[tid].severity))
        for tid in sorted(set(old_t) - set(new_t)):
            changes.append(Change(kind="threat-removed", system=sid, subject=f"{tid} {old_t[tid].name}",
                                  before=old_t[tid].severity.value, better=True, severity=old_t[tid].severity))
        for tid in sorted(set(old_t) & set(new_t)):
            ta_, tb_ = old_t[tid], new_t[tid]
            before_score, after_score = ta_.likelihood * ta_.impact, tb_.likelihood * tb_.impact
            if before_score != after_score:
                changes.append(Change(
                    kind="threat-changed", system=sid, subject=f"{tid} {tb_.name}",
                    before=f"{ta_.severity.value} ({ta_.likelihood}x{ta_.impact})",
                    after=f"{tb_.severity.value} ({tb_.likelihood}x{tb_.impact})",
                    better=after_score < before_score, severity=max(ta_.severity, tb_.severity),
                ))
    changes.sort(key=lambda c: (c.better, -c.severity.rank, c.system, c.kind, c.subject))
    return AssessmentDiff(old=old.generated_at.isoformat(), new=new.generated_at.isoformat(), changes=changes)


def _gap_changes(system: str, old: Sequence[Gap], new: Sequence[Gap]) -> list[Change]:
    out: list[Change] = []
    a = {g.control: g for g in old}
    b = {g.control: g for g in new}
    for cid in sorted(set(a) | set(b)):
        ga, gb = a.get(cid), b.get(cid)
        title = gb.title if gb is not None else (ga.title if ga is not None else cid)
        label = f"{cid} {title}"
        if gb is not None and gb.is_open and (ga is None or not ga.is_open):
            out.append(Change(kind="gap-opened", system=system, subject=label,
                              before=ga.status if ga else "not required", after=gb.status, better=False,
                              severity=gb.severity))
        elif ga is not None and ga.is_open and (gb is None or not gb.is_open):
            out.append(Change(kind="gap-closed", system=system, subject=label, before=ga.status,
                              after=gb.status if gb else "not required", better=True, severity=ga.severity))
        elif (ga is not None and gb is not None and ga.is_open and gb.is_open
              and (ga.status != gb.status or ga.severity != gb.severity)):
            worse = (_STATUS_RANK[gb.status], -gb.severity.rank) < (_STATUS_RANK[ga.status], -ga.severity.rank)
            out.append(Change(kind="gap-changed", system=system, subject=label,
                              before=f"{ga.status}/{ga.severity.value}", after=f"{gb.status}/{gb.severity.value}",
                              better=not worse, severity=max(ga.severity, gb.severity)))
    return out

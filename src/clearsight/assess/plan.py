"""Step 4: turn open gaps into a phased action plan the team can actually carry out.

One action per control, covering every system that lacks it. A gap's severity sets the earliest phase it is
due in — critical in months 1-2, high in 3-4, medium in 5-6, low to the backlog — and prerequisites inherit
the phase of what needs them. Each phase is then filled greedily by *marginal risk reduction*: the first
control against an open threat earns that threat's full weight, further controls against the same threat
(defence in depth) earn a quarter, so phase 1 spreads over the biggest risks instead of stacking five
controls on one of them. Work that does not fit the team's capacity moves to the next phase, with a note.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from clearsight.core.control import Control
from clearsight.core.gap import Gap
from clearsight.core.ids import action_id
from clearsight.core.plan import Action, Phase, PhaseNumber, Plan
from clearsight.core.severity import Severity

PHASES: tuple[tuple[PhaseNumber, str, str], ...] = (
    (1, "Critical", "1-2"),
    (2, "High", "3-4"),
    (3, "Medium", "5-6"),
)
WEEKS_PER_PHASE = 8
KEY_CONTROLS = 5
DEPTH_CREDIT = 0.25
_TARGET = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3}
_WEIGHT = {Severity.CRITICAL: 8.0, Severity.HIGH: 4.0, Severity.MEDIUM: 2.0, Severity.LOW: 1.0}

ThreatKey = tuple[str, str]


@dataclass
class _Draft:
    control: Control
    gaps: list[Gap]
    severity: Severity
    target: int | None
    deps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phase: int | None = None
    start_week: int | None = None
    end_week: int | None = None
    picked: int | None = None
    chosen: bool = False

    @property
    def id(self) -> str:
        return action_id(self.control.id)

    @cached_property
    def systems(self) -> list[str]:
        return sorted({g.system for g in self.gaps})

    @cached_property
    def effort(self) -> float:
        effort = self.control.effort
        return round(effort.base_days + effort.per_system_days * (len(self.systems) - 1), 1)


def _within(technique: str, techniques: frozenset[str]) -> bool:
    return technique in techniques or (technique.count(".") == 2 and technique.rsplit(".", 1)[0] in techniques)


def build_plan(
    gaps: Sequence[Gap],
    controls: Mapping[str, Control],
    capacity_days: Sequence[float],
    threat_severity: Mapping[ThreatKey, Severity] | None = None,
) -> Plan:
    """Plan every open gap. ``threat_severity`` rates (system, technique) pairs; gaps rate them otherwise."""
    drafts = _drafts(gaps, controls)
    order = _topological(drafts)
    _pull_prerequisites_forward(drafts, order)
    covered: Counter[ThreatKey] = Counter(
        (g.system, t) for g in gaps if g.status == "implemented" and g.control in controls
        for t in g.threats if _within(t, controls[g.control].primary())
    )
    _schedule(drafts, capacity_days, covered, threat_severity or {})
    first = sorted((d for d in drafts.values() if d.phase == 1 and d.chosen), key=lambda d: d.picked or 0)
    key = {d.id for d in first[:KEY_CONTROLS]}
    actions = [
        Action(
            id=d.id, control=d.control.id, title=d.control.title, severity=d.severity,
            phase=_phase_number(d.phase), systems=d.systems, gaps=sorted(g.id for g in d.gaps),
            effort_days=d.effort, effort_drivers=d.control.effort.drivers, depends_on=d.deps,
            key=d.id in key, start_week=d.start_week, end_week=d.end_week,
            note="; ".join(d.notes) or None,
        )
        for d in sorted(drafts.values(), key=_display_order)
    ]
    phases = [
        Phase(
            number=number, name=name, months=months, capacity_days=float(capacity_days[number - 1]),
            planned_days=round(sum(a.effort_days for a in actions if a.phase == number), 1),
            actions=[a.id for a in actions if a.phase == number],
        )
        for number, name, months in PHASES
    ]
    return Plan(
        phases=phases, actions=actions, backlog=[a.id for a in actions if a.phase is None],
        key_controls=[d.id for d in first[:KEY_CONTROLS]],
        total_effort_days=round(sum(a.effort_days for a in actions), 1),
    )


def _drafts(gaps: Sequence[Gap], controls: Mapping[str, Control]) -> dict[str, _Draft]:
    drafts: dict[str, _Draft] = {}
    for gap in gaps:
        if not gap.is_open:
            continue
        draft = drafts.get(gap.control)
        if draft is None:
            draft = drafts[gap.control] = _Draft(
                control=controls[gap.control], gaps=[], severity=gap.severity, target=None,
            )
        draft.gaps.append(gap)
        draft.severity = max(draft.severity, gap.severity)
    for draft in drafts.values():
        draft.target = _TARGET.get(draft.severity)
        draft.deps = [action_id(d) for d in draft.control.depends_on if d in drafts]
    return drafts


def _topological(drafts: dict[str, _Draft]) -> list[str]:
    """Controls ordered so that prerequisites come first (the catalogue is acyclic; tests prove it)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(control_id: str) -> None:
        if state.get(control_id) == 2:
            return
        if state.get(control_id) == 1:
            raise ValueError(f"dependency cycle through {control_id}")
        state[control_id] = 1
        for dep in sorted(drafts[control_id].control.depends_on):
            if dep in drafts:
                visit(dep)
        state[control_id] = 2
        order.append(control_id)

    for control_id in sorted(drafts, key=lambda c: _priority(drafts[c])):
        visit(control_id)
    return order


def _pull_prerequisites_forward(drafts: dict[str, _Draft], order: list[str]) -> None:
    for control_id in reversed(order):
        draft = drafts[control_id]
        for dep in draft.control.depends_on:
            prereq = drafts.get(dep)
            if prereq is None or draft.target is None:
                continue
            if prereq.target is None or prereq.target > draft.target:
                prereq.target = draft.target
                prereq.notes.append(f"brought forward: {draft.control.id} depends on it")


def _schedule(
    drafts: dict[str, _Draft], capacity: Sequence[float], covered: Counter[ThreatKey],
    severity: Mapping[ThreatKey, Severity],
) -> None:
    values = _Values(drafts, covered, severity)
    used = [0.0, 0.0, 0.0]
    unplaced = {c for c, d in drafts.items() if d.target is not None}
    picks = 0
    for phase in (1, 2, 3):
        too_big: set[str] = set()
        while True:
            eligible = [drafts[c] for c in unplaced if (drafts[c].target or 9) <= phase and c not in too_big]
            if not eligible:
                break
            best = max(eligible, key=lambda d: (values.of(d.control.id), -d.effort, d.control.id))
            bundle = _with_prerequisites(best, drafts, unplaced)
            cost = sum(d.effort for d in bundle)
            if used[phase - 1] + cost > capacity[phase - 1] + 1e-9:
                too_big.add(best.control.id)
                continue
            for draft in bundle:
                picks += 1
                _place(draft, phase, used, capacity, picks)
                unplaced.discard(draft.control.id)
                values.placed(draft.control.id)
                if draft is not best:
                    draft.notes.append(f"prerequisite of {best.control.id}")
            best.chosen = True
    for control_id in sorted(unplaced):
        draft = drafts[control_id]
        if draft.effort > max(capacity):
            draft.notes.append(
                f"needs {draft.effort:g} person-days, more than a phase's capacity: split it or add people"
            )
        else:
            draft.notes.append("no capacity left in phases 1-3")
    for draft in drafts.values():
        if draft.target is None:
            draft.notes.append("low severity: kept in the backlog")


class _Values:
    """Marginal risk reduction of every action, updated incrementally as actions are placed.

    Every open gap is worth half its severity weight; each threat the control is a first line of defence
    against adds its full weight while nothing placed covers it, and a quarter (shared) after that. Placing
    an action only changes the values of actions that share one of its threats, so only those are touched.
    """

    def __init__(self, drafts: dict[str, _Draft], covered: Counter[ThreatKey],
                 severity: Mapping[ThreatKey, Severity]) -> None:
        self._covered = covered
        self._value: dict[str, float] = {}
        self._sharing: dict[ThreatKey, list[tuple[str, float]]] = {}
        self._keys: dict[str, list[ThreatKey]] = {}
        for control_id, draft in drafts.items():
            primary = draft.control.primary()
            value = 0.0
            keys: list[ThreatKey] = []
            for gap in draft.gaps:
                value += 0.5 * _WEIGHT[gap.severity]
                for technique in gap.threats:
                    if not _within(technique, primary):
                        continue
                    key = (gap.system, technique)
                    weight = _WEIGHT[severity.get(key, gap.severity)]
                    value += _credit(weight, covered[key])
                    self._sharing.setdefault(key, []).append((control_id, weight))
                    keys.append(key)
            self._value[control_id] = value
            self._keys[control_id] = keys

    def of(self, control_id: str) -> float:
        return self._value[control_id]

    def placed(self, control_id: str) -> None:
        for key in self._keys[control_id]:
            before = self._covered[key]
            self._covered[key] = before + 1
            for other, weight in self._sharing[key]:
                self._value[other] += _credit(weight, before + 1) - _credit(weight, before)


def _credit(weight: float, covered: int) -> float:
    return weight if covered == 0 else weight * DEPTH_CREDIT / covered


def _with_prerequisites(draft: _Draft, drafts: dict[str, _Draft], unplaced: set[str]) -> list[_Draft]:
    """The action plus every unplaced prerequisite, prerequisites first."""
    out: list[_Draft] = []
    seen: set[str] = set()

    def visit(d: _Draft) -> None:
        for dep in sorted(d.control.depends_on):
            if dep in unplaced and dep not in seen:
                seen.add(dep)
                visit(drafts[dep])
        out.append(d)

    visit(draft)
    return out


def _place(draft: _Draft, phase: int, used: list[float], capacity: Sequence[float], pick: int) -> None:
    effort = draft.effort
    weekly = max(capacity[phase - 1], 1e-9) / WEEKS_PER_PHASE
    first_week = (phase - 1) * WEEKS_PER_PHASE + 1
    draft.phase = phase
    draft.picked = pick
    draft.start_week = first_week + min(WEEKS_PER_PHASE - 1, math.floor(used[phase - 1] / weekly))
    draft.end_week = first_week + min(
        WEEKS_PER_PHASE - 1, max(0, math.ceil((used[phase - 1] + effort) / weekly - 1e-9) - 1)
    )
    used[phase - 1] += effort
    if draft.target is not None and phase > draft.target:
        draft.notes.append(f"moved from phase {draft.target} to {phase}: team capacity was used up")


def _priority(draft: _Draft) -> tuple[int, str]:
    return (-draft.severity.rank, draft.control.id)


def _phase_number(phase: int | None) -> PhaseNumber | None:
    if phase == 1:
        return 1
    if phase == 2:
        return 2
    if phase == 3:
        return 3
    return None


def _display_order(draft: _Draft) -> tuple[int, int, str]:
    return (draft.phase or 9, draft.picked or 0, draft.control.id)

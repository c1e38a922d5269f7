"""Step 4: turn open gaps into a phased action plan the team can actually carry out.

One action per control (covering every system that lacks it). Severity picks the target phase — critical
in months 1–2, high in 3–4, medium in 5–6, low to the backlog; prerequisites are pulled forward to the phase
of what needs them; then phases are filled in priority order up to the team's capacity, and what does not
fit moves to the next phase with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

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
_TARGET = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3}
_WEIGHT = {Severity.CRITICAL: 8, Severity.HIGH: 4, Severity.MEDIUM: 2, Severity.LOW: 1}


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

    @property
    def id(self) -> str:
        return action_id(self.control.id)

    @property
    def systems(self) -> list[str]:
        return sorted({g.system for g in self.gaps})

    @property
    def effort(self) -> float:
        effort = self.control.effort
        return round(effort.base_days + effort.per_system_days * (len(self.systems) - 1), 1)

    @property
    def reduction(self) -> int:
        return sum(_WEIGHT[g.severity] for g in self.gaps)


def build_plan(gaps: Sequence[Gap], controls: dict[str, Control], capacity_days: Sequence[float]) -> Plan:
    drafts = _drafts(gaps, controls)
    order = _topological(drafts)
    _pull_prerequisites_forward(drafts, order)
    _schedule(drafts, order, capacity_days)
    key = _key_controls(drafts)
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
        key_controls=[a.id for a in actions if a.key],
        total_effort_days=round(sum(a.effort_days for a in actions), 1),
    )


def _drafts(gaps: Sequence[Gap], controls: dict[str, Control]) -> dict[str, _Draft]:
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


def _schedule(drafts: dict[str, _Draft], order: list[str], capacity: Sequence[float]) -> None:
    used = [0.0, 0.0, 0.0]
    rank = {c: i for i, c in enumerate(order)}
    queue = sorted(
        (d for d in drafts.values() if d.target is not None),
        key=lambda d: (d.target or 9, _priority(d), rank[d.control.id]),
    )
    # Prerequisites must be placed before their dependants even when they rank lower.
    placed: set[str] = set()
    pending = list(queue)
    while pending:
        progress = False
        for draft in list(pending):
            deps = [drafts[d] for d in draft.control.depends_on if d in drafts and drafts[d].target is not None]
            if any(d.control.id not in placed for d in deps):
                continue
            earliest = max([draft.target or 1] + [(d.phase or 4) for d in deps])
            _place(draft, earliest, used, capacity)
            placed.add(draft.control.id)
            pending.remove(draft)
            progress = True
        if not progress:  # pragma: no cover - impossible with an acyclic catalogue
            raise ValueError("unschedulable dependencies")
    for draft in drafts.values():
        if draft.target is None:
            draft.notes.append("low severity: kept in the backlog")


def _place(draft: _Draft, earliest: int, used: list[float], capacity: Sequence[float]) -> None:
    effort = draft.effort
    for phase in range(earliest, 4):
        room = capacity[phase - 1] - used[phase - 1]
        if effort <= room + 1e-9:
            weekly = capacity[phase - 1] / WEEKS_PER_PHASE
            first_week = (phase - 1) * WEEKS_PER_PHASE + 1
            draft.phase = phase
            draft.start_week = first_week + min(WEEKS_PER_PHASE - 1, math.floor(used[phase - 1] / weekly))
            draft.end_week = first_week + min(
                WEEKS_PER_PHASE - 1, max(0, math.ceil((used[phase - 1] + effort) / weekly) - 1)
            )
            used[phase - 1] += effort
            if phase != draft.target:
                draft.notes.append(
                    f"moved from phase {draft.target} to {phase}: "
                    + ("its prerequisites land there" if phase == earliest else "team capacity was used up")
                )
            return
    draft.phase = None
    if effort > max(capacity):
        draft.notes.append(f"needs {effort} person-days, more than a phase's capacity: split it or add people")
    else:
        draft.notes.append("no capacity left in phases 1-3")


def _priority(draft: _Draft) -> tuple[int, int, str]:
    return (-draft.severity.rank, -draft.reduction, draft.control.id)


def _key_controls(drafts: dict[str, _Draft]) -> set[str]:
    first = sorted((d for d in drafts.values() if d.phase == 1), key=_priority)
    return {d.id for d in first[:KEY_CONTROLS]}


def _phase_number(phase: int | None) -> PhaseNumber | None:
    if phase == 1:
        return 1
    if phase == 2:
        return 2
    if phase == 3:
        return 3
    return None


def _display_order(draft: _Draft) -> tuple[int, int, str]:
    return (draft.phase or 9, draft.start_week or 0, draft.control.id)

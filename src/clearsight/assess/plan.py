"""Step 4: turn open gaps into a phased action plan the team can actually carry out.

An action puts one control in place for a group of systems: the systems whose gap has the same severity
(so critical systems are not held back by the long tail), split further when the group would not fit one
phase's capacity. A gap's severity sets the earliest phase it is due in — critical in months 1-2, high in
3-4, medium in 5-6, low to the backlog.

Each phase is then filled greedily by *marginal risk reduction*: the first control against an open threat
earns the threat's full weight, further controls against the same threat (defence in depth) a quarter, so
phase 1 spreads over the biggest risks instead of stacking five controls on one of them. Prerequisites are
placed together with the action that needs them, never merely because something might need them later.
Work that does not fit moves to the next phase, with a note saying so.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from clearsight.core.atlas_ids import covers
from clearsight.core.control import Control
from clearsight.core.gap import OPEN_STATUSES, Gap
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
    id: str
    control: Control
    gaps: list[Gap]
    systems: list[str]  # sorted
    severity: Severity
    deps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phase: int | None = None
    start_week: int | None = None
    end_week: int | None = None
    picked: int | None = None
    chosen: bool = False

    @property
    def target(self) -> int | None:
        return _TARGET.get(self.severity)

    @cached_property
    def effort(self) -> float:
        return _effort(self.control, len(self.systems))


def _effort(control: Control, systems: int) -> float:
    return round(control.effort.base_days + control.effort.per_system_days * (systems - 1), 1)


def build_plan(
    gaps: Sequence[Gap],
    controls: Mapping[str, Control],
    capacity_days: Sequence[float],
    threat_severity: Mapping[ThreatKey, Severity] | None = None,
) -> Plan:
    """Plan every open gap. ``threat_severity`` rates (system, technique) pairs; gaps rate them otherwise."""
    drafts = _drafts(gaps, controls, max(capacity_days))
    primary = {cid: control.primary() for cid, control in controls.items()}
    covered: Counter[ThreatKey] = Counter(
        (g.system, t) for g in gaps if g.status == "implemented" and g.threats and g.control in primary
        for t in g.threats if covers(primary[g.control], t)
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


def _drafts(gaps: Sequence[Gap], controls: Mapping[str, Control], phase_capacity: float) -> dict[str, _Draft]:
    """One action per control and severity band, in batches that fit a phase."""
    bands: dict[tuple[str, Severity], list[Gap]] = {}
    for gap in gaps:
        if gap.status in OPEN_STATUSES:
            key = (gap.control, gap.severity)
            band = bands.get(key)
            if band is None:
                bands[key] = [gap]
            else:
                band.append(gap)
    drafts: dict[str, _Draft] = {}
    for (control_id, severity), band in sorted(bands.items(), key=lambda kv: (kv[0][0], -kv[0][1].rank)):
        control = controls[control_id]
        for number, (systems, batch) in enumerate(_batches(band, control, phase_capacity), start=1):
            suffix = f":{number}" if number > 1 else ""
            draft_id = action_id(f"{control_id}:{severity.value}") + suffix
            drafts[draft_id] = _Draft(id=draft_id, control=control, gaps=batch, systems=systems, severity=severity)
    prerequisites = {dep for d in drafts.values() for dep in d.control.depends_on}
    by_system_control: dict[tuple[str, str], str] = {
        (system, d.control.id): d.id for d in drafts.values() if d.control.id in prerequisites for system in d.systems
    }
    for draft in drafts.values():
        deps = {
            by_system_control[(system, dep)]
            for dep in draft.control.depends_on for system in draft.systems
            if (system, dep) in by_system_control
        }
        draft.deps = sorted(deps)
    return drafts


def _batches(band: list[Gap], control: Control, phase_capacity: float) -> list[tuple[list[str], list[Gap]]]:
    """Split a band's systems so that each batch's effort fits one phase (at least one system each).

    Each batch comes with its systems, sorted.
    """
    systems = sorted({g.system for g in band})
    if _effort(control, len(systems)) <= phase_capacity or len(systems) == 1:
        return [(systems, band)]
    per = max(1, int((phase_capacity - control.effort.base_days) // max(control.effort.per_system_days, 1e-9)) + 1)
    chunk_of = {system: i // per for i, system in enumerate(systems)}
    batches: list[list[Gap]] = [[] for _ in range((len(systems) + per - 1) // per)]
    for gap in band:
        batches[chunk_of[gap.system]].append(gap)
    return [(systems[i * per:(i + 1) * per], batch) for i, batch in enumerate(batches)]


def _schedule(
    drafts: dict[str, _Draft], capacity: Sequence[float], covered: Counter[ThreatKey],
    severity: Mapping[ThreatKey, Severity],
) -> None:
    values = _Values(drafts, covered, severity)
    used = [0.0, 0.0, 0.0]
    unplaced = {d.id for d in drafts.values() if d.target is not None}
    picks = 0
    for phase in (1, 2, 3):
        # A lazy max-heap of (value, cheaper first, id): entries go stale when a placement changes an
        # action's value, and a fresh entry is pushed for it; stale ones are skipped when popped.
        heap = [values.entry(drafts[i]) for i in unplaced if (drafts[i].target or 9) <= phase]
        heapq.heapify(heap)
        while heap:
            _neg_value, _effort, draft_id, version = heapq.heappop(heap)
            if draft_id not in unplaced or version != values.version(draft_id):
                continue
            best = drafts[draft_id]
            bundle = _with_prerequisites(best, drafts, unplaced)
            if used[phase - 1] + sum(d.effort for d in bundle) > capacity[phase - 1] + 1e-9:
                continue  # does not fit this phase; the next phase tries it again
            changed: set[str] = set()
            for draft in bundle:
                picks += 1
                _place(draft, phase, used, capacity, picks)
                unplaced.discard(draft.id)
                changed |= values.placed(draft.id)
                if draft is not best:
                    draft.notes.append(f"prerequisite of {best.id}")
            best.chosen = True
            for other in changed & unplaced:
                if (drafts[other].target or 9) <= phase:
                    heapq.heappush(heap, values.entry(drafts[other]))
    for draft_id in sorted(unplaced):
        draft = drafts[draft_id]
        if draft.effort > max(capacity):
            draft.notes.append(
                f"needs {draft.effort:g} person-days, more than a phase's capacity: split it or add people"
            )
        else:
            draft.notes.append("no capacity left in phases 1-3")
    for draft in drafts.values():
        if draft.target is None and draft.phase is None:
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
        self._version: dict[str, int] = {}
        primaries: dict[str, frozenset[str]] = {}
        for draft_id, draft in drafts.items():
            control_id = draft.control.id
            if control_id not in primaries:
                primaries[control_id] = draft.control.primary()
            primary = primaries[control_id]
            counts: dict[str, bool] = {}
            value = 0.0
            keys: list[ThreatKey] = []
            half = 0.5 * _WEIGHT[draft.severity]  # a draft's gaps all have its severity
            for gap in draft.gaps:
                value += half
                for technique in gap.threats:
                    ok = counts.get(technique)
                    if ok is None:
                        ok = counts[technique] = covers(primary, technique)
                    if not ok:
                        continue
                    key = (gap.system, technique)
                    weight = _WEIGHT[severity.get(key, gap.severity)]
                    already = covered.get(key, 0)
                    value += weight if already == 0 else weight * DEPTH_CREDIT / already  # _credit, inlined
                    sharing = self._sharing.get(key)
                    if sharing is None:
                        self._sharing[key] = [(draft_id, weight)]
                    else:
                        sharing.append((draft_id, weight))
                    keys.append(key)
            self._value[draft_id] = value
            self._keys[draft_id] = keys

    def entry(self, draft: _Draft) -> tuple[float, float, str, int]:
        return (-self._value[draft.id], draft.effort, draft.id, self._version.get(draft.id, 0))

    def version(self, draft_id: str) -> int:
        return self._version.get(draft_id, 0)

    def placed(self, draft_id: str) -> set[str]:
        """Record a placement; returns the actions whose value changed."""
        changed: set[str] = set()
        for key in self._keys[draft_id]:
            before = self._covered[key]
            self._covered[key] = before + 1
            for other, weight in self._sharing[key]:
                self._value[other] += _credit(weight, before + 1) - _credit(weight, before)
                changed.add(other)
        for other in changed:
            self._version[other] = self._version.get(other, 0) + 1
        return changed


def _credit(weight: float, covered: int) -> float:
    return weight if covered == 0 else weight * DEPTH_CREDIT / covered


def _with_prerequisites(draft: _Draft, drafts: dict[str, _Draft], unplaced: set[str]) -> list[_Draft]:
    """The action plus every unplaced prerequisite (for the same systems), prerequisites first."""
    out: list[_Draft] = []
    seen: set[str] = set()

    def visit(d: _Draft, path: tuple[str, ...]) -> None:
        for dep in d.deps:
            if dep in path:
                raise ValueError(f"dependency cycle through {dep}")
            if dep not in seen and (dep in unplaced or drafts[dep].phase is None):
                seen.add(dep)
                visit(drafts[dep], (*path, dep))
                out.append(drafts[dep])

    visit(draft, (draft.id,))
    out.append(draft)
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
    elif draft.target is None or phase < draft.target:
        draft.notes.append(f"brought into phase {phase} as a prerequisite")


def _phase_number(phase: int | None) -> PhaseNumber | None:
    if phase == 1:
        return 1
    if phase == 2:
        return 2
    if phase == 3:
        return 3
    return None


def _display_order(draft: _Draft) -> tuple[int, int, str]:
    return (draft.phase or 9, draft.picked or 0, draft.id)

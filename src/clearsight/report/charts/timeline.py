"""Where each planned action sits in weeks: the timeline both the Gantt chart and the plan tables show.

The plan gives phases and effort, not dates; this module turns them into week spans once, so the chart
and the "Weeks" column of the HTML report cannot disagree.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from clearsight.core.plan import Action, Plan

PHASE_WEEKS = 8


class Bar(NamedTuple):
    """Where an action sits on the plan's timeline, in weeks from the start (end exclusive)."""

    start: float
    end: float


def schedule(plan: Plan) -> dict[str, Bar]:
    """Weeks for every planned action: its own ``start_week``/``end_week`` when set, else laid out in order.

    Unscheduled actions of a phase run one after the other (after their dependencies) at the team's weekly
    capacity, stretched or squeezed so the phase's actions fill its eight weeks at most.
    """
    bars: dict[str, Bar] = {}
    for number in (1, 2, 3):
        actions = [a for a in plan.actions if a.phase == number]
        base = (number - 1) * PHASE_WEEKS
        phase = next((p for p in plan.phases if p.number == number), None)
        unscheduled = [a for a in actions if a.start_week is None or a.end_week is None]
        effort = sum(max(a.effort_days, 0.0) for a in unscheduled)
        capacity = max(phase.capacity_days if phase else 0.0, effort, 1e-9)
        per_week = capacity / PHASE_WEEKS
        for action in actions:
            if action.start_week is not None and action.end_week is not None:
                first = max(0, action.start_week - 1)
                bars[action.id] = Bar(float(first), float(max(first + 1, action.end_week)))
        cursor = float(base)
        for action in _dependency_order(unscheduled):
            deps = [bars[d].end for d in action.depends_on if d in bars]
            start = max([cursor, *deps])
            end = min(start + max(action.effort_days, 0.0) / per_week, float(base + PHASE_WEEKS))
            start = min(start, end)
            bars[action.id] = Bar(start, end)
            cursor = end
    return bars


def _dependency_order(actions: list[Action]) -> list[Action]:
    """Plan order, except that an action comes after the actions (of the same list) it depends on."""
    ids = {a.id for a in actions}
    done: set[str] = set()
    out: list[Action] = []
    pending = list(actions)
    while pending:
        ready = next((a for a in pending if all(d in done or d not in ids for d in a.depends_on)), pending[0])
        pending.remove(ready)
        done.add(ready.id)
        out.append(ready)
    return out


def week_span(bar: Bar) -> str:
    """Human form of a bar's weeks, e.g. ``3–5``."""
    first = math.floor(bar.start) + 1
    last = max(first, math.ceil(bar.end))
    return f"{first}–{last}" if last != first else str(first)

"""The action-plan section: key controls, the Gantt timeline, then each phase and the backlog as tables.

The weeks in the tables come from the same :func:`clearsight.report.charts.schedule` as the Gantt bars,
so the table and the chart always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clearsight.core.plan import Action, Phase
from clearsight.report import charts
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import data_table, esc, fmt_days, name_list, pct, plural, sev_badge


def plan_section(ctx: ReportContext) -> str:
    plan = ctx.assessment.plan
    parts = ['<section id="plan"><h2>Action plan</h2>']
    if not plan.actions:
        parts.append('<div class="card"><p class="muted">No actions: there is no open gap to close.</p></div>'
                     "</section>")
        return "".join(parts)
    key_titles = [x for x in plan.actions if x.key or x.control in plan.key_controls]
    if key_titles:
        chips = "".join(f'<span class="chip">★ {esc(x.control)} {esc(x.title)}</span>' for x in key_titles)
        parts.append(f'<div class="card"><h3>Key controls of phase 1</h3><div class="chips">{chips}</div>'
                     "</div>")
    gantt = charts.gantt_svg(plan)
    parts.append(f'<div class="card"><h3>Timeline</h3><div class="scroll gantt">{gantt}</div></div>')
    bars = charts.schedule(plan)
    by_id = {x.id: x for x in plan.actions}
    for phase in sorted(plan.phases, key=lambda p: p.number):
        actions = [x for x in plan.actions if x.phase == phase.number]
        parts.append(_phase_card(ctx, phase, actions, bars, by_id))
    backlog = [x for x in plan.actions if x.phase is None]
    if backlog:
        parts.append(f'<div class="card"><h3>Backlog ({plural(len(backlog), "action")}, '
                     f"{fmt_days(sum(x.effort_days for x in backlog))} person-days)</h3>"
                     f"{_action_table(ctx, backlog, bars, by_id, plan.key_controls)}</div>")
    parts.append("</section>")
    return "".join(parts)


def _phase_card(ctx: ReportContext, phase: Phase, actions: list[Action], bars: Mapping[str, charts.Bar],
                by_id: Mapping[str, Action]) -> str:
    use = pct(phase.planned_days, phase.capacity_days)
    over = phase.planned_days > phase.capacity_days
    meter = (f'<div class="capacity"><span>{fmt_days(phase.planned_days)} of {fmt_days(phase.capacity_days)} '
             f"person-days planned ({use}% of capacity)</span><div class=\"meter{' over' if over else ''}\">"
             f'<span style="width:{min(100, use)}%"></span></div></div>')
    months = phase.months if phase.months.lower().startswith("month") else f"months {phase.months}"
    table = (_action_table(ctx, actions, bars, by_id, ctx.assessment.plan.key_controls) if actions
             else '<p class="muted">No actions in this phase.</p>')
    return (f'<div class="card phase p{phase.number}" data-phase="{phase.number}"><h3>Phase {phase.number}: '
            f'{esc(phase.name)} <span class="muted">{esc(months)}</span></h3>{meter}{table}</div>')


def _action_table(ctx: ReportContext, actions: Sequence[Action], bars: Mapping[str, charts.Bar],
                  by_id: Mapping[str, Action], key_controls: Sequence[str]) -> str:
    rows = []
    for x in actions:
        key = x.key or x.control in key_controls
        bar = bars.get(x.id)
        systems = name_list([ctx.names.get(s, s) for s in x.systems], limit=12)
        deps = ", ".join(by_id[d].control if d in by_id else d for d in x.depends_on) or "—"
        notes = esc(x.effort_drivers) + (f'<div class="small">{esc(x.note)}</div>' if x.note else "")
        rows.append(
            f'<tr class="{"key" if key else ""}" data-action="{esc(x.id)}"><td>{"★" if key else ""}</td>'
            f"<td><code>{esc(x.control)}</code> {esc(x.title)}</td><td>{sev_badge(x.severity)}</td>"
            f'<td class="num" title="{esc(systems)}">{len(x.systems):,}</td>'
            f'<td class="num">{fmt_days(x.effort_days)}</td>'
            f"<td>{esc(charts.week_span(bar)) if bar else '—'}</td><td>{esc(deps)}</td><td>{notes}</td></tr>"
        )
    headers = ["★", "Action", "Severity", "#Systems", "#Effort (pd)", "Weeks", "After", "Effort drivers"]
    return data_table(headers, "".join(rows), cls="actions")

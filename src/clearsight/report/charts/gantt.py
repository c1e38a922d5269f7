"""The action plan as a Gantt chart: weeks 1-24 in three phase bands, with the backlog listed below."""

from __future__ import annotations

from collections.abc import Mapping

from clearsight.core.plan import Plan
from clearsight.report.charts.svg import (
    GRID,
    INK,
    MUTED,
    SEVERITY_COLOURS,
    SEVERITY_TINTS,
    cut,
    esc,
    num,
    svg_document,
    text,
)
from clearsight.report.charts.timeline import PHASE_WEEKS, schedule, week_span

PHASE_LABELS: Mapping[int, str] = {
    1: "Critical (months 1–2)", 2: "High (months 3–4)", 3: "Medium (months 5–6)",
}
PHASE_SEVERITY: Mapping[int, str] = {1: "critical", 2: "high", 3: "medium"}


def gantt_svg(plan: Plan) -> str:
    """Weeks 1-24 in three phase bands, one bar per planned action, key controls starred, backlog below."""
    bars = schedule(plan)
    planned = sorted((a for a in plan.actions if a.phase is not None and a.id in bars),
                     key=lambda a: (a.phase or 0, bars[a.id].start, bars[a.id].end, a.id))
    backlog_ids = set(plan.backlog)
    backlog = [a for a in plan.actions if a.phase is None or (a.id in backlog_ids and a.id not in bars)]
    key_controls = set(plan.key_controls)

    label_w, week_w, row_h, top = 340.0, 34.0, 24.0, 48.0
    weeks = 3 * PHASE_WEEKS
    chart_w = weeks * week_w
    width = label_w + chart_w + 12
    rows_h = max(1, len(planned)) * row_h
    backlog_lines = min(len(backlog), 15) + (1 if len(backlog) > 15 else 0)
    backlog_h = (30 + backlog_lines * 17) if backlog else 0
    height = top + rows_h + 14 + backlog_h + 6
    body: list[str] = []

    for number in (1, 2, 3):
        x = label_w + (number - 1) * PHASE_WEEKS * week_w
        sev = PHASE_SEVERITY[number]
        body.append(f'<g class="phase" data-phase="{number}"><rect x="{num(x)}" y="0" '
                    f'width="{num(PHASE_WEEKS * week_w)}" height="{num(top + rows_h)}" '
                    f'fill="{SEVERITY_TINTS[sev]}" fill-opacity="0.45"/>'
                    + text(x + 8, 17, PHASE_LABELS[number], size=12, weight="700",
                            fill=SEVERITY_COLOURS[sev]) + "</g>")
    for week in range(weeks + 1):
        x = label_w + week * week_w
        strong = week % PHASE_WEEKS == 0
        body.append(f'<line x1="{num(x)}" y1="{num(26 if strong else 30)}" x2="{num(x)}" '
                    f'y2="{num(top + rows_h)}" stroke="{"#9fb3c8" if strong else GRID}" '
                    f'stroke-width="{1.2 if strong else 0.6}"/>')
        if week < weeks:
            body.append(text(x + week_w / 2, 40, str(week + 1), size=10, anchor="middle", fill=MUTED))
    body.append(text(label_w - 10, 40, "Week", size=10, anchor="end", fill=MUTED))

    if not planned:
        body.append(text(label_w + chart_w / 2, top + 16, "No actions planned", size=12, anchor="middle",
                          fill=MUTED))
    for index, action in enumerate(planned):
        y = top + index * row_h
        bar = bars[action.id]
        sev = action.severity.value
        key = action.key or action.control in key_controls
        if index % 2:
            body.append(f'<rect x="0" y="{num(y)}" width="{num(label_w)}" height="{num(row_h)}" '
                        'fill="#f5f7fa"/>')
        label = ("★ " if key else "") + f"{action.control} {action.title}"
        x0 = label_w + bar.start * week_w
        bw = max(4.0, (bar.end - bar.start) * week_w)
        tip = (f"{'Key control · ' if key else ''}{action.control} {action.title} — {sev.capitalize()}, "
               f"{num(action.effort_days)} person-days, weeks {week_span(bar)}, {len(action.systems):,} "
               f"system{'s' if len(action.systems) != 1 else ''}"
               + (f"; after {', '.join(action.depends_on)}" if action.depends_on else ""))
        body.append(
            f'<g class="bar" data-action="{esc(action.id)}" data-control="{esc(action.control)}" '
            f'data-phase="{action.phase}" data-start="{num(bar.start)}" data-end="{num(bar.end)}" '
            f'data-key="{str(key).lower()}"><title>{esc(tip)}</title>'
            + text(8, y + 16, cut(label, 44), size=11.5, weight="700" if key else "normal")
            + f'<rect x="{num(x0)}" y="{num(y + 5)}" width="{num(bw)}" height="{num(row_h - 10)}" rx="3" '
            f'fill="{SEVERITY_COLOURS[sev]}"'
            + (f' stroke="{INK}" stroke-width="1.5"' if key else "") + "/>"
            + (text(x0 + bw + 4, y + 16, "★", size=12, fill=INK) if key else "")
            + "</g>"
        )
    if backlog:
        y = top + rows_h + 14
        days = sum(a.effort_days for a in backlog)
        body.append(text(8, y + 14, f"Backlog — not scheduled within capacity ({len(backlog)} action"
                                     f"{'s' if len(backlog) != 1 else ''}, {num(days)} person-days)",
                          size=12, weight="700"))
        for index, action in enumerate(backlog[:15]):
            line = f"• {action.control} {action.title} ({action.severity.value}, {num(action.effort_days)} pd)"
            body.append(f'<g class="backlog-item" data-action="{esc(action.id)}">'
                        + text(16, y + 31 + index * 17, cut(line, 130), size=11) + "</g>")
        if len(backlog) > 15:
            body.append(text(16, y + 31 + 15 * 17, f"… and {len(backlog) - 15} more", size=11, fill=MUTED))
    return svg_document(width, height, body, label="Action plan timeline (weeks)", kind="gantt")

"""The control-gaps section: coverage charts, then per system every required control, its status and why.

Each gap shows the evidence that decided its status, so a reader can check a "partial" or "implemented"
without opening the JSON report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from clearsight.core.assessment import SystemAssessment
from clearsight.core.gap import Gap
from clearsight.report import charts
from clearsight.report.html.context import ReportContext
from clearsight.report.html.coverage import coverage_rows
from clearsight.report.html.format import SEVERITIES, atlas_link, bullet_list, data_table, esc, sev_badge, status_badge
from clearsight.report.html.per_system import DETAIL_LIMIT, limited_note, system_details, system_heading

_STATUS_ORDER = {"missing": 0, "partial": 1, "implemented": 2, "not-applicable": 3}


def gaps_section(ctx: ReportContext) -> str:
    a = ctx.assessment
    parts = ['<section id="gaps"><h2>Control gaps</h2>']
    if not ctx.ordered:
        parts.append('<div class="card"><p class="muted">No systems, so no required controls.</p></div>'
                     "</section>")
        return "".join(parts)
    if ctx.controls is not None:
        nist, crisp = coverage_rows(a.systems, ctx.controls)
        parts.append(
            '<div class="grid2">'
            f'<div class="card"><h3>Coverage by NIST AI RMF function</h3><div class="chartbox">'
            f'{charts.coverage_bars_svg(nist, title="Control coverage by NIST AI RMF function")}</div></div>'
            f'<div class="card"><h3>Coverage by CRISP-ML(Q) phase</h3><div class="chartbox">'
            f'{charts.coverage_bars_svg(crisp, title="Control coverage by CRISP-ML(Q) phase")}</div></div>'
            "</div>"
        )
    else:
        parts.append('<div class="card"><p class="note">Coverage by framework is not shown: the control '
                     f"catalogue could not be read ({esc(ctx.controls_problem or 'unavailable')}).</p></div>")
    parts.append(limited_note(ctx, "control gaps"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        counts = _open_gap_counts(sa)
        in_place = sum(1 for g in sa.gaps if g.status == "implemented")
        summary = (f"{system_heading(sa)} {_gap_badges(counts)} "
                   f'<span class="muted">{in_place} of {len(sa.gaps)} in place</span>')
        parts.append(system_details(sa, summary, _gap_table(ctx, sa.gaps), is_open=index < 2))
    parts.append("</section>")
    return "".join(parts)


def _gap_table(ctx: ReportContext, gaps: Sequence[Gap]) -> str:
    if not gaps:
        return '<p class="muted">No control is required for this system.</p>'
    rows = []
    for gap in sorted(gaps, key=lambda g: (_STATUS_ORDER.get(g.status, 9), -g.severity.rank, g.control)):
        why = bullet_list(gap.required_by)
        if gap.threats:
            why += '<div class="small">Counters ' + ", ".join(atlas_link(t) for t in gap.threats) + "</div>"
        if gap.obligations:
            why += f'<div class="small">Obligations: {esc(", ".join(gap.obligations))}</div>'
        evidence = [f"<div>{esc(gap.status_reason)}</div>"]
        for ev_id in gap.evidence:
            ev = ctx.evidence.get(ev_id)
            text = f"{ev.summary or ev.kind} ({ev.source})" if ev else ""
            evidence.append(f'<div class="small"><code>{esc(ev_id)}</code> {esc(text)}</div>')
        rows.append(
            f'<tr class="gap-{esc(gap.status)}" data-control="{esc(gap.control)}"><td><code>{esc(gap.control)}'
            f"</code><br>{esc(gap.title)}</td><td>{status_badge(gap.status)}</td><td>{sev_badge(gap.severity)}</td>"
            f"<td>{why}</td><td>{''.join(evidence)}</td></tr>"
        )
    return data_table(["Control", "Status", "Severity", "Why required", "Evidence"], "".join(rows), cls="gaps")


def _open_gap_counts(sa: SystemAssessment) -> Counter[str]:
    return Counter(g.severity.value for g in sa.gaps if g.is_open)


def _gap_badges(counts: Mapping[str, int]) -> str:
    shown = [f'<span class="b sev-{s.value}">{counts[s.value]:,} {s.value}</span>'
             for s in SEVERITIES if counts.get(s.value)]
    return " ".join(shown) or '<span class="b st-implemented">No open gaps</span>'

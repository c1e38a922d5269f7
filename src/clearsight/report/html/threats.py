"""The threat sections: each system's attack scenarios and ATLAS techniques, and the portfolio heat map.

Technique and tactic names come from the ATLAS catalogue the report is rendered with (by default the
edition the assessment used), falling back to the IDs and names the assessment recorded.
"""

from __future__ import annotations

from clearsight.core.assessment import SystemAssessment
from clearsight.core.threat import Scenario
from clearsight.report import charts
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import atlas_link, bullet_list, data_table, esc, plural, sev_badge
from clearsight.report.html.per_system import DETAIL_LIMIT, limited_note, system_details, system_heading


def threats_section(ctx: ReportContext) -> str:
    parts = ['<section id="threats"><h2>Threats &amp; attack scenarios</h2>']
    if not ctx.ordered:
        parts.append('<div class="card"><p class="muted">No systems, so no threats.</p></div></section>')
        return "".join(parts)
    parts.append(limited_note(ctx, "threats and scenarios"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        worst = max([*(sc.severity for sc in sa.scenarios), *(t.severity for t in sa.threats)], default=None)
        counts = f"{plural(len(sa.threats), 'technique')} · {plural(len(sa.scenarios), 'scenario')}"
        badge = sev_badge(worst) if worst else ""
        summary = f'{system_heading(sa)} {badge} <span class="muted">{counts}</span>'
        body = "".join(_scenario(ctx, sc) for sc in sorted(sa.scenarios, key=lambda x: -x.severity.rank))
        body += _threat_table(ctx, sa)
        parts.append(system_details(sa, summary, body, is_open=index < 2))
    parts.append("</section>")
    return "".join(parts)


def _scenario(ctx: ReportContext, sc: Scenario) -> str:
    steps = "".join(
        f'<li class="{"goal" if st.technique == sc.goal else "step"}">'
        f'<span class="tac">{esc(ctx.tactic_name(st.tactic))}</span>'
        f"{atlas_link(st.technique, st.name or ctx.technique_name(st.technique))}"
        f'<span class="tid">{esc(st.technique)}</span></li>'
        for st in sc.steps
    )
    studies = ""
    if sc.case_studies:
        links = ", ".join(atlas_link(cs.id, f"{cs.id} {cs.name}") for cs in sc.case_studies)
        studies = f'<p class="cs"><b>Real cases:</b> {links}</p>'
    goal = ctx.technique_name(sc.goal)
    return (f'<div class="scn" data-scenario="{esc(sc.id)}"><div class="scn-h"><b>{esc(sc.title)}</b> '
            f'{sev_badge(sc.severity)} <span class="muted">likelihood {sc.likelihood} × impact {sc.impact}</span>'
            f'</div><p>{esc(sc.narrative)}</p><ol class="chain">{steps}</ol>'
            f'<p class="goalline"><b>Attacker goal:</b> {atlas_link(sc.goal, goal)}</p>'
            f"{studies}</div>")


def _threat_table(ctx: ReportContext, sa: SystemAssessment) -> str:
    if not sa.threats:
        return '<p class="muted">No ATLAS technique applies to this system\'s traits.</p>'
    rows = "".join(
        f"<tr><td>{atlas_link(t.technique)}</td><td>{esc(t.name)}</td>"
        f"<td>{esc(', '.join(ctx.tactic_name(x) for x in t.tactics))}</td>"
        f'<td class="num">{t.likelihood}</td><td class="num">{t.impact}</td><td>{sev_badge(t.severity)}</td>'
        f"<td>{bullet_list(t.reasons)}</td></tr>"
        for t in sorted(sa.threats, key=lambda t: (-t.severity.rank, t.technique))
    )
    return "<h4>ATLAS techniques</h4>" + data_table(
        ["Technique", "Name", "Tactics", "#L", "#I", "Severity", "Why it applies"], rows)


def heatmap_section(ctx: ReportContext) -> str:
    svg = charts.atlas_heatmap_svg(ctx.assessment, ctx.atlas)
    meta = ctx.atlas.meta
    return (f'<section id="atlas"><h2>MITRE ATLAS heat map</h2><div class="card"><p class="muted">'
            f"{esc(meta.title)} {esc(meta.version)}: one column per tactic; each cell is a technique at least "
            "one system faces, coloured by its worst severity, with the number of systems exposed. Hover for "
            f'names; click for the ATLAS page.</p><div class="scroll heat">{svg}</div></div></section>')

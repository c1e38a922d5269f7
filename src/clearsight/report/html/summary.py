"""The top of the report: the headline numbers (KPI cards) and the executive summary in plain sentences.

Every number and sentence is computed from the assessment (its summary, portfolio, threats and plan);
nothing is re-rated here, so the top of the report agrees with the sections below it.
"""

from __future__ import annotations

from clearsight.core.assessment import Assessment
from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.report import charts
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import (
    LEGAL_LABELS,
    SEVERITIES,
    esc,
    fmt_days,
    name_list,
    pct,
    plural,
    sev_badge,
    tier_badge,
)


def kpi_cards(ctx: ReportContext) -> str:
    a = ctx.assessment
    s = a.summary
    crit_high = s.open_gaps.get("critical", 0) + s.open_gaps.get("high", 0)
    open_total = sum(s.open_gaps.values())
    prohibited = sum(1 for sa in a.systems if sa.risk.legal.tier == "prohibited")
    planned = [x for x in a.plan.actions if x.phase is not None]
    cards = [
        ("systems", "AI systems", f"{s.systems:,}", f"{s.systems - s.shadow_systems:,} declared", "accent"),
        ("shadow", "Shadow AI", f"{s.shadow_systems:,}" if s.discovery_run else "not measured",
         "found in code, not in the inventory" if s.discovery_run else "discovery has not run",
         "purple" if s.shadow_systems else ("ok" if s.discovery_run else "accent")),
        ("high-risk", "High-risk (EU AI Act)", f"{s.high_risk_legal:,}",
         f"{prohibited:,} prohibited" if prohibited else "none prohibited",
         "crit" if prohibited else ("high" if s.high_risk_legal else "ok")),
        ("critical-high-gaps", "Open critical / high gaps", f"{crit_high:,}", f"of {open_total:,} open gaps",
         "crit" if s.open_gaps.get("critical") else ("high" if crit_high else "ok")),
        ("effort", "Total effort", fmt_days(a.plan.total_effort_days),
         f"person-days · {plural(len(planned), 'planned action')}", "accent"),
    ]
    html_cards = "".join(
        f'<div class="kpi k-{tone}" data-kpi="{key}"><div class="l">{esc(label)}</div>'
        f'<div class="v">{esc(value)}</div><div class="s">{esc(sub)}</div></div>'
        for key, label, value, sub, tone in cards
    )
    return f'<div class="kpis">{html_cards}</div>'


def executive_summary(assessment: Assessment, atlas: AtlasCatalogue) -> list[str]:
    """The summary in plain sentences, each computed from the assessment (text, not HTML)."""
    a = assessment
    s = a.summary
    if s.systems == 0:
        return ["No AI systems were assessed: the inventory declares none"
                + (" and discovery found none. " if s.discovery_run else ". ") +
                "There is nothing to classify, no threat applies and no control is required yet."]
    out: list[str] = []
    tiers = s.internal_tiers
    hi = tiers.get("high", 0) + tiers.get("critical", 0)
    sentence = (f"{hi:,} of {s.systems:,} systems {'is' if hi == 1 else 'are'} rated High or Critical "
                "on the internal risk scale")
    if tiers.get("critical"):
        sentence += f" ({tiers['critical']:,} Critical)"
    out.append(sentence + ".")
    prohibited = [sa.system.name for sa in a.systems if sa.risk.legal.tier == "prohibited"]
    if prohibited:
        out.append(f"{plural(len(prohibited), 'system')} may fall under a prohibited practice of the EU AI "
                   f"Act (Art. 5): {name_list(prohibited)}. Stop or redesign before anything else.")
    are = "system is" if s.high_risk_legal == 1 else "systems are"
    out.append(f"{s.high_risk_legal:,} {are} high-risk under the EU AI Act "
               f"(calendar: {a.settings.eu_ai_act_calendar}).")
    if s.shadow_systems:
        one = s.shadow_systems == 1
        shadow = [sa.system.name for sa in a.systems if not sa.system.declared]
        out.append(f"{plural(s.shadow_systems, 'system')} {'was' if one else 'were'} found in code but "
                   f"{'is' if one else 'are'} not in the inventory (shadow AI)"
                   + (f": {name_list(shadow)}." if shadow else "."))
    elif s.discovery_run:
        out.append("Every AI system discovery found is declared in the inventory.")
    else:
        out.append("Shadow AI was not measured: only the declared inventory was assessed (discovery did not run).")
    if a.portfolio:
        top = a.portfolio[0]
        out.append(f"The highest-ranked system is {top.name}: internal tier {top.internal_tier.title} "
                   f"(score {top.score}/25), EU AI Act {LEGAL_LABELS.get(top.legal_tier, top.legal_tier)}, "
                   f"{plural(top.open_gaps, 'open gap')}.")
    exposure = charts.technique_exposure(a, atlas)
    if exposure:
        widest = max(exposure, key=lambda x: (len(x.systems), x.severity.rank))
        critical = sum(1 for sa in a.systems for sc in sa.scenarios if sc.severity == Severity.CRITICAL)
        out.append(f"{plural(len(exposure), 'ATLAS technique')} apply across the portfolio; the most "
                   f"widespread is {widest.name} ({widest.technique}), faced by "
                   f"{plural(len(widest.systems), 'system')}"
                   + (f", and {plural(critical, 'attack scenario')} rate Critical." if critical else "."))
    open_total = sum(s.open_gaps.values())
    breakdown = ", ".join(
        f"{s.open_gaps[v.value]:,} {v.value}" for v in SEVERITIES if s.open_gaps.get(v.value)
    )
    share = pct(s.controls_in_place, s.controls_required)
    out.append(f"{s.controls_in_place:,} of {s.controls_required:,} control requirements are met "
               f"({share}%; each control counts once per system that needs it), leaving "
               f"{plural(open_total, 'open gap')}"
               + (f" ({breakdown})." if breakdown else "."))
    plan = a.plan
    if plan.actions:
        phase_text = "; ".join(
            f"phase {p.number} needs {fmt_days(p.planned_days)} of {fmt_days(p.capacity_days)} person-days "
            f"({pct(p.planned_days, p.capacity_days)}% of capacity)" for p in plan.phases
        )
        backlog = [x for x in plan.actions if x.phase is None]
        sentence = (f"The plan closes them with {plural(len(plan.actions), 'action')} and "
                    f"{fmt_days(plan.total_effort_days)} person-days"
                    + (f": {phase_text}" if phase_text else "") + ".")
        if backlog:
            days = fmt_days(sum(x.effort_days for x in backlog))
            sentence += (f" {plural(len(backlog), 'action')} ({days} person-days) wait in the backlog "
                         "beyond the team's capacity.")
        out.append(sentence)
    return out


def summary_section(ctx: ReportContext) -> str:
    sentences = executive_summary(ctx.assessment, ctx.atlas)
    items = "".join(f"<li>{esc(x)}</li>" for x in sentences)
    top = ""
    if ctx.assessment.portfolio:
        rows = "".join(
            f"<li><span class=\"rank\">{p.rank}</span> <b>{esc(p.name)}</b> {sev_badge(p.internal_tier)} "
            f"{tier_badge(p.legal_tier)} <span class=\"muted\">{plural(p.open_gaps, 'open gap')}</span></li>"
            for p in ctx.assessment.portfolio[:5]
        )
        top = f'<div class="card top5"><h3>Most exposed systems</h3><ol class="plain">{rows}</ol></div>'
    findings = f'<div class="card"><ul class="findings">{items}</ul></div>'
    if not top:
        return f'<section id="summary"><h2>Executive summary</h2>{findings}</section>'
    return (f'<section id="summary"><h2>Executive summary</h2><div class="grid2 wide-left">{findings}{top}'
            "</div></section>")

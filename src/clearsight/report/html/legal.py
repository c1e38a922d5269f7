"""The legal section: each system's EU AI Act classification, its route and basis, and when duties apply.

The obligation calendar is measured against the assessment's ``as_of`` date, not today, so a report
re-rendered later still says what was due when the assessment was made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from clearsight.core.risk import LegalClassification
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import bullet_list, data_table, esc, fmt_date, natural_key, plural, tier_badge
from clearsight.report.html.per_system import DETAIL_LIMIT, limited_note, system_details, system_heading

ROUTE_LABELS: Mapping[str, str] = {
    "art5": "Art. 5 prohibited practice", "annex-i": "Annex I product (Art. 6(1))",
    "annex-iii": "Annex III use case (Art. 6(2))", "none": "No high-risk route",
}


def legal_section(ctx: ReportContext) -> str:
    a = ctx.assessment
    parts = ['<section id="legal"><h2>Legal classification (EU AI Act)</h2>']
    if not a.systems:
        parts.append('<div class="card"><p class="muted">No systems to classify.</p></div></section>')
        return "".join(parts)
    parts.append(_key_dates(ctx))
    parts.append(limited_note(ctx, "the legal classification"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        legal = sa.risk.legal
        summary = (f"{system_heading(sa)} {tier_badge(legal.tier)} "
                   f'<span class="muted">{esc(ROUTE_LABELS.get(legal.route, legal.route))} · '
                   f"{plural(len(legal.obligations), 'obligation')}</span>")
        parts.append(system_details(sa, summary, _legal_body(ctx, legal), is_open=index < 3))
    parts.append("</section>")
    return "".join(parts)


def _key_dates(ctx: ReportContext) -> str:
    dates: dict[tuple[dt.date | None, str, str], set[str]] = {}
    for sa in ctx.assessment.systems:
        for ob in sa.risk.legal.obligations:
            dates.setdefault((ob.applies_from, ob.article, ob.title), set()).add(sa.system.id)
    if not dates:
        return ""
    ordered = sorted(dates.items(), key=lambda kv: (kv[0][0] or dt.date.max, natural_key(kv[0][1]), kv[0][2]))
    rows = "".join(
        f"<tr><td>{esc(fmt_date(when))}</td><td>{_applies(ctx, when)}</td><td>{esc(article)}</td>"
        f'<td>{esc(title)}</td><td class="num">{len(systems):,}</td></tr>'
        for (when, article, title), systems in ordered[:15]
    )
    more = f'<p class="note">… and {len(ordered) - 15} more obligations.</p>' if len(ordered) > 15 else ""
    calendar = esc(ctx.assessment.settings.eu_ai_act_calendar)
    table = data_table(["Applies from", "Status", "Article", "Obligation", "#Systems"], rows)
    return f'<div class="card"><h3>Obligation calendar ({calendar})</h3>{table}{more}</div>'


def _applies(ctx: ReportContext, when: dt.date | None) -> str:
    if when is None:
        return '<span class="b st-not-applicable">No date</span>'
    if when <= ctx.as_of:
        return '<span class="b due-now">In force</span>'
    days = (when - ctx.as_of).days
    return f'<span class="b due-soon">In {days:,} days</span>'


def _legal_body(ctx: ReportContext, legal: LegalClassification) -> str:
    facts = [
        ("Route", esc(ROUTE_LABELS.get(legal.route, legal.route))),
        ("Legal basis", bullet_list(legal.basis)),
        ("Annex points", bullet_list(legal.annex_points)),
        ("Exceptions applied", bullet_list(legal.exceptions, "none")),
        ("Transparency duties", bullet_list(legal.transparency_duties, "none")),
        ("General-purpose AI", esc(legal.gpai)),
        ("Rationale", bullet_list(legal.rationale)),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in facts)
    obligations = ""
    if legal.obligations:
        rows = "".join(
            f"<tr><td>{esc(ob.article)}</td><td>{esc(ob.title)}</td><td>{esc(ob.actor)}</td>"
            f"<td>{esc(fmt_date(ob.applies_from))}</td><td>{_applies(ctx, ob.applies_from)}</td></tr>"
            for ob in sorted(legal.obligations, key=lambda o: (o.applies_from or dt.date.max,
                                                                natural_key(o.article)))
        )
        obligations = "<h4>Obligations</h4>" + data_table(
            ["Article", "Obligation", "Actor", "Applies from", "Status"], rows)
    return f'<dl class="facts">{dl}</dl>{obligations}'

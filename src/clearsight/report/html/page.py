"""The page around the sections: header, navigation and footer, and the order the sections appear in.

The footer lists every catalogue version and setting the assessment used, so a printed report says how to
reproduce it.
"""

from __future__ import annotations

from clearsight.core.assessment import Assessment
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.report.html.context import ControlIndex, ReportContext, build_context
from clearsight.report.html.format import data_table, esc, fmt_date, fmt_days
from clearsight.report.html.gaps import gaps_section
from clearsight.report.html.legal import legal_section
from clearsight.report.html.plan import plan_section
from clearsight.report.html.portfolio import portfolio_section
from clearsight.report.html.style import CSS, PRINT_SCRIPT
from clearsight.report.html.summary import kpi_cards, summary_section
from clearsight.report.html.threats import heatmap_section, threats_section


def render_html(
    assessment: Assessment,
    *,
    atlas: AtlasCatalogue,
    controls: ControlIndex | None,
    controls_problem: str | None = None,
) -> str:
    """The whole report as one HTML5 document."""
    ctx = build_context(assessment, atlas=atlas, controls=controls, controls_problem=controls_problem)
    title = f"AI security assessment — {assessment.organisation}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="Clearsight {esc(assessment.tool_version)}">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        _header(ctx),
        _nav(),
        "<main>",
        kpi_cards(ctx),
        summary_section(ctx),
        portfolio_section(ctx),
        legal_section(ctx),
        threats_section(ctx),
        heatmap_section(ctx),
        gaps_section(ctx),
        plan_section(ctx),
        "</main>",
        _footer(ctx),
        f"<script>{PRINT_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(ctx: ReportContext) -> str:
    a = ctx.assessment
    generated = a.generated_at.strftime("%Y-%m-%d %H:%M") + (" UTC" if a.generated_at.tzinfo else "")
    meta = [
        ("Generated", generated), ("As of", a.settings.as_of.isoformat()),
        ("Tool", f"Clearsight {a.tool_version}"), ("Inventory", a.inventory),
        ("EU AI Act calendar", a.settings.eu_ai_act_calendar),
    ]
    items = "".join(f"<span><b>{esc(k)}</b> {esc(v)}</span>" for k, v in meta)
    return (f'<header class="top"><div class="wrap"><div class="brand">Clearsight · AI security assessment'
            f'</div><h1>{esc(a.organisation)}</h1><div class="meta">{items}</div></div></header>')


def _nav() -> str:
    links = [("summary", "Summary"), ("portfolio", "Portfolio"), ("legal", "Legal"), ("threats", "Threats"),
             ("atlas", "ATLAS map"), ("gaps", "Control gaps"), ("plan", "Action plan"),
             ("catalogues", "Catalogues")]
    return '<nav class="toc">' + "".join(f'<a href="#{i}">{t}</a>' for i, t in links) + "</nav>"


def _footer(ctx: ReportContext) -> str:
    a = ctx.assessment
    rows = "".join(
        f'<tr data-catalogue="{esc(c.id)}"><td>{esc(c.title)}</td><td><code>{esc(c.id)}</code></td>'
        f"<td>{esc(c.version)}</td><td>{esc(fmt_date(c.effective_date))}</td>"
        f'<td class="src">{esc(c.source)}</td></tr>'
        for c in a.catalogues
    )
    table = (data_table(["Catalogue", "ID", "Version", "Effective", "Source"], rows) if rows
             else '<p class="muted">The assessment records no catalogue versions.</p>')
    capacity = " / ".join(fmt_days(c) for c in a.settings.capacity_days) or "—"
    settings = [
        ("EU AI Act calendar", a.settings.eu_ai_act_calendar), ("As of", a.settings.as_of.isoformat()),
        ("Capacity per phase (person-days)", capacity), ("Schema version", a.schema_version),
        ("Tool version", f"Clearsight {a.tool_version}"), ("Inventory", a.inventory),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in settings)
    return ('<footer id="catalogues"><div class="wrap"><h2>Catalogues and settings</h2>'
            f'<div class="grid2 wide-left">{table}<dl class="facts">{dl}</dl></div>'
            '<p class="fine">Every rating in this report comes from the assessment document; re-run with the '
            "same inventory, catalogues and settings to reproduce it. ATLAS links open atlas.mitre.org.</p>"
            "</div></footer>")

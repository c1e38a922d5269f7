"""The portfolio section: the risk matrix, the tier distributions and the ranking of every system.

The ranking lists every system, even thousands; rows after the first :data:`PORTFOLIO_VISIBLE` fold away.
"""

from __future__ import annotations

from collections import Counter

from clearsight.core.assessment import PortfolioEntry
from clearsight.report import charts
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import LEGAL_LABELS, SEVERITIES, esc, pct, sev_badge, tier_badge

PORTFOLIO_VISIBLE = 25
"""Ranking rows shown before the rest fold into a ``<details>``."""


def portfolio_section(ctx: ReportContext) -> str:
    a = ctx.assessment
    if not a.systems:
        return ('<section id="portfolio"><h2>Portfolio</h2><div class="card"><p class="muted">'
                "No systems to rank.</p></div></section>")
    owners = {sa.system.id: sa.system.owner or "" for sa in a.systems}
    risks = {sa.system.id: sa.risk.internal for sa in a.systems}
    header = ("<thead><tr><th class=\"num\">#</th><th>System</th><th>Owner</th><th>Internal risk</th>"
              "<th class=\"num\">Score</th><th>EU AI Act</th><th class=\"num\">Open gaps</th>"
              "<th>Source</th></tr></thead>")

    def row(p: PortfolioEntry) -> str:
        risk = risks.get(p.system)
        li = f" <span class=\"muted\">({risk.likelihood}×{risk.impact})</span>" if risk else ""
        source = "Declared" if p.declared else '<span class="b shadow">Shadow AI</span>'
        return (f'<tr data-system="{esc(p.system)}"><td class="num">{p.rank}</td><td><b>{esc(p.name)}</b> '
                f"<code>{esc(p.system)}</code></td><td>{esc(owners.get(p.system, ''))}</td>"
                f"<td>{sev_badge(p.internal_tier)}</td><td class=\"num\">{p.score}{li}</td>"
                f"<td>{tier_badge(p.legal_tier)}</td>"
                f'<td class="num">{p.open_gaps:,}</td><td>{source}</td></tr>')

    first = "".join(row(p) for p in a.portfolio[:PORTFOLIO_VISIBLE])
    table = f'<table class="ranking">{header}<tbody>{first}</tbody></table>'
    rest = a.portfolio[PORTFOLIO_VISIBLE:]
    if rest:
        table += (f'<details class="more"><summary>Show the other {len(rest):,} systems</summary>'
                  f'<table class="ranking">{header}<tbody>{"".join(row(p) for p in rest)}</tbody></table>'
                  "</details>")
    internal = Counter(sa.risk.internal.tier.value for sa in a.systems)
    legal: Counter[str] = Counter(sa.risk.legal.tier for sa in a.systems)
    total = len(a.systems)
    dist_internal = "".join(_dist_row(s.title, internal.get(s.value, 0), total, f"sev-{s.value}")
                            for s in SEVERITIES)
    dist_legal = "".join(_dist_row(LEGAL_LABELS[t], legal.get(t, 0), total, f"t-{t}") for t in LEGAL_LABELS)
    side = (f'<div class="card"><h3>Internal risk tiers</h3>{dist_internal}'
            f"<h3>EU AI Act classification</h3>{dist_legal}</div>")
    matrix = (f'<div class="card"><h3>Risk matrix</h3><div class="chartbox">'
              f"{charts.risk_matrix_svg(a.systems)}</div></div>")
    return (f'<section id="portfolio"><h2>Portfolio</h2><div class="grid2 wide-left">{matrix}{side}</div>'
            f'<div class="card"><h3>Ranking, most dangerous first</h3><div class="scroll">{table}</div></div>'
            "</section>")


def _dist_row(label: str, count: int, total: int, cls: str) -> str:
    return (f'<div class="dist"><span class="dl">{esc(label)}</span><span class="dbar"><span class="{cls}" '
            f'style="width:{pct(count, total)}%"></span></span><span class="dn">{count:,}</span></div>')

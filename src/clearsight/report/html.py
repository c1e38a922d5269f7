"""The HTML report: one self-contained file that opens offline, prints cleanly and can be mailed as is.

Everything is inline (style and SVG charts); nothing is fetched, and the only script opens the collapsed
sections before printing. The report shows what the Assessment holds and re-derives no rating: counts
come from its summary, tiers from its risk profiles, weeks from its plan. Portfolios of thousands of
systems stay a reasonable size: the ranking lists every system, the per-system sections cover the
highest-ranked :data:`DETAIL_LIMIT` and say so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import yaml
from pydantic import ValidationError

from clearsight.core.assessment import Assessment, PortfolioEntry, SystemAssessment
from clearsight.core.control import Control
from clearsight.core.errors import CatalogueError
from clearsight.core.evidence import Evidence
from clearsight.core.gap import Gap
from clearsight.core.plan import Action, Phase
from clearsight.core.risk import LegalClassification
from clearsight.core.severity import Severity
from clearsight.core.threat import Scenario
from clearsight.frameworks.atlas import AtlasCatalogue, atlas_url
from clearsight.frameworks.atlas_store import atlas_edition
from clearsight.report import charts

DETAIL_LIMIT = 50
"""Per-system sections (legal, threats, gaps) cover this many systems, highest-ranked first."""
PORTFOLIO_VISIBLE = 25
"""Ranking rows shown before the rest fold into a ``<details>``."""

NIST_FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
_NIST_ABBREVIATIONS = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
CRISP_PHASES: Mapping[str, str] = {
    "P1": "Business and Data Understanding",
    "P2": "Data Preparation",
    "P3": "ML Model Engineering",
    "P4": "ML Model Evaluation",
    "P5": "Deployment",
    "P6": "Monitoring and Maintenance",
}
LEGAL_LABELS: Mapping[str, str] = {
    "prohibited": "Prohibited", "high-risk": "High-risk", "limited": "Limited risk",
    "minimal": "Minimal risk", "out-of-scope": "Out of scope",
}
ROUTE_LABELS: Mapping[str, str] = {
    "art5": "Art. 5 prohibited practice", "annex-i": "Annex I product (Art. 6(1))",
    "annex-iii": "Annex III use case (Art. 6(2))", "none": "No high-risk route",
}
SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
_STATUS_ORDER = {"missing": 0, "partial": 1, "implemented": 2, "not-applicable": 3}
_NIST_REF = re.compile(r"^\s*([A-Za-z]+)")

ControlIndex = Mapping[str, Control]


def render(assessment: Assessment, atlas: AtlasCatalogue | None = None) -> str:
    """The registry's entry point: the ATLAS edition the assessment used, and the control catalogue."""
    controls, problem = load_control_index()
    version = next((c.version for c in assessment.catalogues if c.id == "mitre-atlas"), None)
    return render_html(assessment, atlas=atlas or atlas_edition(version), controls=controls,
                       controls_problem=problem)


def load_control_index() -> tuple[ControlIndex | None, str | None]:
    """The control catalogue by ID, or None and the reason when it cannot be read."""
    try:
        from clearsight.frameworks.controls import load_controls

        return load_controls().by_id(), None
    except (ImportError, CatalogueError, ValidationError, yaml.YAMLError) as exc:
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:240]


@dataclass(frozen=True)
class _Context:
    assessment: Assessment
    atlas: AtlasCatalogue
    controls: ControlIndex | None
    controls_problem: str | None
    ordered: list[SystemAssessment]
    names: dict[str, str]
    evidence: dict[str, Evidence]

    @property
    def as_of(self) -> dt.date:
        return self.assessment.settings.as_of

    def tactic_name(self, tactic: str) -> str:
        known = self.atlas.tactic_index.get(tactic)
        return known.name if known else tactic

    def technique_name(self, technique: str, fallback: str = "") -> str:
        known = self.atlas.technique_index.get(technique)
        return known.name if known else (fallback or technique)


def render_html(
    assessment: Assessment,
    *,
    atlas: AtlasCatalogue,
    controls: ControlIndex | None,
    controls_problem: str | None = None,
) -> str:
    """The whole report as one HTML5 document."""
    ranks = {p.system: p.rank for p in assessment.portfolio}
    ordered = sorted(
        assessment.systems,
        key=lambda sa: (ranks.get(sa.system.id, len(ranks) + 1), sa.system.name.lower(), sa.system.id),
    )
    ctx = _Context(
        assessment=assessment, atlas=atlas, controls=controls, controls_problem=controls_problem,
        ordered=ordered, names={sa.system.id: sa.system.name for sa in assessment.systems},
        evidence={ev.id: ev for ev in assessment.evidence},
    )
    title = f"AI security assessment — {assessment.organisation}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="Clearsight {_e(assessment.tool_version)}">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        _header(ctx),
        _nav(),
        "<main>",
        _kpis(ctx),
        _summary_section(ctx),
        _portfolio_section(ctx),
        _legal_section(ctx),
        _threats_section(ctx),
        _heatmap_section(ctx),
        _gaps_section(ctx),
        _plan_section(ctx),
        "</main>",
        _footer(ctx),
        f"<script>{PRINT_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- small helpers


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _days(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _date(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "—"


def _pct(part: float, whole: float) -> int:
    return round(100 * part / whole) if whole else 0


def _sev(severity: Severity | str) -> str:
    value = Severity(severity).value
    return f'<span class="b sev-{value}">{value.capitalize()}</span>'


def _tier(tier: str) -> str:
    return f'<span class="b t-{_e(tier)}">{_e(LEGAL_LABELS.get(tier, tier))}</span>'


def _status(status: str) -> str:
    return f'<span class="b st-{_e(status)}">{_e(status.replace("-", " ").capitalize())}</span>'


def _atlas_link(atlas_id: str, text: str | None = None) -> str:
    return (f'<a href="{_e(atlas_url(atlas_id))}" target="_blank" rel="noopener noreferrer">'
            f"{_e(text if text is not None else atlas_id)}</a>")


def _list(items: Iterable[str], empty: str = "—") -> str:
    rows = [f"<li>{_e(item)}</li>" for item in items]
    return f'<ul class="plain">{"".join(rows)}</ul>' if rows else f'<span class="muted">{_e(empty)}</span>'


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts "Art. 9" before "Art. 10"."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def _table(headers: Sequence[str], rows: str, *, cls: str = "") -> str:
    """A scrollable table; a header written ``#Name`` is a right-aligned number column."""
    head = "".join(f'<th class="num">{_e(h[1:])}</th>' if h.startswith("#") else f"<th>{_e(h)}</th>"
                   for h in headers)
    klass = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{klass}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
            "</div>")


def _details(sa: SystemAssessment, summary: str, body: str, *, is_open: bool) -> str:
    return (f'<details class="sys"{" open" if is_open else ""} data-system="{_e(sa.system.id)}">'
            f'<summary>{summary}</summary><div class="body">{body}</div></details>')


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def _open_gaps(sa: SystemAssessment) -> Counter[str]:
    return Counter(g.severity.value for g in sa.gaps if g.is_open)


def _gap_badges(counts: Mapping[str, int]) -> str:
    shown = [f'<span class="b sev-{s.value}">{counts[s.value]:,} {s.value}</span>'
             for s in SEVERITIES if counts.get(s.value)]
    return " ".join(shown) or '<span class="b st-implemented">No open gaps</span>'


def _limited_note(ctx: _Context, what: str) -> str:
    total = len(ctx.ordered)
    if total <= DETAIL_LIMIT:
        return ""
    return (f'<p class="note">Showing {what} for the {DETAIL_LIMIT} highest-ranked of {total:,} systems. '
            "The JSON report (<code>--format json</code>) holds every system in full.</p>")


def _system_heading(sa: SystemAssessment) -> str:
    shadow = "" if sa.system.declared else ' <span class="b shadow">Shadow AI</span>'
    return (f'<span class="sysname">{_e(sa.system.name)}</span> <code>{_e(sa.system.id)}</code>{shadow}')


# --------------------------------------------------------------------------- header, KPIs, summary


def _header(ctx: _Context) -> str:
    a = ctx.assessment
    generated = a.generated_at.strftime("%Y-%m-%d %H:%M") + (" UTC" if a.generated_at.tzinfo else "")
    meta = [
        ("Generated", generated), ("As of", a.settings.as_of.isoformat()),
        ("Tool", f"Clearsight {a.tool_version}"), ("Inventory", a.inventory),
        ("EU AI Act calendar", a.settings.eu_ai_act_calendar),
    ]
    items = "".join(f"<span><b>{_e(k)}</b> {_e(v)}</span>" for k, v in meta)
    return (f'<header class="top"><div class="wrap"><div class="brand">Clearsight · AI security assessment'
            f'</div><h1>{_e(a.organisation)}</h1><div class="meta">{items}</div></div></header>')


def _nav() -> str:
    links = [("summary", "Summary"), ("portfolio", "Portfolio"), ("legal", "Legal"), ("threats", "Threats"),
             ("atlas", "ATLAS map"), ("gaps", "Control gaps"), ("plan", "Action plan"),
             ("catalogues", "Catalogues")]
    return '<nav class="toc">' + "".join(f'<a href="#{i}">{t}</a>' for i, t in links) + "</nav>"


def _kpis(ctx: _Context) -> str:
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
        ("effort", "Total effort", _days(a.plan.total_effort_days),
         f"person-days · {_plural(len(planned), 'planned action')}", "accent"),
    ]
    html_cards = "".join(
        f'<div class="kpi k-{tone}" data-kpi="{key}"><div class="l">{_e(label)}</div>'
        f'<div class="v">{_e(value)}</div><div class="s">{_e(sub)}</div></div>'
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
        out.append(f"{_plural(len(prohibited), 'system')} may fall under a prohibited practice of the EU AI "
                   f"Act (Art. 5): {_names(prohibited)}. Stop or redesign before anything else.")
    are = "system is" if s.high_risk_legal == 1 else "systems are"
    out.append(f"{s.high_risk_legal:,} {are} high-risk under the EU AI Act "
               f"(calendar: {a.settings.eu_ai_act_calendar}).")
    if s.shadow_systems:
        one = s.shadow_systems == 1
        shadow = [sa.system.name for sa in a.systems if not sa.system.declared]
        out.append(f"{_plural(s.shadow_systems, 'system')} {'was' if one else 'were'} found in code but "
                   f"{'is' if one else 'are'} not in the inventory (shadow AI)"
                   + (f": {_names(shadow)}." if shadow else "."))
    elif s.discovery_run:
        out.append("Every AI system discovery found is declared in the inventory.")
    else:
        out.append("Shadow AI was not measured: only the declared inventory was assessed (discovery did not run).")
    if a.portfolio:
        top = a.portfolio[0]
        out.append(f"The highest-ranked system is {top.name}: internal tier {top.internal_tier.title} "
                   f"(score {top.score}/25), EU AI Act {LEGAL_LABELS.get(top.legal_tier, top.legal_tier)}, "
                   f"{_plural(top.open_gaps, 'open gap')}.")
    exposure = charts.technique_exposure(a, atlas)
    if exposure:
        widest = max(exposure, key=lambda x: (len(x.systems), x.severity.rank))
        critical = sum(1 for sa in a.systems for sc in sa.scenarios if sc.severity == Severity.CRITICAL)
        out.append(f"{_plural(len(exposure), 'ATLAS technique')} apply across the portfolio; the most "
                   f"widespread is {widest.name} ({widest.technique}), faced by "
                   f"{_plural(len(widest.systems), 'system')}"
                   + (f", and {_plural(critical, 'attack scenario')} rate Critical." if critical else "."))
    open_total = sum(s.open_gaps.values())
    breakdown = ", ".join(
        f"{s.open_gaps[v.value]:,} {v.value}" for v in SEVERITIES if s.open_gaps.get(v.value)
    )
    share = _pct(s.controls_in_place, s.controls_required)
    out.append(f"{s.controls_in_place:,} of {s.controls_required:,} control requirements are met "
               f"({share}%; each control counts once per system that needs it), leaving "
               f"{_plural(open_total, 'open gap')}"
               + (f" ({breakdown})." if breakdown else "."))
    plan = a.plan
    if plan.actions:
        phase_text = "; ".join(
            f"phase {p.number} needs {_days(p.planned_days)} of {_days(p.capacity_days)} person-days "
            f"({_pct(p.planned_days, p.capacity_days)}% of capacity)" for p in plan.phases
        )
        backlog = [x for x in plan.actions if x.phase is None]
        sentence = (f"The plan closes them with {_plural(len(plan.actions), 'action')} and "
                    f"{_days(plan.total_effort_days)} person-days"
                    + (f": {phase_text}" if phase_text else "") + ".")
        if backlog:
            days = _days(sum(x.effort_days for x in backlog))
            sentence += (f" {_plural(len(backlog), 'action')} ({days} person-days) wait in the backlog "
                         "beyond the team's capacity.")
        out.append(sentence)
    return out


def _summary_section(ctx: _Context) -> str:
    sentences = executive_summary(ctx.assessment, ctx.atlas)
    items = "".join(f"<li>{_e(x)}</li>" for x in sentences)
    top = ""
    if ctx.assessment.portfolio:
        rows = "".join(
            f"<li><span class=\"rank\">{p.rank}</span> <b>{_e(p.name)}</b> {_sev(p.internal_tier)} "
            f"{_tier(p.legal_tier)} <span class=\"muted\">{_plural(p.open_gaps, 'open gap')}</span></li>"
            for p in ctx.assessment.portfolio[:5]
        )
        top = f'<div class="card top5"><h3>Most exposed systems</h3><ol class="plain">{rows}</ol></div>'
    findings = f'<div class="card"><ul class="findings">{items}</ul></div>'
    if not top:
        return f'<section id="summary"><h2>Executive summary</h2>{findings}</section>'
    return (f'<section id="summary"><h2>Executive summary</h2><div class="grid2 wide-left">{findings}{top}'
            "</div></section>")


# --------------------------------------------------------------------------- portfolio


def _portfolio_section(ctx: _Context) -> str:
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
        return (f'<tr data-system="{_e(p.system)}"><td class="num">{p.rank}</td><td><b>{_e(p.name)}</b> '
                f"<code>{_e(p.system)}</code></td><td>{_e(owners.get(p.system, ''))}</td>"
                f"<td>{_sev(p.internal_tier)}</td><td class=\"num\">{p.score}{li}</td>"
                f"<td>{_tier(p.legal_tier)}</td>"
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
    return (f'<div class="dist"><span class="dl">{_e(label)}</span><span class="dbar"><span class="{cls}" '
            f'style="width:{_pct(count, total)}%"></span></span><span class="dn">{count:,}</span></div>')


# --------------------------------------------------------------------------- legal


def _legal_section(ctx: _Context) -> str:
    a = ctx.assessment
    parts = ['<section id="legal"><h2>Legal classification (EU AI Act)</h2>']
    if not a.systems:
        parts.append('<div class="card"><p class="muted">No systems to classify.</p></div></section>')
        return "".join(parts)
    parts.append(_key_dates(ctx))
    parts.append(_limited_note(ctx, "the legal classification"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        legal = sa.risk.legal
        summary = (f"{_system_heading(sa)} {_tier(legal.tier)} "
                   f'<span class="muted">{_e(ROUTE_LABELS.get(legal.route, legal.route))} · '
                   f"{_plural(len(legal.obligations), 'obligation')}</span>")
        parts.append(_details(sa, summary, _legal_body(ctx, legal), is_open=index < 3))
    parts.append("</section>")
    return "".join(parts)


def _key_dates(ctx: _Context) -> str:
    dates: dict[tuple[dt.date | None, str, str], set[str]] = {}
    for sa in ctx.assessment.systems:
        for ob in sa.risk.legal.obligations:
            dates.setdefault((ob.applies_from, ob.article, ob.title), set()).add(sa.system.id)
    if not dates:
        return ""
    ordered = sorted(dates.items(), key=lambda kv: (kv[0][0] or dt.date.max, _natural(kv[0][1]), kv[0][2]))
    rows = "".join(
        f"<tr><td>{_e(_date(when))}</td><td>{_applies(ctx, when)}</td><td>{_e(article)}</td>"
        f'<td>{_e(title)}</td><td class="num">{len(systems):,}</td></tr>'
        for (when, article, title), systems in ordered[:15]
    )
    more = f'<p class="note">… and {len(ordered) - 15} more obligations.</p>' if len(ordered) > 15 else ""
    calendar = _e(ctx.assessment.settings.eu_ai_act_calendar)
    table = _table(["Applies from", "Status", "Article", "Obligation", "#Systems"], rows)
    return f'<div class="card"><h3>Obligation calendar ({calendar})</h3>{table}{more}</div>'


def _applies(ctx: _Context, when: dt.date | None) -> str:
    if when is None:
        return '<span class="b st-not-applicable">No date</span>'
    if when <= ctx.as_of:
        return '<span class="b due-now">In force</span>'
    days = (when - ctx.as_of).days
    return f'<span class="b due-soon">In {days:,} days</span>'


def _legal_body(ctx: _Context, legal: LegalClassification) -> str:
    facts = [
        ("Route", _e(ROUTE_LABELS.get(legal.route, legal.route))),
        ("Legal basis", _list(legal.basis)),
        ("Annex points", _list(legal.annex_points)),
        ("Exceptions applied", _list(legal.exceptions, "none")),
        ("Transparency duties", _list(legal.transparency_duties, "none")),
        ("General-purpose AI", _e(legal.gpai)),
        ("Rationale", _list(legal.rationale)),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in facts)
    obligations = ""
    if legal.obligations:
        rows = "".join(
            f"<tr><td>{_e(ob.article)}</td><td>{_e(ob.title)}</td><td>{_e(ob.actor)}</td>"
            f"<td>{_e(_date(ob.applies_from))}</td><td>{_applies(ctx, ob.applies_from)}</td></tr>"
            for ob in sorted(legal.obligations, key=lambda o: (o.applies_from or dt.date.max,
                                                                _natural(o.article)))
        )
        obligations = "<h4>Obligations</h4>" + _table(
            ["Article", "Obligation", "Actor", "Applies from", "Status"], rows)
    return f'<dl class="facts">{dl}</dl>{obligations}'


# --------------------------------------------------------------------------- threats


def _threats_section(ctx: _Context) -> str:
    parts = ['<section id="threats"><h2>Threats &amp; attack scenarios</h2>']
    if not ctx.ordered:
        parts.append('<div class="card"><p class="muted">No systems, so no threats.</p></div></section>')
        return "".join(parts)
    parts.append(_limited_note(ctx, "threats and scenarios"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        worst = max([*(sc.severity for sc in sa.scenarios), *(t.severity for t in sa.threats)], default=None)
        counts = f"{_plural(len(sa.threats), 'technique')} · {_plural(len(sa.scenarios), 'scenario')}"
        badge = _sev(worst) if worst else ""
        summary = f'{_system_heading(sa)} {badge} <span class="muted">{counts}</span>'
        body = "".join(_scenario(ctx, sc) for sc in sorted(sa.scenarios, key=lambda x: -x.severity.rank))
        body += _threat_table(ctx, sa)
        parts.append(_details(sa, summary, body, is_open=index < 2))
    parts.append("</section>")
    return "".join(parts)


def _scenario(ctx: _Context, sc: Scenario) -> str:
    steps = "".join(
        f'<li class="{"goal" if st.technique == sc.goal else "step"}">'
        f'<span class="tac">{_e(ctx.tactic_name(st.tactic))}</span>'
        f"{_atlas_link(st.technique, st.name or ctx.technique_name(st.technique))}"
        f'<span class="tid">{_e(st.technique)}</span></li>'
        for st in sc.steps
    )
    studies = ""
    if sc.case_studies:
        links = ", ".join(_atlas_link(cs.id, f"{cs.id} {cs.name}") for cs in sc.case_studies)
        studies = f'<p class="cs"><b>Real cases:</b> {links}</p>'
    goal = ctx.technique_name(sc.goal)
    return (f'<div class="scn" data-scenario="{_e(sc.id)}"><div class="scn-h"><b>{_e(sc.title)}</b> '
            f'{_sev(sc.severity)} <span class="muted">likelihood {sc.likelihood} × impact {sc.impact}</span>'
            f'</div><p>{_e(sc.narrative)}</p><ol class="chain">{steps}</ol>'
            f'<p class="goalline"><b>Attacker goal:</b> {_atlas_link(sc.goal, goal)}</p>'
            f"{studies}</div>")


def _threat_table(ctx: _Context, sa: SystemAssessment) -> str:
    if not sa.threats:
        return '<p class="muted">No ATLAS technique applies to this system\'s traits.</p>'
    rows = "".join(
        f"<tr><td>{_atlas_link(t.technique)}</td><td>{_e(t.name)}</td>"
        f"<td>{_e(', '.join(ctx.tactic_name(x) for x in t.tactics))}</td>"
        f'<td class="num">{t.likelihood}</td><td class="num">{t.impact}</td><td>{_sev(t.severity)}</td>'
        f"<td>{_list(t.reasons)}</td></tr>"
        for t in sorted(sa.threats, key=lambda t: (-t.severity.rank, t.technique))
    )
    return "<h4>ATLAS techniques</h4>" + _table(
        ["Technique", "Name", "Tactics", "#L", "#I", "Severity", "Why it applies"], rows)


def _heatmap_section(ctx: _Context) -> str:
    svg = charts.atlas_heatmap_svg(ctx.assessment, ctx.atlas)
    meta = ctx.atlas.meta
    return (f'<section id="atlas"><h2>MITRE ATLAS heat map</h2><div class="card"><p class="muted">'
            f"{_e(meta.title)} {_e(meta.version)}: one column per tactic; each cell is a technique at least "
            "one system faces, coloured by its worst severity, with the number of systems exposed. Hover for "
            f'names; click for the ATLAS page.</p><div class="scroll heat">{svg}</div></div></section>')


# --------------------------------------------------------------------------- control gaps


def coverage_rows(
    systems: Sequence[SystemAssessment], controls: ControlIndex
) -> tuple[list[charts.CoverageRow], list[charts.CoverageRow]]:
    """Required controls (system x control) by status, per NIST AI RMF function and per CRISP-ML(Q) phase."""
    nist = {f: [0, 0, 0] for f in NIST_FUNCTIONS}
    crisp = {p: [0, 0, 0] for p in CRISP_PHASES}
    column = {"implemented": 0, "partial": 1, "missing": 2}
    for sa in systems:
        for gap in sa.gaps:
            control = controls.get(gap.control)
            if control is None or gap.status not in column:
                continue
            slot = column[gap.status]
            for function in _nist_functions(control):
                nist[function][slot] += 1
            if control.crisp_phase in crisp:
                crisp[control.crisp_phase][slot] += 1
    return (
        [charts.CoverageRow(f.capitalize(), nist[f][0], nist[f][1], nist[f][2]) for f in NIST_FUNCTIONS],
        [charts.CoverageRow(p, crisp[p][0], crisp[p][1], crisp[p][2], detail=name)
         for p, name in CRISP_PHASES.items()],
    )


def _nist_functions(control: Control) -> set[str]:
    found: set[str] = set()
    for ref in control.refs.nist_ai_rmf:
        match = _NIST_REF.match(ref)
        if match:
            word = match.group(1).upper()
            word = _NIST_ABBREVIATIONS.get(word, word)
            if word in NIST_FUNCTIONS:
                found.add(word)
    return found


def _gaps_section(ctx: _Context) -> str:
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
                     f"catalogue could not be read ({_e(ctx.controls_problem or 'unavailable')}).</p></div>")
    parts.append(_limited_note(ctx, "control gaps"))
    for index, sa in enumerate(ctx.ordered[:DETAIL_LIMIT]):
        counts = _open_gaps(sa)
        in_place = sum(1 for g in sa.gaps if g.status == "implemented")
        summary = (f"{_system_heading(sa)} {_gap_badges(counts)} "
                   f'<span class="muted">{in_place} of {len(sa.gaps)} in place</span>')
        parts.append(_details(sa, summary, _gap_table(ctx, sa.gaps), is_open=index < 2))
    parts.append("</section>")
    return "".join(parts)


def _gap_table(ctx: _Context, gaps: Sequence[Gap]) -> str:
    if not gaps:
        return '<p class="muted">No control is required for this system.</p>'
    rows = []
    for gap in sorted(gaps, key=lambda g: (_STATUS_ORDER.get(g.status, 9), -g.severity.rank, g.control)):
        why = _list(gap.required_by)
        if gap.threats:
            why += '<div class="small">Counters ' + ", ".join(_atlas_link(t) for t in gap.threats) + "</div>"
        if gap.obligations:
            why += f'<div class="small">Obligations: {_e(", ".join(gap.obligations))}</div>'
        evidence = [f"<div>{_e(gap.status_reason)}</div>"]
        for ev_id in gap.evidence:
            ev = ctx.evidence.get(ev_id)
            text = f"{ev.summary or ev.kind} ({ev.source})" if ev else ""
            evidence.append(f'<div class="small"><code>{_e(ev_id)}</code> {_e(text)}</div>')
        rows.append(
            f'<tr class="gap-{_e(gap.status)}" data-control="{_e(gap.control)}"><td><code>{_e(gap.control)}'
            f"</code><br>{_e(gap.title)}</td><td>{_status(gap.status)}</td><td>{_sev(gap.severity)}</td>"
            f"<td>{why}</td><td>{''.join(evidence)}</td></tr>"
        )
    return _table(["Control", "Status", "Severity", "Why required", "Evidence"], "".join(rows), cls="gaps")


# --------------------------------------------------------------------------- plan


def _plan_section(ctx: _Context) -> str:
    plan = ctx.assessment.plan
    parts = ['<section id="plan"><h2>Action plan</h2>']
    if not plan.actions:
        parts.append('<div class="card"><p class="muted">No actions: there is no open gap to close.</p></div>'
                     "</section>")
        return "".join(parts)
    key_titles = [x for x in plan.actions if x.key or x.control in plan.key_controls]
    if key_titles:
        chips = "".join(f'<span class="chip">★ {_e(x.control)} {_e(x.title)}</span>' for x in key_titles)
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
        parts.append(f'<div class="card"><h3>Backlog ({_plural(len(backlog), "action")}, '
                     f"{_days(sum(x.effort_days for x in backlog))} person-days)</h3>"
                     f"{_action_table(ctx, backlog, bars, by_id, plan.key_controls)}</div>")
    parts.append("</section>")
    return "".join(parts)


def _phase_card(ctx: _Context, phase: Phase, actions: list[Action], bars: Mapping[str, charts.Bar],
                by_id: Mapping[str, Action]) -> str:
    use = _pct(phase.planned_days, phase.capacity_days)
    over = phase.planned_days > phase.capacity_days
    meter = (f'<div class="capacity"><span>{_days(phase.planned_days)} of {_days(phase.capacity_days)} '
             f"person-days planned ({use}% of capacity)</span><div class=\"meter{' over' if over else ''}\">"
             f'<span style="width:{min(100, use)}%"></span></div></div>')
    months = phase.months if phase.months.lower().startswith("month") else f"months {phase.months}"
    table = (_action_table(ctx, actions, bars, by_id, ctx.assessment.plan.key_controls) if actions
             else '<p class="muted">No actions in this phase.</p>')
    return (f'<div class="card phase p{phase.number}" data-phase="{phase.number}"><h3>Phase {phase.number}: '
            f'{_e(phase.name)} <span class="muted">{_e(months)}</span></h3>{meter}{table}</div>')


def _action_table(ctx: _Context, actions: Sequence[Action], bars: Mapping[str, charts.Bar],
                  by_id: Mapping[str, Action], key_controls: Sequence[str]) -> str:
    rows = []
    for x in actions:
        key = x.key or x.control in key_controls
        bar = bars.get(x.id)
        systems = _names([ctx.names.get(s, s) for s in x.systems], limit=12)
        deps = ", ".join(by_id[d].control if d in by_id else d for d in x.depends_on) or "—"
        notes = _e(x.effort_drivers) + (f'<div class="small">{_e(x.note)}</div>' if x.note else "")
        rows.append(
            f'<tr class="{"key" if key else ""}" data-action="{_e(x.id)}"><td>{"★" if key else ""}</td>'
            f"<td><code>{_e(x.control)}</code> {_e(x.title)}</td><td>{_sev(x.severity)}</td>"
            f'<td class="num" title="{_e(systems)}">{len(x.systems):,}</td>'
            f'<td class="num">{_days(x.effort_days)}</td>'
            f"<td>{_e(charts.week_span(bar)) if bar else '—'}</td><td>{_e(deps)}</td><td>{notes}</td></tr>"
        )
    headers = ["★", "Action", "Severity", "#Systems", "#Effort (pd)", "Weeks", "After", "Effort drivers"]
    return _table(headers, "".join(rows), cls="actions")


# --------------------------------------------------------------------------- footer


def _footer(ctx: _Context) -> str:
    a = ctx.assessment
    rows = "".join(
        f'<tr data-catalogue="{_e(c.id)}"><td>{_e(c.title)}</td><td><code>{_e(c.id)}</code></td>'
        f"<td>{_e(c.version)}</td><td>{_e(_date(c.effective_date))}</td>"
        f'<td class="src">{_e(c.source)}</td></tr>'
        for c in a.catalogues
    )
    table = (_table(["Catalogue", "ID", "Version", "Effective", "Source"], rows) if rows
             else '<p class="muted">The assessment records no catalogue versions.</p>')
    capacity = " / ".join(_days(c) for c in a.settings.capacity_days) or "—"
    settings = [
        ("EU AI Act calendar", a.settings.eu_ai_act_calendar), ("As of", a.settings.as_of.isoformat()),
        ("Capacity per phase (person-days)", capacity), ("Schema version", a.schema_version),
        ("Tool version", f"Clearsight {a.tool_version}"), ("Inventory", a.inventory),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in settings)
    return ('<footer id="catalogues"><div class="wrap"><h2>Catalogues and settings</h2>'
            f'<div class="grid2 wide-left">{table}<dl class="facts">{dl}</dl></div>'
            '<p class="fine">Every rating in this report comes from the assessment document; re-run with the '
            "same inventory, catalogues and settings to reproduce it. ATLAS links open atlas.mitre.org.</p>"
            "</div></footer>")


PRINT_SCRIPT = (
    "window.addEventListener('beforeprint',function(){"
    "document.querySelectorAll('details').forEach(function(d){d.open=true;});});"
)

CSS = """
:root{--ink:#1f2933;--muted:#627d98;--line:#d9e2ec;--bg:#f3f5f9;--navy:#102a43;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:#1d4ed8;text-decoration:none}
a:hover{text-decoration:underline}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef2f7;
padding:1px 5px;border-radius:4px;color:#334e68}
.wrap{max-width:1320px;margin:0 auto;padding:0 32px}
header.top{background:linear-gradient(120deg,#0b1f33 0%,#15395e 55%,#1e4f86 100%);color:#fff;
padding:30px 0 26px}
header.top .brand{font-size:12px;letter-spacing:.16em;text-transform:uppercase;color:#9fc2ec;
font-weight:600}
header.top h1{margin:6px 0 10px;font-size:30px;font-weight:700;letter-spacing:-.01em}
header.top .meta{display:flex;flex-wrap:wrap;gap:4px 24px;font-size:13px;color:#d9e6f5}
header.top .meta b{font-weight:600;color:#9fc2ec;margin-right:4px}
nav.toc{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid var(--line);display:flex;
gap:2px;padding:0 32px;overflow-x:auto;box-shadow:0 1px 3px rgba(16,42,67,.06)}
nav.toc a{padding:12px 12px 10px;color:#486581;font-weight:600;font-size:13px;white-space:nowrap;
border-bottom:2px solid transparent}
nav.toc a:hover{color:var(--accent);border-bottom-color:var(--accent);text-decoration:none}
main{max-width:1320px;margin:0 auto;padding:24px 32px 32px}
section{margin:0 0 34px;scroll-margin-top:54px}
h2{font-size:21px;margin:0 0 14px;padding-bottom:8px;border-bottom:2px solid var(--line);
color:var(--navy)}
h3{font-size:15px;margin:0 0 12px;color:var(--navy)}
h4{font-size:13px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.card{background:#fff;border-radius:12px;padding:18px 20px;margin-bottom:16px;border:1px solid #e4e9f0;
box-shadow:0 1px 2px rgba(16,42,67,.05)}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;align-items:start}
.grid2.wide-left{grid-template-columns:minmax(0,1.6fr) minmax(0,1fr)}
.grid2>.card{margin-bottom:0}
.grid2{margin-bottom:16px}
.kpis{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:14px;margin:0 0 26px}
.kpi{background:#fff;border-radius:12px;padding:15px 18px;border:1px solid #e4e9f0;
border-top:4px solid var(--accent);box-shadow:0 1px 2px rgba(16,42,67,.05)}
.kpi .l{font-size:11.5px;text-transform:uppercase;letter-spacing:.07em;color:var(--muted);font-weight:700}
.kpi .v{font-size:32px;font-weight:750;line-height:1.15;margin:4px 0 2px;
font-variant-numeric:tabular-nums}
.kpi .s{font-size:12px;color:var(--muted)}
.k-crit{border-top-color:#c92a2a}
.k-crit .v{color:#c92a2a}
.k-high{border-top-color:#e8590c}
.k-high .v{color:#d9480f}
.k-ok{border-top-color:#2f9e44}
.k-purple{border-top-color:#7048e8}
.k-purple .v{color:#6741d9}
ul.findings{margin:0;padding:0;list-style:none}
ul.findings li{padding:7px 0 7px 22px;position:relative;border-bottom:1px solid #f0f3f7}
ul.findings li:last-child{border-bottom:0}
ul.findings li::before{content:"";position:absolute;left:4px;top:15px;width:8px;height:8px;
border-radius:50%;background:var(--accent)}
.top5 ol{margin:0;padding:0;list-style:none}
.top5 li{padding:6px 0;border-bottom:1px solid #f0f3f7}
.rank{display:inline-block;width:22px;height:22px;border-radius:50%;background:#e8eef6;text-align:center;
font-weight:700;font-size:12px;line-height:22px;margin-right:4px}
ul.plain{margin:0;padding-left:16px}
ul.plain li{margin:1px 0}
ol.plain{margin:0}
.muted{color:var(--muted)}
.small{font-size:12px;color:#486581;margin-top:3px}
.note{background:#f0f6ff;border-left:3px solid var(--accent);padding:8px 12px;border-radius:4px;
color:#334e68;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
font-weight:700;border-bottom:2px solid var(--line);padding:8px;background:#f8fafc;white-space:nowrap}
td{border-bottom:1px solid #edf1f5;padding:7px 8px;vertical-align:top}
tbody tr:hover td{background:#f8fbff}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.key td{background:#fff8e1}
tr.key td:first-child{color:#b7791f;font-weight:700}
.b{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11.5px;font-weight:700;
white-space:nowrap;line-height:1.6;border:1px solid transparent;vertical-align:1px}
.sev-critical{background:#c92a2a;color:#fff}
.sev-high{background:#e8590c;color:#fff}
.sev-medium{background:#ffe08a;color:#5c4300}
.sev-low{background:#d3f0da;color:#1b5e2b}
.t-prohibited{background:#3b0a0a;color:#fff}
.t-high-risk{background:#fde2e1;color:#9b1c1c;border-color:#f5b5b3}
.t-limited{background:#fff3c4;color:#7a5a00;border-color:#f5dc8a}
.t-minimal{background:#e3f4e8;color:#1b5e2b;border-color:#b7e0c2}
.t-out-of-scope{background:#eef2f6;color:#486581;border-color:#d9e2ec}
.st-implemented{background:#d3f0da;color:#1b5e2b}
.st-partial{background:#fff0c2;color:#7a5a00}
.st-missing{background:#fde2e1;color:#9b1c1c}
.st-not-applicable{background:#eef2f6;color:#627d98}
.due-now{background:#243b53;color:#fff}
.due-soon{background:#fff0c2;color:#7a5a00}
.shadow{background:#ede7ff;color:#5b21b6;border-color:#d4c5fd}
.dist{display:grid;grid-template-columns:110px 1fr 48px;align-items:center;gap:10px;margin:6px 0;
font-size:13px}
.dbar{height:12px;background:#eef2f6;border-radius:6px;overflow:hidden;display:block}
.dbar span{display:block;height:100%;border-radius:6px;border:0}
.dn{text-align:right;font-weight:700}
.dist+h3{margin-top:20px}
details.sys{background:#fff;border:1px solid #e4e9f0;border-radius:10px;margin-bottom:10px}
details.sys>summary{cursor:pointer;padding:11px 16px;list-style:none;display:flex;flex-wrap:wrap;
align-items:center;gap:8px}
details.sys>summary::-webkit-details-marker{display:none}
details.sys>summary::before{content:"\\25B8";color:var(--muted);display:inline-block;width:12px;
transition:transform .15s}
details.sys[open]>summary::before{transform:rotate(90deg)}
details.sys[open]>summary{border-bottom:1px solid #edf1f5}
.sysname{font-weight:700;font-size:14.5px}
details.sys .body{padding:6px 18px 16px}
details.more>summary{cursor:pointer;color:var(--accent);font-weight:600;padding:10px 0}
dl.facts{display:grid;grid-template-columns:190px 1fr;gap:6px 16px;margin:8px 0}
dl.facts dt{font-weight:600;color:#486581}
dl.facts dd{margin:0}
.scn{border:1px solid #e4e9f0;border-radius:10px;padding:12px 14px;margin:12px 0;background:#fbfcfe}
.scn-h{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.scn p{margin:6px 0}
ol.chain{display:flex;flex-wrap:wrap;gap:8px 26px;list-style:none;padding:0;margin:10px 0}
ol.chain li{position:relative;display:flex;flex-direction:column;background:#eaf1ff;
border:1px solid #c5d6fb;border-radius:8px;padding:5px 11px;min-width:120px;max-width:230px}
ol.chain li:not(:last-child)::after{content:"\\2192";position:absolute;right:-20px;top:50%;
transform:translateY(-50%);color:#829ab1;font-weight:700}
ol.chain li.goal{background:#fde8e7;border-color:#f2b8b5}
ol.chain .tac{font-size:10px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);
font-weight:700}
ol.chain a{font-weight:600;font-size:13px;color:#102a43}
ol.chain .tid{font-size:10.5px;color:#829ab1}
.cs,.goalline{font-size:13px}
table.gaps th:nth-child(1){width:26%}
table.gaps th:nth-child(4){width:26%}
table.gaps th:nth-child(5){width:30%}
.scroll{overflow-x:auto}
.chartbox svg{max-width:100%;height:auto;display:block}
.scroll svg{display:block}
.chips{display:flex;flex-wrap:wrap;gap:8px}
.chip{background:#fff8e1;border:1px solid #f3d37a;color:#7a5a00;padding:4px 11px;border-radius:999px;
font-size:12.5px;font-weight:600}
.capacity{display:flex;align-items:center;gap:14px;margin:0 0 12px;font-size:13px;color:#486581}
.meter{flex:0 0 260px;height:10px;background:#e6ebf1;border-radius:5px;overflow:hidden}
.meter span{display:block;height:100%;background:#2f9e44}
.meter.over span{background:#c92a2a}
.phase.p1{border-left:4px solid #c92a2a}
.phase.p2{border-left:4px solid #e8590c}
.phase.p3{border-left:4px solid #e6a700}
footer{background:#102a43;color:#d9e2ec;padding:28px 0 34px;margin-top:20px}
footer h2{color:#fff;border-bottom-color:#243b53}
footer table{color:#d9e2ec}
footer th{background:#18344f;color:#9fb3c8;border-bottom-color:#243b53}
footer td{border-bottom-color:#1f3a56}
footer tbody tr:hover td{background:#15304a}
footer code{background:#1f3a56;color:#d9e2ec}
footer dl.facts dt{color:#9fb3c8}
footer .src{word-break:break-all;font-size:12px}
.fine{font-size:12px;color:#9fb3c8;margin-top:18px}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(2,minmax(0,1fr))}
.grid2,.grid2.wide-left{grid-template-columns:minmax(0,1fr)}
main{padding:16px}
}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;font-size:11.5px}
nav.toc{display:none}
header.top{padding:16px 0}
main{padding:12px 0;max-width:none}
.card,details.sys,.kpi{box-shadow:none;break-inside:avoid}
details.sys{break-inside:auto}
tr,.scn{break-inside:avoid}
h2{break-after:avoid}
section{break-before:auto}
.scroll{overflow:visible}
.scroll svg{max-width:100%;height:auto}
details::details-content{content-visibility:visible;display:block}
details.sys>summary::before{content:""}
a{color:inherit}
footer{background:#fff;color:var(--ink)}
footer h2{color:var(--navy)}
footer table{color:var(--ink)}
footer th{background:#f8fafc;color:var(--muted)}
footer code{background:#eef2f7;color:#334e68}
}
"""

"""An executive summary in Markdown: what a board reads in five minutes, every sentence computed."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from clearsight.core.assessment import Assessment, SystemAssessment
from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.report.text import LEGAL_NAMES, catalogue_label, phase_label, plural

MAX_ROWS = 25
MAX_GAPS = 6


def render(assessment: Assessment, atlas: AtlasCatalogue | None = None) -> str:
    lines: list[str] = []
    add = lines.append
    s = assessment.summary
    add(f"# AI security assessment - {_md(assessment.organisation)}")
    add("")
    add(f"*{assessment.generated_at.date().isoformat()} · Clearsight {assessment.tool_version} · "
        f"assessed as of {assessment.settings.as_of.isoformat()}*")
    add("")
    add("## Summary")
    add("")
    for sentence in _headlines(assessment):
        add(f"- {sentence}")
    add("")
    add("| Systems | Shadow AI | High-risk (EU AI Act) | Critical / High tier | Open critical / high gaps "
        "| Plan effort |")
    add("|---:|---:|---:|---:|---:|---:|")
    add(f"| {s.systems} | {s.shadow_systems if s.discovery_run else 'not measured'} | {s.high_risk_legal} | "
        f"{s.internal_tiers.get('critical', 0)} / {s.internal_tiers.get('high', 0)} | "
        f"{s.open_gaps.get('critical', 0)} / {s.open_gaps.get('high', 0)} | "
        f"{assessment.plan.total_effort_days:g} person-days |")
    add("")

    add("## 1. Where the risk is")
    add("")
    add("| # | System | Internal tier | EU AI Act | Score | Open gaps |")
    add("|---:|---|---|---|---:|---:|")
    for entry in assessment.portfolio[:MAX_ROWS]:
        shadow = " (shadow AI)" if not entry.declared else ""
        add(f"| {entry.rank} | {_md(entry.name)}{shadow} | {entry.internal_tier.title} | "
            f"{LEGAL_NAMES[entry.legal_tier]} | {entry.score} | {entry.open_gaps} |")
    if len(assessment.portfolio) > MAX_ROWS:
        add(f"| | *... and {len(assessment.portfolio) - MAX_ROWS} more (see the HTML or JSON report)* | | | | |")
    add("")
    for result in _top(assessment):
        add(f"### {_md(result.system.name)}")
        add("")
        legal = result.risk.legal
        add(f"- **EU AI Act:** {LEGAL_NAMES[legal.tier]}. " + " ".join(_md(r) for r in legal.rationale))
        add(f"- **Internal risk:** {result.risk.internal.tier.title}. {_md(result.risk.internal.rationale)}")
        dated = [o for o in legal.obligations if o.applies_from]
        if dated:
            as_of = assessment.settings.as_of
            add("- **Obligations:** " + "; ".join(
                f"{o.article} {_md(o.title)} ({_when(o.applies_from, as_of)} {o.applies_from.isoformat()})"
                for o in dated[:8] if o.applies_from
            ) + (f"; and {len(dated) - 8} more" if len(dated) > 8 else ""))
        add("")

    add("## 2. How attackers would proceed")
    add("")
    for result in _top(assessment):
        for scenario in result.scenarios[:3]:
            chain = " → ".join(step.name for step in scenario.steps)
            cases = ", ".join(f"{c.id} *{_md(c.name)}*" for c in scenario.case_studies)
            add(f"- **{_md(result.system.name)} - {_md(scenario.title)}** ({scenario.severity.title}): "
                f"{_md(scenario.narrative)} Chain: {chain}." + (f" Seen before in {cases}." if cases else ""))
    add("")

    add("## 3. Gaps in the controls")
    add("")
    for result in _top(assessment):
        open_gaps = [g for g in result.gaps if g.is_open]
        in_place = [g for g in result.gaps if g.status == "implemented"]
        add(f"**{_md(result.system.name)}:** {plural(len(in_place), 'control')} in place, "
            f"{plural(len(open_gaps), 'gap')} open.")
        add("")
        for gap in open_gaps[:MAX_GAPS]:
            add(f"- {gap.severity.title}: {gap.control} {_md(gap.title)} ({gap.status}) - "
                f"{_md(gap.required_by[0])}")
        if len(open_gaps) > MAX_GAPS:
            add(f"- ... {len(open_gaps) - MAX_GAPS} more open gaps, listed in the HTML and JSON reports")
        if in_place:
            add("- In place: " + ", ".join(f"{g.control} {_md(g.title)}" for g in in_place[:6]))
        add("")

    add("## 4. Action plan")
    add("")
    plan = assessment.plan
    key = [a for a in plan.actions if a.key]
    if key:
        days = sum(a.effort_days for a in key)
        add(f"Phase 1 starts with {plural(len(key), 'key control')} ({days:g} person-days) that cut the "
            "largest risks first:")
        add("")
        for action in key:
            add(f"1. **{action.control} {_md(action.title)}** - {action.severity.title}, "
                f"{action.effort_days:g} days, {plural(len(action.systems), 'system')}")
        add("")
    add("| Phase | Actions | Effort (person-days) | Capacity |")
    add("|---|---:|---:|---:|")
    for phase in plan.phases:
        add(f"| {phase_label(phase.number)} | {len(phase.actions)} | {phase.planned_days:g} | "
            f"{phase.capacity_days:g} |")
    add(f"| Backlog | {len(plan.backlog)} | "
        f"{sum(a.effort_days for a in plan.actions if a.phase is None):g} | - |")
    add("")
    add("## Frameworks used")
    add("")
    for cat in assessment.catalogues:
        date = f", {cat.effective_date.isoformat()}" if cat.effective_date else ""
        add(f"- {_md(catalogue_label(cat))}{date}")
    add(f"- EU AI Act calendar: {assessment.settings.eu_ai_act_calendar}")
    add("")
    return "\n".join(lines)


def _headlines(assessment: Assessment) -> list[str]:
    s = assessment.summary
    if not s.discovery_run:
        shadow = " (declared ones only: discovery did not run, so shadow AI was not measured)."
    else:
        shadow = f", {s.shadow_systems} of them shadow AI nobody declared." if s.shadow_systems else "."
    out = [f"{plural(s.systems, 'AI system')} assessed{shadow}"]
    serious = s.internal_tiers.get("critical", 0) + s.internal_tiers.get("high", 0)
    if s.systems:
        out.append(f"{serious} of {s.systems} rated High or Critical internally; "
                   f"{s.high_risk_legal} high-risk under the EU AI Act.")
        personal = sum(1 for r in assessment.systems if r.system.traits.personal_data)
        production = sum(1 for r in assessment.systems if r.system.traits.production_data != "none")
        out.append(f"{personal} process personal data; {production} connect to production data.")
    if assessment.portfolio:
        top = assessment.portfolio[0]
        out.append(f"Riskiest system: {_md(top.name)} ({top.internal_tier.title}, "
                   f"{LEGAL_NAMES[top.legal_tier].lower()} under the EU AI Act).")
    goals = Counter(sc.title for r in assessment.systems for sc in r.scenarios
                    if sc.severity >= Severity.HIGH)
    if goals:
        title, count = goals.most_common(1)[0]
        out.append(f"Most common serious attack scenario: {_md(title).lower()} ({plural(count, 'system')}).")
    met = "is" if s.controls_in_place == 1 else "are"
    out.append(f"Of {s.controls_required} control requirements (each control counted once per system that "
               f"needs it), {s.controls_in_place} {met} met and {plural(sum(s.open_gaps.values()), 'gap')} "
               "remain open.")
    return out


def _when(day: dt.date, as_of: dt.date) -> str:
    return "in force since" if day <= as_of else "applies from"


def _top(assessment: Assessment, limit: int = 5) -> list[SystemAssessment]:
    by_id = {r.system.id: r for r in assessment.systems}
    return [by_id[e.system] for e in assessment.portfolio[:limit]]


def _md(text: str) -> str:
    """Escape characters that would turn inventory text into Markdown or HTML."""
    out = text
    for ch in ("\\", "|", "*", "_", "`", "<", ">", "[", "]"):
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")

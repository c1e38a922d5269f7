"""Terminal tables (rich): what a person sees when no file format is asked for."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from clearsight.assess.diff import AssessmentDiff
from clearsight.core.assessment import Assessment
from clearsight.core.severity import Severity
from clearsight.report.text import LEGAL_NAMES, catalogue_label, phase_label

MAX_SYSTEMS = 30
MAX_ACTIONS = 40
STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow", Severity.LOW: "dim"}


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, width=120, force_terminal=False, color_system=None, highlight=False)


def assessment_table(assessment: Assessment) -> str:
    buffer = io.StringIO()
    console = _console(buffer)
    s = assessment.summary
    console.print(
        f"Clearsight {assessment.tool_version} - {assessment.organisation}: {s.systems} AI systems "
        + (f"({s.shadow_systems} shadow), " if s.discovery_run else "(shadow AI not measured), ")
        + f"{s.high_risk_legal} high-risk under the EU AI Act, "
        f"{sum(s.open_gaps.values())} open gaps."
    )
    portfolio = Table(title="Portfolio (most dangerous first)", title_justify="left")
    for col in ("#", "System", "Internal tier", "EU AI Act", "Score", "Open gaps"):
        portfolio.add_column(col)
    for e in assessment.portfolio[:MAX_SYSTEMS]:
        portfolio.add_row(str(e.rank), e.name + ("" if e.declared else " (shadow)"), e.internal_tier.title,
                          LEGAL_NAMES[e.legal_tier], str(e.score), str(e.open_gaps), style=STYLE[e.internal_tier])
    if len(assessment.portfolio) > MAX_SYSTEMS:
        portfolio.add_row("", f"... and {len(assessment.portfolio) - MAX_SYSTEMS} more (see --format html or json)",
                          "", "", "", "")
    console.print(portfolio)
    plan = Table(title="Action plan", title_justify="left")
    for col in ("Phase", "Control", "Title", "Severity", "Days", "Systems", "Key"):
        plan.add_column(col)
    for a in assessment.plan.actions[:MAX_ACTIONS]:
        plan.add_row(phase_label(a.phase), a.control, a.title, a.severity.title, f"{a.effort_days:g}",
                     str(len(a.systems)), "*" if a.key else "", style=STYLE[a.severity])
    if len(assessment.plan.actions) > MAX_ACTIONS:
        plan.add_row("", "", f"... and {len(assessment.plan.actions) - MAX_ACTIONS} more (see --format csv)",
                     "", "", "", "")
    console.print(plan)
    console.print("Catalogues: " + "; ".join(catalogue_label(c) for c in assessment.catalogues))
    return buffer.getvalue()


def diff_table(diff: AssessmentDiff) -> str:
    buffer = io.StringIO()
    console = _console(buffer)
    console.print(f"{diff.improved} better, {diff.worsened} worse ({diff.old} -> {diff.new})")
    table = Table()
    for col in ("", "System", "Change", "Subject", "Before", "After"):
        table.add_column(col)
    for c in diff.changes:
        table.add_row("+" if c.better else "-", c.system, c.kind, c.subject, c.before or "", c.after or "",
                      style="green" if c.better else STYLE[c.severity])
    console.print(table)
    return buffer.getvalue()

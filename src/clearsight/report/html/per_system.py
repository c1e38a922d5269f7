"""The collapsible per-system blocks that the legal, threats and gaps sections repeat for each system.

Only the highest-ranked :data:`DETAIL_LIMIT` systems get one, so that a portfolio of thousands still makes
a report that opens and prints; the sections say so when they cut.
"""

from __future__ import annotations

from clearsight.core.assessment import SystemAssessment
from clearsight.report.html.context import ReportContext
from clearsight.report.html.format import esc

DETAIL_LIMIT = 50
"""Per-system sections (legal, threats, gaps) cover this many systems, highest-ranked first."""


def system_heading(sa: SystemAssessment) -> str:
    shadow = "" if sa.system.declared else ' <span class="b shadow">Shadow AI</span>'
    return (f'<span class="sysname">{esc(sa.system.name)}</span> <code>{esc(sa.system.id)}</code>{shadow}')


def system_details(sa: SystemAssessment, summary: str, body: str, *, is_open: bool) -> str:
    return (f'<details class="sys"{" open" if is_open else ""} data-system="{esc(sa.system.id)}">'
            f'<summary>{summary}</summary><div class="body">{body}</div></details>')


def limited_note(ctx: ReportContext, what: str) -> str:
    """Says that a section was cut at :data:`DETAIL_LIMIT` systems and where the rest is; empty if not cut."""
    total = len(ctx.ordered)
    if total <= DETAIL_LIMIT:
        return ""
    return (f'<p class="note">Showing {what} for the {DETAIL_LIMIT} highest-ranked of {total:,} systems. '
            "The JSON report (<code>--format json</code>) holds every system in full.</p>")

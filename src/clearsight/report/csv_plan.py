"""The action plan as CSV, for spreadsheets and project tools."""

from __future__ import annotations

import csv
import io

from clearsight.core.assessment import Assessment
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.report.text import phase_label

COLUMNS = (
    "phase", "action", "control", "title", "severity", "key_control", "effort_days", "start_week", "end_week",
    "systems", "depends_on", "effort_drivers", "note",
)


def render(assessment: Assessment, atlas: AtlasCatalogue | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for action in assessment.plan.actions:
        writer.writerow([
            phase_label(action.phase), action.id, action.control, _safe(action.title), action.severity.value,
            "yes" if action.key else "", action.effort_days, action.start_week or "", action.end_week or "",
            " ".join(action.systems), " ".join(action.depends_on), _safe(action.effort_drivers),
            _safe(action.note or ""),
        ])
    return out.getvalue()


def _safe(text: str) -> str:
    """Stop spreadsheet formula injection from text that came from an inventory."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

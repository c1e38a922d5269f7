"""The report formats, in one table: adding a format means one module and one line here.

Every renderer takes the finished :class:`Assessment` and returns text (or UTF-8 pieces); none of them
recomputes a rating.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearsight.atomic_files import Rendered
from clearsight.report.names import FORMAT_NAMES

if TYPE_CHECKING:
    from clearsight.core.assessment import Assessment
    from clearsight.frameworks.atlas import AtlasCatalogue

Render = Callable[["Assessment", "AtlasCatalogue | None"], Rendered]
"""Render a finished assessment; the ATLAS edition it was made with is passed when the caller has it.

A renderer may return UTF-8 bytes or pieces instead of text when the document is large (the JSON report)."""


@dataclass(frozen=True)
class ReportFormat:
    name: str
    extension: str
    description: str
    render: Render


def _formats() -> dict[str, ReportFormat]:
    # Imported here so that ``clearsight --help`` does not pay for every renderer.
    import clearsight.report.html as html
    from clearsight.report import csv_plan, json_report, markdown, navigator, sarif

    table = [
        ReportFormat("json", "json", "the Assessment document (versioned schema)", json_report.render),
        ReportFormat("md", "md", "executive summary in Markdown", markdown.render),
        ReportFormat("html", "html", "self-contained report with charts", html.render),
        ReportFormat("sarif", "sarif", "open gaps as SARIF 2.1.0 results", sarif.render),
        ReportFormat("navigator", "layer.json", "MITRE ATLAS Navigator layer", navigator.render),
        ReportFormat("csv", "csv", "the action plan as CSV", csv_plan.render),
    ]
    formats = {f.name: f for f in table}
    assert tuple(formats) == FORMAT_NAMES, "report/names.py lists the formats in registry order"
    return formats




def get_format(name: str) -> ReportFormat:
    formats = _formats()
    if name not in formats:
        raise KeyError(name)
    return formats[name]

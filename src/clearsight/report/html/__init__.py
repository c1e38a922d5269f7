"""The HTML report: one self-contained file that opens offline, prints cleanly and can be mailed as is.

Everything is inline (style and SVG charts); nothing is fetched, and the only script opens the collapsed
sections before printing. The report shows what the Assessment holds and re-derives no rating: counts
come from its summary, tiers from its risk profiles, weeks from its plan. Portfolios of thousands of
systems stay a reasonable size: the ranking lists every system, the per-system sections cover the
highest-ranked :data:`DETAIL_LIMIT` and say so.

The page is assembled in :mod:`.page` from one module per section (:mod:`.summary`, :mod:`.portfolio`,
:mod:`.legal`, :mod:`.threats`, :mod:`.gaps`, :mod:`.plan`), with the shared building blocks in
:mod:`.format` and :mod:`.per_system`, and the stylesheet in :mod:`.style`.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from clearsight.core.assessment import Assessment
from clearsight.core.errors import CatalogueError
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.atlas_store import atlas_edition
from clearsight.report.html.context import ControlIndex
from clearsight.report.html.coverage import coverage_rows
from clearsight.report.html.page import render_html
from clearsight.report.html.per_system import DETAIL_LIMIT
from clearsight.report.html.summary import executive_summary

__all__ = [
    "DETAIL_LIMIT",
    "ControlIndex",
    "coverage_rows",
    "executive_summary",
    "load_control_index",
    "render",
    "render_html",
]


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

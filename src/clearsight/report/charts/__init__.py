"""Inline SVG charts for the HTML report: pure functions from Assessment parts to SVG text.

Each chart is a standalone, well-formed SVG document (it parses with ``xml.etree``) that needs no script,
font, stylesheet or image from anywhere: a report opened offline, or printed, looks the same. Every piece of
text from the assessment goes through :func:`html.escape`. Charts carry ``data-`` attributes (cell
coordinates, IDs, counts) so that tests and other tools can read them without guessing at pixel positions.

One module per chart (:mod:`.matrix`, :mod:`.heatmap`, :mod:`.coverage`, :mod:`.gantt`), the week layout
they share with the report tables in :mod:`.timeline`, and the drawing helpers in :mod:`.svg`.
"""

from __future__ import annotations

from clearsight.report.charts.coverage import CoverageRow, coverage_bars_svg
from clearsight.report.charts.gantt import gantt_svg
from clearsight.report.charts.heatmap import atlas_heatmap_svg, technique_exposure
from clearsight.report.charts.matrix import MatrixPoint, matrix_points, risk_matrix_svg
from clearsight.report.charts.timeline import Bar, schedule, week_span

__all__ = [
    "Bar",
    "CoverageRow",
    "MatrixPoint",
    "atlas_heatmap_svg",
    "coverage_bars_svg",
    "gantt_svg",
    "matrix_points",
    "risk_matrix_svg",
    "schedule",
    "technique_exposure",
    "week_span",
]

"""Stacked coverage bars: how many required controls are implemented, partial or missing per group.

The chart only draws the counts it is given; grouping controls by NIST AI RMF function or CRISP-ML(Q) phase
is the report's job (:func:`clearsight.report.html.coverage_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from clearsight.report.charts.svg import MUTED, STATUS_COLOURS, cut, esc, num, svg_document, text


class CoverageRow(NamedTuple):
    """Control requirements of one group (a NIST AI RMF function, a CRISP-ML(Q) phase) by status."""

    label: str
    implemented: int
    partial: int
    missing: int
    detail: str = ""

    @property
    def total(self) -> int:
        return self.implemented + self.partial + self.missing


def coverage_bars_svg(rows: Sequence[CoverageRow], *, title: str = "Control coverage") -> str:
    """Stacked 100% bars, one per group: implemented, partial, missing, with counts and the share in place."""
    label_w, bar_w, right_w, row_h, top = 200.0, 270.0, 130.0, 38.0, 30.0
    width = label_w + bar_w + right_w
    height = top + max(1, len(rows)) * row_h + 8
    body: list[str] = []
    lx = label_w
    for status in ("implemented", "partial", "missing"):
        body.append(f'<rect x="{num(lx)}" y="6" width="12" height="12" rx="2" '
                    f'fill="{STATUS_COLOURS[status]}"/>')
        body.append(text(lx + 17, 16, status.capitalize(), size=11))
        lx += 20 + 7 * len(status)
    if not rows:
        body.append(text(label_w, top + 22, "No control requirements to show.", size=12, fill=MUTED))
    for index, row in enumerate(rows):
        y = top + index * row_h
        parts = [
            f'<g class="row" data-label="{esc(row.label)}" data-implemented="{row.implemented}" '
            f'data-partial="{row.partial}" data-missing="{row.missing}">'
            f"<title>{esc(row.label)}{esc(' — ' + row.detail) if row.detail else ''}: {row.implemented} "
            f"implemented, {row.partial} partial, {row.missing} missing</title>",
            text(0, y + (16 if row.detail else 22), cut(row.label, 28), size=12, weight="600"),
        ]
        if row.detail:
            parts.append(text(0, y + 30, cut(row.detail, 33), size=10.5, fill=MUTED))
        bx, by, bh = label_w, y + 8, 20.0
        if row.total == 0:
            parts.append(f'<rect x="{num(bx)}" y="{num(by)}" width="{num(bar_w)}" height="{num(bh)}" rx="3" '
                         f'fill="#f0f4f8"/>')
            parts.append(text(bx + 8, by + 14, "not required", size=10.5, fill=MUTED))
        for status, count in (("implemented", row.implemented), ("partial", row.partial),
                              ("missing", row.missing)):
            if not count or not row.total:
                continue
            seg = bar_w * count / row.total
            parts.append(f'<rect class="seg-{status}" x="{num(bx)}" y="{num(by)}" width="{num(seg)}" '
                         f'height="{num(bh)}" fill="{STATUS_COLOURS[status]}"/>')
            if seg >= 8 * len(str(count)) + 6:
                parts.append(text(bx + seg / 2, by + 14, str(count), size=10.5, anchor="middle",
                                   weight="700", fill="#ffffff"))
            bx += seg
        if row.total:
            share = round(100 * row.implemented / row.total)
            parts.append(text(label_w + bar_w + 10, y + 22, f"{row.implemented}/{row.total} · {share}%",
                               size=11.5, weight="600"))
        parts.append("</g>")
        body.append("".join(parts))
    return svg_document(width, height, body, label=title, kind="coverage")

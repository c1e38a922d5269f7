"""The 5x5 portfolio risk matrix: where every system sits by internal likelihood and impact.

It must stay readable for one system and for ten thousand, so sparse cells name their systems and crowded
cells collapse into a count whose tooltip still lists them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from clearsight.core.assessment import SystemAssessment
from clearsight.core.severity import severity_from_matrix
from clearsight.report.charts.svg import (
    MUTED,
    SEVERITY_COLOURS,
    SEVERITY_TINTS,
    cut,
    esc,
    names_list,
    num,
    svg_document,
    text,
)

LIKELIHOOD_NAMES = ("Rare", "Unlikely", "Possible", "Likely", "Almost certain")
IMPACT_NAMES = ("Negligible", "Minor", "Moderate", "Major", "Severe")


class MatrixPoint(NamedTuple):
    """One system on the likelihood x impact matrix."""

    id: str
    label: str
    likelihood: int
    impact: int


def matrix_points(systems: Iterable[SystemAssessment]) -> list[MatrixPoint]:
    return [
        MatrixPoint(sa.system.id, sa.system.name, sa.risk.internal.likelihood, sa.risk.internal.impact)
        for sa in systems
    ]


MATRIX_DOTS = 4
"""Cells with up to this many systems draw each one as a labelled dot; fuller cells show a count."""


def risk_matrix_svg(entries: Iterable[SystemAssessment | MatrixPoint]) -> str:
    """The 5x5 portfolio matrix: likelihood on x, impact on y, every system in its cell.

    Each cell is a ``<g class="cell" data-likelihood data-impact data-count>`` whose tooltip lists its
    systems, so a portfolio of thousands stays readable: crowded cells show a count bubble instead of dots.
    """
    points = [p if isinstance(p, MatrixPoint) else matrix_points([p])[0] for p in entries]
    cells: dict[tuple[int, int], list[MatrixPoint]] = {}
    for point in points:
        key = (max(1, min(5, point.likelihood)), max(1, min(5, point.impact)))
        cells.setdefault(key, []).append(point)

    left, top, cw, ch = 96.0, 16.0, 132.0, 86.0
    width, height = left + 5 * cw + 16, top + 5 * ch + 86
    body: list[str] = []
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            body.append(_matrix_cell(likelihood, impact, cells.get((likelihood, impact), []),
                                     left + (likelihood - 1) * cw, top + (5 - impact) * ch, cw, ch))
    for i in range(5):
        x = left + i * cw + cw / 2
        body.append(text(x, top + 5 * ch + 16, f"{i + 1} · {LIKELIHOOD_NAMES[i]}", size=11,
                          anchor="middle", fill=MUTED))
        y = top + (4 - i) * ch + ch / 2 + 4
        body.append(text(left - 8, y, f"{IMPACT_NAMES[i]} · {i + 1}", size=11, anchor="end", fill=MUTED))
    body.append(text(left + 2.5 * cw, top + 5 * ch + 38, "Likelihood →", size=12, anchor="middle",
                      weight="600"))
    cy = top + 2.5 * ch
    body.append(text(14, cy, "Impact →", size=12, anchor="middle", weight="600",
                      extra=f' transform="rotate(-90 14 {num(cy)})"'))
    legend_y = top + 5 * ch + 62
    x = left
    for sev in ("low", "medium", "high", "critical"):
        body.append(f'<rect x="{num(x)}" y="{num(legend_y)}" width="14" height="14" rx="3" '
                    f'fill="{SEVERITY_TINTS[sev]}" stroke="{SEVERITY_COLOURS[sev]}"/>')
        body.append(text(x + 20, legend_y + 11, sev.capitalize(), size=11))
        x += 92
    body.append(text(left + 5 * cw, legend_y + 11, f"{len(points):,} systems", size=11, anchor="end",
                      fill=MUTED))
    return svg_document(width, height, body, label="Portfolio risk matrix: likelihood × impact", kind="matrix")


def _matrix_cell(likelihood: int, impact: int, members: list[MatrixPoint], x: float, y: float,
                 w: float, h: float) -> str:
    sev = severity_from_matrix(likelihood, impact).value
    names = [m.label for m in members]
    tip = f"Likelihood {likelihood} × impact {impact} = {likelihood * impact} ({sev.capitalize()})"
    if members:
        tip += f": {len(members):,} system{'s' if len(members) != 1 else ''}: {names_list(names)}"
    parts = [
        f'<g class="cell" data-likelihood="{likelihood}" data-impact="{impact}" data-severity="{sev}" '
        f'data-count="{len(members)}"><title>{esc(tip)}</title>',
        f'<rect x="{num(x + 1)}" y="{num(y + 1)}" width="{num(w - 2)}" height="{num(h - 2)}" rx="4" '
        f'fill="{SEVERITY_TINTS[sev]}" stroke="#ffffff" stroke-width="2"/>',
        text(x + w - 7, y + h - 8, str(likelihood * impact), size=10, anchor="end", fill=MUTED),
    ]
    colour = SEVERITY_COLOURS[sev]
    if 0 < len(members) <= MATRIX_DOTS:
        for i, member in enumerate(members):
            dy = y + 18 + i * 18
            parts.append(
                f'<g class="system" data-system="{esc(member.id)}"><title>{esc(member.label)} ({esc(member.id)})'
                f"</title><circle cx=\"{num(x + 14)}\" cy=\"{num(dy)}\" r=\"6\" fill=\"{colour}\" "
                f'stroke="#ffffff" stroke-width="1.5"/>'
                + text(x + 24, dy + 4, cut(member.label, 17), size=11) + "</g>"
            )
    elif members:
        radius = min(30.0, 15 + 5 * math.log10(len(members)))
        cx, cy = x + w / 2, y + h / 2 + 4
        parts.append(f'<circle cx="{num(cx)}" cy="{num(cy)}" r="{num(radius)}" fill="{colour}" '
                     f'fill-opacity="0.9" stroke="#ffffff" stroke-width="2"/>')
        parts.append(text(cx, cy + 5, f"{len(members):,}", size=14 if len(members) < 1000 else 12,
                           anchor="middle", weight="700", fill="#ffffff"))
    parts.append("</g>")
    return "".join(parts)

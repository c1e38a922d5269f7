"""The MITRE ATLAS heat map: the techniques the portfolio faces, laid out by tactic in ATLAS order.

The same exposure data feeds the executive summary's "most widespread technique", so it is computed here
once (:func:`technique_exposure`) rather than re-derived by the HTML report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from clearsight.core.assessment import Assessment
from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import AtlasCatalogue, atlas_url
from clearsight.report.charts.svg import (
    GRID,
    MUTED,
    SEVERITY_COLOURS,
    SEVERITY_TINTS,
    esc,
    names_list,
    num,
    svg_document,
    text,
    wrap,
)


class _Exposure(NamedTuple):
    technique: str
    name: str
    tactics: list[str]
    systems: list[str]
    severity: Severity


def technique_exposure(assessment: Assessment, atlas: AtlasCatalogue) -> list[_Exposure]:
    """Every technique in any system's threats, with the systems exposed and the worst severity."""
    found: dict[str, tuple[str, list[str], dict[str, str], Severity]] = {}
    for sa in assessment.systems:
        for threat in sa.threats:
            known = atlas.technique_index.get(threat.technique)
            tactics = threat.tactics or (known.tactics if known else [])
            name = known.name if known else threat.name
            parent = atlas.technique_index.get(known.parent) if known and known.parent else None
            if parent is not None:
                name = f"{parent.name}: {name}"
            if threat.technique not in found:
                found[threat.technique] = (name, list(tactics), {}, threat.severity)
            entry = found[threat.technique]
            entry[2][sa.system.id] = sa.system.name
            for tactic in tactics:
                if tactic not in entry[1]:
                    entry[1].append(tactic)
            if threat.severity > entry[3]:
                found[threat.technique] = (entry[0], entry[1], entry[2], threat.severity)
    return [
        _Exposure(tid, name, tactics, list(systems.values()), sev)
        for tid, (name, tactics, systems, sev) in found.items()
    ]


def atlas_heatmap_svg(
    assessment: Assessment, atlas: AtlasCatalogue, *, show_others: bool = True, per_row: int = 8
) -> str:
    """The ATLAS matrix, one column per tactic in ATLAS order, with the techniques the portfolio faces.

    A cell's colour is the worst severity any system rates the technique at; its badge is how many
    systems face it. Techniques no system faces collapse into one grey "+N more" cell per tactic. The
    columns wrap into bands of ``per_row`` tactics (0: one band) so the map fits a page and a printout.
    """
    exposures = technique_exposure(assessment, atlas)
    tactic_ids = [t.id for t in atlas.tactics]
    tactic_names = {t.id: t.name for t in atlas.tactics}
    for exposure in exposures:
        for tactic in exposure.tactics:
            if tactic not in tactic_names:
                tactic_ids.append(tactic)
                tactic_names[tactic] = tactic
    exposed_ids = {x.technique for x in exposures}

    columns: list[tuple[str, list[_Exposure], list[str]]] = []
    for tactic in tactic_ids:
        cells = sorted((x for x in exposures if tactic in x.tactics),
                       key=lambda x: (-x.severity.rank, -len(x.systems), x.technique))
        others = [t.name for t in atlas.techniques if tactic in t.tactics and t.id not in exposed_ids]
        columns.append((tactic, cells, others))

    cw, gap, head, ch, row_gap = 140.0, 6.0, 48.0, 60.0, 5.0
    per_band = per_row if per_row > 0 else max(1, len(columns))
    bands = [columns[i:i + per_band] for i in range(0, len(columns), per_band)] or [[]]
    width = min(per_band, max(1, len(columns))) * (cw + gap) + gap
    body: list[str] = []
    top = 4.0
    for band in bands:
        rows = max((len(c) + (1 if show_others and o else 0) for _, c, o in band), default=0)
        for index, column in enumerate(band):
            x = gap + index * (cw + gap)
            body.append(_heat_column(column, tactic_names, x, top, cw, head, ch, row_gap, show_others))
        top += head + 6 + rows * (ch + row_gap) + 14
    legend_y = top
    lx = gap
    body.append(text(lx, legend_y + 11, "Worst severity:", size=11, fill=MUTED))
    lx += 92
    for sev in ("low", "medium", "high", "critical"):
        body.append(f'<rect x="{num(lx)}" y="{num(legend_y)}" width="14" height="14" rx="3" '
                    f'fill="{SEVERITY_TINTS[sev]}" stroke="{SEVERITY_COLOURS[sev]}" stroke-width="2"/>')
        body.append(text(lx + 19, legend_y + 11, sev.capitalize(), size=11))
        lx += 80
    body.append(text(lx + 10, legend_y + 11, "Badge: systems exposed · dashed: techniques no system faces",
                      size=11, fill=MUTED))
    return svg_document(max(width, 760.0), legend_y + 22, body, label="MITRE ATLAS heat map of the portfolio",
                kind="heatmap")


def _heat_column(column: tuple[str, list[_Exposure], list[str]], tactic_names: Mapping[str, str], x: float,
                 top: float, cw: float, head: float, ch: float, row_gap: float, show_others: bool) -> str:
    tactic, cells, others = column
    name = tactic_names[tactic]
    parts = [
        f'<g class="tactic" data-tactic="{esc(tactic)}" data-exposed="{len(cells)}">'
        f"<title>{esc(name)} ({esc(tactic)}): {len(cells)} technique{'s' if len(cells) != 1 else ''} "
        f"faced</title>",
        f'<rect x="{num(x)}" y="{num(top)}" width="{num(cw)}" height="{num(head)}" rx="4" fill="#243b53"/>',
    ]
    lines = wrap(name, 18, 2)
    for line_no, line in enumerate(lines):
        parts.append(text(x + cw / 2, top + (16 if len(lines) > 1 else 22) + line_no * 13, line, size=11.5,
                           anchor="middle", weight="600", fill="#ffffff"))
    parts.append(text(x + cw / 2, top + head - 5, f"{len(cells)} faced", size=9.5, anchor="middle",
                       fill="#bcccdc"))
    y = top + head + 6
    for cell in cells:
        parts.append(_heat_cell(cell, x, y, cw, ch))
        y += ch + row_gap
    if show_others and others:
        tip = f"{len(others)} other {name} techniques no system faces: {names_list(others, 25)}"
        parts.append(
            f'<g class="others" data-tactic="{esc(tactic)}" data-count="{len(others)}"><title>{esc(tip)}'
            f'</title><rect x="{num(x)}" y="{num(y)}" width="{num(cw)}" height="{num(ch * 0.5)}" rx="4" '
            f'fill="#f0f4f8" stroke="{GRID}" stroke-dasharray="3 2"/>'
            + text(x + cw / 2, y + ch * 0.25 + 4, f"+{len(others)} more", size=11, anchor="middle",
                    fill=MUTED)
            + "</g>"
        )
    parts.append("</g>")
    return "".join(parts)


def _heat_cell(cell: _Exposure, x: float, y: float, w: float, h: float) -> str:
    sev = cell.severity.value
    count = len(cell.systems)
    tip = (f"{cell.technique} {cell.name} — worst severity {sev.capitalize()}; {count:,} "
           f"system{'s' if count != 1 else ''}: {names_list(cell.systems)}")
    parts = [
        f'<a href="{esc(atlas_url(cell.technique))}" target="_blank" rel="noopener noreferrer">'
        f'<g class="technique" data-technique="{esc(cell.technique)}" data-systems="{count}" '
        f'data-severity="{sev}"><title>{esc(tip)}</title>',
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" rx="4" fill="{SEVERITY_TINTS[sev]}" '
        f'stroke="{SEVERITY_COLOURS[sev]}" stroke-width="1"/>',
        f'<rect x="{num(x)}" y="{num(y)}" width="5" height="{num(h)}" rx="2" fill="{SEVERITY_COLOURS[sev]}"/>',
        text(x + 11, y + 14, cell.technique, size=9.5, fill=MUTED),
    ]
    badge = f"{count:,}"
    bw = 8 + 7 * len(badge)
    parts.append(f'<rect x="{num(x + w - bw - 5)}" y="{num(y + 4)}" width="{num(bw)}" height="15" rx="7.5" '
                 f'fill="{SEVERITY_COLOURS[sev]}"/>')
    parts.append(text(x + w - 5 - bw / 2, y + 15.5, badge, size=10, anchor="middle", weight="700",
                       fill="#ffffff"))
    for line_no, line in enumerate(wrap(cell.name, 19, 3)):
        parts.append(text(x + 11, y + 30 + line_no * 12.5, line, size=10.5, weight="600"))
    parts.append("</g></a>")
    return "".join(parts)

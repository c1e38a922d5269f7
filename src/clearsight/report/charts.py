"""Inline SVG charts for the HTML report: pure functions from Assessment parts to SVG text.

Each chart is a standalone, well-formed SVG document (it parses with ``xml.etree``) that needs no script,
font, stylesheet or image from anywhere: a report opened offline, or printed, looks the same. Every piece of
text from the assessment goes through :func:`html.escape`. Charts carry ``data-`` attributes (cell
coordinates, IDs, counts) so that tests and other tools can read them without guessing at pixel positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import NamedTuple

from clearsight.core.assessment import Assessment, SystemAssessment
from clearsight.core.plan import Action, Plan
from clearsight.core.severity import Severity, severity_from_matrix
from clearsight.frameworks.atlas import AtlasCatalogue, atlas_url

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#627d98"
GRID = "#d9e2ec"

SEVERITY_COLOURS: Mapping[str, str] = {
    "critical": "#c92a2a", "high": "#e8590c", "medium": "#e6a700", "low": "#2f9e44",
}
SEVERITY_TINTS: Mapping[str, str] = {
    "critical": "#f9d6d5", "high": "#fde3cf", "medium": "#fff3c4", "low": "#dcf2e1",
}
STATUS_COLOURS: Mapping[str, str] = {"implemented": "#2f9e44", "partial": "#e6a700", "missing": "#c92a2a"}

LIKELIHOOD_NAMES = ("Rare", "Unlikely", "Possible", "Likely", "Almost certain")
IMPACT_NAMES = ("Negligible", "Minor", "Moderate", "Major", "Severe")

PHASE_WEEKS = 8
PHASE_LABELS: Mapping[int, str] = {
    1: "Critical (months 1–2)", 2: "High (months 3–4)", 3: "Medium (months 5–6)",
}
PHASE_SEVERITY: Mapping[int, str] = {1: "critical", 2: "high", 3: "medium"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """Compact number for SVG coordinates."""
    return f"{value:.1f}".removesuffix(".0")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """Greedy word wrap into at most ``lines`` lines, the last one truncated with an ellipsis."""
    out: list[str] = []
    current = ""
    words = text.split()
    for index, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
            continue
        out.append(current)
        current = word
        if len(out) == lines - 1:
            current = " ".join(words[index:])
            break
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
    if out:
        out[-1] = _cut(out[-1], width)
    return out


def _names_list(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit:,} more" if len(names) > limit else "")


def _svg(width: float, height: float, body: list[str], *, label: str, kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'font-family="{_e(FONT)}" font-size="12" fill="{INK}" aria-label="{_e(label)}">'
        f"<title>{_e(label)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, size: float = 12, anchor: str = "start", weight: str = "normal",
          fill: str = INK, extra: str = "") -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if weight != "normal":
        attrs += f' font-weight="{weight}"'
    if fill != INK:
        attrs += f' fill="{fill}"'
    return f"<text {attrs}{extra}>{_e(text)}</text>"


# --------------------------------------------------------------------------- risk matrix


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
        body.append(_text(x, top + 5 * ch + 16, f"{i + 1} · {LIKELIHOOD_NAMES[i]}", size=11,
                          anchor="middle", fill=MUTED))
        y = top + (4 - i) * ch + ch / 2 + 4
        body.append(_text(left - 8, y, f"{IMPACT_NAMES[i]} · {i + 1}", size=11, anchor="end", fill=MUTED))
    body.append(_text(left + 2.5 * cw, top + 5 * ch + 38, "Likelihood →", size=12, anchor="middle",
                      weight="600"))
    cy = top + 2.5 * ch
    body.append(_text(14, cy, "Impact →", size=12, anchor="middle", weight="600",
                      extra=f' transform="rotate(-90 14 {_n(cy)})"'))
    legend_y = top + 5 * ch + 62
    x = left
    for sev in ("low", "medium", "high", "critical"):
        body.append(f'<rect x="{_n(x)}" y="{_n(legend_y)}" width="14" height="14" rx="3" '
                    f'fill="{SEVERITY_TINTS[sev]}" stroke="{SEVERITY_COLOURS[sev]}"/>')
        body.append(_text(x + 20, legend_y + 11, sev.capitalize(), size=11))
        x += 92
    body.append(_text(left + 5 * cw, legend_y + 11, f"{len(points):,} systems", size=11, anchor="end",
                      fill=MUTED))
    return _svg(width, height, body, label="Portfolio risk matrix: likelihood × impact", kind="matrix")


def _matrix_cell(likelihood: int, impact: int, members: list[MatrixPoint], x: float, y: float,
                 w: float, h: float) -> str:
    sev = severity_from_matrix(likelihood, impact).value
    names = [m.label for m in members]
    tip = f"Likelihood {likelihood} × impact {impact} = {likelihood * impact} ({sev.capitalize()})"
    if members:
        tip += f": {len(members):,} system{'s' if len(members) != 1 else ''}: {_names_list(names)}"
    parts = [
        f'<g class="cell" data-likelihood="{likelihood}" data-impact="{impact}" data-severity="{sev}" '
        f'data-count="{len(members)}"><title>{_e(tip)}</title>',
        f'<rect x="{_n(x + 1)}" y="{_n(y + 1)}" width="{_n(w - 2)}" height="{_n(h - 2)}" rx="4" '
        f'fill="{SEVERITY_TINTS[sev]}" stroke="#ffffff" stroke-width="2"/>',
        _text(x + w - 7, y + h - 8, str(likelihood * impact), size=10, anchor="end", fill=MUTED),
    ]
    colour = SEVERITY_COLOURS[sev]
    if 0 < len(members) <= MATRIX_DOTS:
        for i, member in enumerate(members):
            dy = y + 18 + i * 18
            parts.append(
                f'<g class="system" data-system="{_e(member.id)}"><title>{_e(member.label)} ({_e(member.id)})'
                f"</title><circle cx=\"{_n(x + 14)}\" cy=\"{_n(dy)}\" r=\"6\" fill=\"{colour}\" "
                f'stroke="#ffffff" stroke-width="1.5"/>'
                + _text(x + 24, dy + 4, _cut(member.label, 17), size=11) + "</g>"
            )
    elif members:
        radius = min(30.0, 15 + 5 * math.log10(len(members)))
        cx, cy = x + w / 2, y + h / 2 + 4
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(radius)}" fill="{colour}" '
                     f'fill-opacity="0.9" stroke="#ffffff" stroke-width="2"/>')
        parts.append(_text(cx, cy + 5, f"{len(members):,}", size=14 if len(members) < 1000 else 12,
                           anchor="middle", weight="700", fill="#ffffff"))
    parts.append("</g>")
    return "".join(parts)


# --------------------------------------------------------------------------- ATLAS heat map


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
    body.append(_text(lx, legend_y + 11, "Worst severity:", size=11, fill=MUTED))
    lx += 92
    for sev in ("low", "medium", "high", "critical"):
        body.append(f'<rect x="{_n(lx)}" y="{_n(legend_y)}" width="14" height="14" rx="3" '
                    f'fill="{SEVERITY_TINTS[sev]}" stroke="{SEVERITY_COLOURS[sev]}" stroke-width="2"/>')
        body.append(_text(lx + 19, legend_y + 11, sev.capitalize(), size=11))
        lx += 80
    body.append(_text(lx + 10, legend_y + 11, "Badge: systems exposed · dashed: techniques no system faces",
                      size=11, fill=MUTED))
    return _svg(max(width, 760.0), legend_y + 22, body, label="MITRE ATLAS heat map of the portfolio",
                kind="heatmap")


def _heat_column(column: tuple[str, list[_Exposure], list[str]], tactic_names: Mapping[str, str], x: float,
                 top: float, cw: float, head: float, ch: float, row_gap: float, show_others: bool) -> str:
    tactic, cells, others = column
    name = tactic_names[tactic]
    parts = [
        f'<g class="tactic" data-tactic="{_e(tactic)}" data-exposed="{len(cells)}">'
        f"<title>{_e(name)} ({_e(tactic)}): {len(cells)} technique{'s' if len(cells) != 1 else ''} "
        f"faced</title>",
        f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(cw)}" height="{_n(head)}" rx="4" fill="#243b53"/>',
    ]
    lines = _wrap(name, 18, 2)
    for line_no, line in enumerate(lines):
        parts.append(_text(x + cw / 2, top + (16 if len(lines) > 1 else 22) + line_no * 13, line, size=11.5,
                           anchor="middle", weight="600", fill="#ffffff"))
    parts.append(_text(x + cw / 2, top + head - 5, f"{len(cells)} faced", size=9.5, anchor="middle",
                       fill="#bcccdc"))
    y = top + head + 6
    for cell in cells:
        parts.append(_heat_cell(cell, x, y, cw, ch))
        y += ch + row_gap
    if show_others and others:
        tip = f"{len(others)} other {name} techniques no system faces: {_names_list(others, 25)}"
        parts.append(
            f'<g class="others" data-tactic="{_e(tactic)}" data-count="{len(others)}"><title>{_e(tip)}'
            f'</title><rect x="{_n(x)}" y="{_n(y)}" width="{_n(cw)}" height="{_n(ch * 0.5)}" rx="4" '
            f'fill="#f0f4f8" stroke="{GRID}" stroke-dasharray="3 2"/>'
            + _text(x + cw / 2, y + ch * 0.25 + 4, f"+{len(others)} more", size=11, anchor="middle",
                    fill=MUTED)
            + "</g>"
        )
    parts.append("</g>")
    return "".join(parts)


def _heat_cell(cell: _Exposure, x: float, y: float, w: float, h: float) -> str:
    sev = cell.severity.value
    count = len(cell.systems)
    tip = (f"{cell.technique} {cell.name} — worst severity {sev.capitalize()}; {count:,} "
           f"system{'s' if count != 1 else ''}: {_names_list(cell.systems)}")
    parts = [
        f'<a href="{_e(atlas_url(cell.technique))}" target="_blank" rel="noopener noreferrer">'
        f'<g class="technique" data-technique="{_e(cell.technique)}" data-systems="{count}" '
        f'data-severity="{sev}"><title>{_e(tip)}</title>',
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="4" fill="{SEVERITY_TINTS[sev]}" '
        f'stroke="{SEVERITY_COLOURS[sev]}" stroke-width="1"/>',
        f'<rect x="{_n(x)}" y="{_n(y)}" width="5" height="{_n(h)}" rx="2" fill="{SEVERITY_COLOURS[sev]}"/>',
        _text(x + 11, y + 14, cell.technique, size=9.5, fill=MUTED),
    ]
    badge = f"{count:,}"
    bw = 8 + 7 * len(badge)
    parts.append(f'<rect x="{_n(x + w - bw - 5)}" y="{_n(y + 4)}" width="{_n(bw)}" height="15" rx="7.5" '
                 f'fill="{SEVERITY_COLOURS[sev]}"/>')
    parts.append(_text(x + w - 5 - bw / 2, y + 15.5, badge, size=10, anchor="middle", weight="700",
                       fill="#ffffff"))
    for line_no, line in enumerate(_wrap(cell.name, 19, 3)):
        parts.append(_text(x + 11, y + 30 + line_no * 12.5, line, size=10.5, weight="600"))
    parts.append("</g></a>")
    return "".join(parts)


# --------------------------------------------------------------------------- coverage bars


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
        body.append(f'<rect x="{_n(lx)}" y="6" width="12" height="12" rx="2" '
                    f'fill="{STATUS_COLOURS[status]}"/>')
        body.append(_text(lx + 17, 16, status.capitalize(), size=11))
        lx += 20 + 7 * len(status)
    if not rows:
        body.append(_text(label_w, top + 22, "No control requirements to show.", size=12, fill=MUTED))
    for index, row in enumerate(rows):
        y = top + index * row_h
        parts = [
            f'<g class="row" data-label="{_e(row.label)}" data-implemented="{row.implemented}" '
            f'data-partial="{row.partial}" data-missing="{row.missing}">'
            f"<title>{_e(row.label)}{_e(' — ' + row.detail) if row.detail else ''}: {row.implemented} "
            f"implemented, {row.partial} partial, {row.missing} missing</title>",
            _text(0, y + (16 if row.detail else 22), _cut(row.label, 28), size=12, weight="600"),
        ]
        if row.detail:
            parts.append(_text(0, y + 30, _cut(row.detail, 33), size=10.5, fill=MUTED))
        bx, by, bh = label_w, y + 8, 20.0
        if row.total == 0:
            parts.append(f'<rect x="{_n(bx)}" y="{_n(by)}" width="{_n(bar_w)}" height="{_n(bh)}" rx="3" '
                         f'fill="#f0f4f8"/>')
            parts.append(_text(bx + 8, by + 14, "not required", size=10.5, fill=MUTED))
        for status, count in (("implemented", row.implemented), ("partial", row.partial),
                              ("missing", row.missing)):
            if not count or not row.total:
                continue
            seg = bar_w * count / row.total
            parts.append(f'<rect class="seg-{status}" x="{_n(bx)}" y="{_n(by)}" width="{_n(seg)}" '
                         f'height="{_n(bh)}" fill="{STATUS_COLOURS[status]}"/>')
            if seg >= 8 * len(str(count)) + 6:
                parts.append(_text(bx + seg / 2, by + 14, str(count), size=10.5, anchor="middle",
                                   weight="700", fill="#ffffff"))
            bx += seg
        if row.total:
            share = round(100 * row.implemented / row.total)
            parts.append(_text(label_w + bar_w + 10, y + 22, f"{row.implemented}/{row.total} · {share}%",
                               size=11.5, weight="600"))
        parts.append("</g>")
        body.append("".join(parts))
    return _svg(width, height, body, label=title, kind="coverage")


# --------------------------------------------------------------------------- Gantt


class Bar(NamedTuple):
    """Where an action sits on the plan's timeline, in weeks from the start (end exclusive)."""

    start: float
    end: float


def schedule(plan: Plan) -> dict[str, Bar]:
    """Weeks for every planned action: its own ``start_week``/``end_week`` when set, else laid out in order.

    Unscheduled actions of a phase run one after the other (after their dependencies) at the team's weekly
    capacity, stretched or squeezed so the phase's actions fill its eight weeks at most.
    """
    bars: dict[str, Bar] = {}
    for number in (1, 2, 3):
        actions = [a for a in plan.actions if a.phase == number]
        base = (number - 1) * PHASE_WEEKS
        phase = next((p for p in plan.phases if p.number == number), None)
        unscheduled = [a for a in actions if a.start_week is None or a.end_week is None]
        effort = sum(max(a.effort_days, 0.0) for a in unscheduled)
        capacity = max(phase.capacity_days if phase else 0.0, effort, 1e-9)
        per_week = capacity / PHASE_WEEKS
        for action in actions:
            if action.start_week is not None and action.end_week is not None:
                first = max(0, action.start_week - 1)
                bars[action.id] = Bar(float(first), float(max(first + 1, action.end_week)))
        cursor = float(base)
        for action in _dependency_order(unscheduled):
            deps = [bars[d].end for d in action.depends_on if d in bars]
            start = max([cursor, *deps])
            end = min(start + max(action.effort_days, 0.0) / per_week, float(base + PHASE_WEEKS))
            start = min(start, end)
            bars[action.id] = Bar(start, end)
            cursor = end
    return bars


def _dependency_order(actions: list[Action]) -> list[Action]:
    """Plan order, except that an action comes after the actions (of the same list) it depends on."""
    ids = {a.id for a in actions}
    done: set[str] = set()
    out: list[Action] = []
    pending = list(actions)
    while pending:
        ready = next((a for a in pending if all(d in done or d not in ids for d in a.depends_on)), pending[0])
        pending.remove(ready)
        done.add(ready.id)
        out.append(ready)
    return out


def gantt_svg(plan: Plan) -> str:
    """Weeks 1-24 in three phase bands, one bar per planned action, key controls starred, backlog below."""
    bars = schedule(plan)
    planned = sorted((a for a in plan.actions if a.phase is not None and a.id in bars),
                     key=lambda a: (a.phase or 0, bars[a.id].start, bars[a.id].end, a.id))
    backlog_ids = set(plan.backlog)
    backlog = [a for a in plan.actions if a.phase is None or (a.id in backlog_ids and a.id not in bars)]
    key_controls = set(plan.key_controls)

    label_w, week_w, row_h, top = 340.0, 34.0, 24.0, 48.0
    weeks = 3 * PHASE_WEEKS
    chart_w = weeks * week_w
    width = label_w + chart_w + 12
    rows_h = max(1, len(planned)) * row_h
    backlog_lines = min(len(backlog), 15) + (1 if len(backlog) > 15 else 0)
    backlog_h = (30 + backlog_lines * 17) if backlog else 0
    height = top + rows_h + 14 + backlog_h + 6
    body: list[str] = []

    for number in (1, 2, 3):
        x = label_w + (number - 1) * PHASE_WEEKS * week_w
        sev = PHASE_SEVERITY[number]
        body.append(f'<g class="phase" data-phase="{number}"><rect x="{_n(x)}" y="0" '
                    f'width="{_n(PHASE_WEEKS * week_w)}" height="{_n(top + rows_h)}" '
                    f'fill="{SEVERITY_TINTS[sev]}" fill-opacity="0.45"/>'
                    + _text(x + 8, 17, PHASE_LABELS[number], size=12, weight="700",
                            fill=SEVERITY_COLOURS[sev]) + "</g>")
    for week in range(weeks + 1):
        x = label_w + week * week_w
        strong = week % PHASE_WEEKS == 0
        body.append(f'<line x1="{_n(x)}" y1="{_n(26 if strong else 30)}" x2="{_n(x)}" '
                    f'y2="{_n(top + rows_h)}" stroke="{"#9fb3c8" if strong else GRID}" '
                    f'stroke-width="{1.2 if strong else 0.6}"/>')
        if week < weeks:
            body.append(_text(x + week_w / 2, 40, str(week + 1), size=10, anchor="middle", fill=MUTED))
    body.append(_text(label_w - 10, 40, "Week", size=10, anchor="end", fill=MUTED))

    if not planned:
        body.append(_text(label_w + chart_w / 2, top + 16, "No actions planned", size=12, anchor="middle",
                          fill=MUTED))
    for index, action in enumerate(planned):
        y = top + index * row_h
        bar = bars[action.id]
        sev = action.severity.value
        key = action.key or action.control in key_controls
        if index % 2:
            body.append(f'<rect x="0" y="{_n(y)}" width="{_n(label_w)}" height="{_n(row_h)}" '
                        'fill="#f5f7fa"/>')
        label = ("★ " if key else "") + f"{action.control} {action.title}"
        x0 = label_w + bar.start * week_w
        bw = max(4.0, (bar.end - bar.start) * week_w)
        tip = (f"{'Key control · ' if key else ''}{action.control} {action.title} — {sev.capitalize()}, "
               f"{_n(action.effort_days)} person-days, weeks {week_span(bar)}, {len(action.systems):,} "
               f"system{'s' if len(action.systems) != 1 else ''}"
               + (f"; after {', '.join(action.depends_on)}" if action.depends_on else ""))
        body.append(
            f'<g class="bar" data-action="{_e(action.id)}" data-control="{_e(action.control)}" '
            f'data-phase="{action.phase}" data-start="{_n(bar.start)}" data-end="{_n(bar.end)}" '
            f'data-key="{str(key).lower()}"><title>{_e(tip)}</title>'
            + _text(8, y + 16, _cut(label, 44), size=11.5, weight="700" if key else "normal")
            + f'<rect x="{_n(x0)}" y="{_n(y + 5)}" width="{_n(bw)}" height="{_n(row_h - 10)}" rx="3" '
            f'fill="{SEVERITY_COLOURS[sev]}"'
            + (f' stroke="{INK}" stroke-width="1.5"' if key else "") + "/>"
            + (_text(x0 + bw + 4, y + 16, "★", size=12, fill=INK) if key else "")
            + "</g>"
        )
    if backlog:
        y = top + rows_h + 14
        days = sum(a.effort_days for a in backlog)
        body.append(_text(8, y + 14, f"Backlog — not scheduled within capacity ({len(backlog)} action"
                                     f"{'s' if len(backlog) != 1 else ''}, {_n(days)} person-days)",
                          size=12, weight="700"))
        for index, action in enumerate(backlog[:15]):
            line = f"• {action.control} {action.title} ({action.severity.value}, {_n(action.effort_days)} pd)"
            body.append(f'<g class="backlog-item" data-action="{_e(action.id)}">'
                        + _text(16, y + 31 + index * 17, _cut(line, 130), size=11) + "</g>")
        if len(backlog) > 15:
            body.append(_text(16, y + 31 + 15 * 17, f"… and {len(backlog) - 15} more", size=11, fill=MUTED))
    return _svg(width, height, body, label="Action plan timeline (weeks)", kind="gantt")


def week_span(bar: Bar) -> str:
    """Human form of a bar's weeks, e.g. ``3–5``."""
    first = math.floor(bar.start) + 1
    last = max(first, math.ceil(bar.end))
    return f"{first}–{last}" if last != first else str(first)

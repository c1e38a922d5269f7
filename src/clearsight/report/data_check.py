"""Renderers of a data-check report: terminal table, JSON, Markdown and a self-contained HTML page."""

from __future__ import annotations

import io
import json
from collections import Counter
from html import escape

from rich.console import Console
from rich.table import Table

from clearsight.core.datacheck import DataCheckReport, SuspiciousRow
from clearsight.report.charts.svg import GRID, MUTED, SEVERITY_COLOURS, num, svg_document, text

ROWS_SHOWN = 25
BINS = 20


def render_json(report: DataCheckReport) -> str:
    payload = report.model_dump(mode="json")
    payload["summary"] = _summary(report)
    return json.dumps(payload, indent=2) + "\n"


def _summary(report: DataCheckReport) -> dict[str, object]:
    flagged = report.flagged
    return {"rows": report.data.rows, "flagged": len(flagged), "listed": len(report.suspicious),
            "worst": report.worst.value if report.worst else None,
            "by_signal": dict(Counter(r.signal for row in flagged for r in row.reasons[:1]))}


def _reason(row: SuspiciousRow) -> str:
    return row.reasons[0].message if row.reasons else ""


def render_table(report: DataCheckReport) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=140, force_terminal=False, no_color=True)
    d = report.data
    sampled = f" (a sample of {d.sampled_from:,})" if d.sampled_from else ""
    console.print(f"{d.path}: {d.rows:,} rows{sampled}, label '{d.label}' "
                  f"({', '.join(f'{k}: {v:,}' for k, v in d.classes.items())}) — checked in {report.seconds:.1f} s")
    for f in report.findings:
        console.print(f"  [{f.severity.value.upper()}] {f.message}")
    if not report.findings:
        console.print("  no finding")
    signals = Table("signal", "ran", "flagged", "note", title="Signals", title_justify="left")
    for s in report.signals:
        signals.add_row(s.id, "yes" if s.ran else "no", str(s.flagged) if s.ran else "-", s.note)
    console.print(signals)
    if report.suspicious:
        rows = Table("row", "id", "label", "suggested", "score", "flag", "reason", title="Most suspicious rows",
                     title_justify="left")
        for r in report.suspicious[:ROWS_SHOWN]:
            rows.add_row(str(r.row), r.id or "", str(r.label), "" if r.suggested_label is None else
                         str(r.suggested_label), f"{r.score:.2f}", "yes" if r.flagged else "", _reason(r))
        console.print(rows)
        if len(report.suspicious) > ROWS_SHOWN:
            console.print(f"... {len(report.suspicious) - ROWS_SHOWN} more rows in --format json")
    if report.effect:
        console.print(_effect_line(report))
    if report.baseline:
        b = report.baseline
        console.print(f"baseline {b.baseline}: +{b.added} added, -{b.removed} removed, {b.changed} changed, "
                      f"{len(b.label_flips)} labels flipped on existing rows, "
                      f"{sum(s.shifted for s in b.shifts)} shifted feature tests")
    return buf.getvalue()


def _effect_line(report: DataCheckReport) -> str:
    e = report.effect
    assert e is not None
    line = (f"removing the {e.removed} flagged training rows: {e.metric} {e.before:.3f} -> {e.after:.3f} "
            f"({e.model})")
    if e.attack_success_before is not None:
        line += (f"; trigger {e.trigger} turns {e.attack_success_before:.0%} of other-class rows before, "
                 f"{e.attack_success_after:.0%} after")
    return line


def render_markdown(report: DataCheckReport) -> str:
    d = report.data
    out = [f"# Data check: {d.path}", "",
           f"{d.rows:,} rows{f' (a sample of {d.sampled_from:,})' if d.sampled_from else ''}, {d.columns} columns, "
           f"label `{d.label}` "
           f"({', '.join(f'{k}: {v:,}' for k, v in d.classes.items())}). Checked in {report.seconds:.1f} s.", ""]
    out += ["## Findings", ""]
    out += [f"- **{f.severity.value}** {f.message} (`{f.rule}`)" for f in report.findings] or ["No finding."]
    out += ["", "## Signals", "", "| signal | ran | flagged | note |", "|---|---|---|---|"]
    out += [f"| {s.id} | {'yes' if s.ran else 'no'} | {s.flagged if s.ran else '-'} | {_md(s.note)} |"
            for s in report.signals]
    if report.triggers:
        out += ["", "## Trigger patterns", "", "| conditions | rows | label | purity | contradicted | kind |",
                "|---|---|---|---|---|---|"]
        out += [f"| {_md(' and '.join(f'{k} {v}' for k, v in t.conditions.items()))} | {t.rows} | {t.label} | "
                f"{t.purity:.0%} | {t.contradicted:.0%} | {t.kind} |" for t in report.triggers]
    if report.suspicious:
        out += ["", f"## Most suspicious rows ({len(report.flagged)} flagged)", "",
                "| row | id | label | suggested | score | flagged | reason |", "|---|---|---|---|---|---|---|"]
        out += [f"| {r.row} | {r.id or ''} | {r.label} | {'' if r.suggested_label is None else r.suggested_label} | "
                f"{r.score:.2f} | {'yes' if r.flagged else ''} | {_md(_reason(r))} |"
                for r in report.suspicious[:ROWS_SHOWN]]
    if report.effect:
        out += ["", "## Effect of removing the flagged rows", "", _effect_line(report)]
    if report.baseline:
        b = report.baseline
        out += ["", f"## Against the baseline `{b.baseline}`", "",
                f"{b.rows_before:,} rows before, {b.rows_after:,} after: {b.added:,} added, {b.removed:,} removed, "
                f"{b.changed:,} changed. {len(b.label_flips)} labels flipped on existing rows."]
        if b.flips_by_direction:
            out += [""] + [f"- {k}: {v}" for k, v in b.flips_by_direction.items()]
        shifted = [s for s in b.shifts if s.shifted]
        if shifted:
            out += ["", "| column | within label | test | value | p |", "|---|---|---|---|---|"]
            out += [f"| {s.column} | {s.within_label or 'all'} | {s.statistic} | {s.value:.3f} | {s.p_value:.1e} |"
                    for s in shifted]
    return "\n".join(out) + "\n"


def _md(text_: str) -> str:
    return text_.replace("|", "\\|").replace("\n", " ")


def score_histogram(report: DataCheckReport) -> str:
    """Scores of the listed rows, flagged ones in red: a clean split means the flags are not borderline."""
    width, height, pad = 520.0, 180.0, 30.0
    flagged = [0] * BINS
    context = [0] * BINS
    for r in report.suspicious:
        b = min(BINS - 1, int(r.score * BINS))
        (flagged if r.flagged else context)[b] += 1
    top = max(1, *(f + c for f, c in zip(flagged, context, strict=True)))
    bw = (width - 2 * pad) / BINS
    body = [f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="{GRID}"/>']
    for i in range(BINS):
        x = pad + i * bw
        for value, base, colour in ((context[i], 0, MUTED), (flagged[i], context[i], SEVERITY_COLOURS["critical"])):
            if value:
                h = (height - 2 * pad) * value / top
                y = height - pad - (height - 2 * pad) * base / top - h
                body.append(f'<rect x="{num(x + 1)}" y="{num(y)}" width="{num(bw - 2)}" height="{num(h)}" '
                            f'fill="{colour}"><title>{value} rows</title></rect>')
    body.append(text(pad, height - 8, "0", size=10, fill=MUTED))
    body.append(text(width - pad, height - 8, "score 1", size=10, anchor="end", fill=MUTED))
    body.append(text(pad, 16, f"max {top} rows per bin; red = flagged", size=10, fill=MUTED))
    return svg_document(width, height, body, label="Suspicion scores of listed rows", kind="scores")


def class_bars(report: DataCheckReport) -> str:
    """Per class: rows in the data and rows flagged, so a one-directional campaign stands out."""
    classes = list(report.data.classes)
    flagged = Counter(str(r.label) for r in report.flagged)
    width, row_h = 520.0, 22.0
    height = 24 + row_h * len(classes)
    body = []
    most = max(1, *(flagged.values() or [0]))
    for i, c in enumerate(classes):
        y = 20 + i * row_h
        share = flagged.get(c, 0) / most
        body.append(text(4, y + 14, f"{c} ({report.data.classes[c]:,} rows)", size=11))
        body.append(f'<rect x="180" y="{num(y + 3)}" width="{num(240 * share)}" height="14" '
                    f'fill="{SEVERITY_COLOURS["high"]}"/>')
        body.append(text(186 + 240 * share, y + 14, f"{flagged.get(c, 0):,} flagged", size=11, fill=MUTED))
    return svg_document(width, height, body, label="Flagged rows by their current label", kind="classes")


def flag_map(report: DataCheckReport) -> str:
    """Where flagged rows sit among the rest: a tight red cluster is a targeted campaign, scattered red is noise."""
    width, height, pad = 520.0, 320.0, 16.0
    if not report.map:
        return ""
    xs = [p.x for p in report.map]
    ys = [p.y for p in report.map]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def sx(v: float) -> float:
        return pad + (width - 2 * pad) * ((v - x0) / (x1 - x0) if x1 > x0 else 0.5)

    def sy(v: float) -> float:
        return height - pad - (height - 2 * pad) * ((v - y0) / (y1 - y0) if y1 > y0 else 0.5)

    labels = sorted({str(p.label) for p in report.map})
    greys = ["#9fb3c8", "#486581", "#bcccdc", "#627d98", "#829ab1", "#334e68"]
    body = [f'<rect x="0" y="0" width="{num(width)}" height="{num(height)}" fill="none" stroke="{GRID}"/>']
    for p in sorted(report.map, key=lambda p: p.flagged):  # flags drawn last, on top
        colour = SEVERITY_COLOURS["critical"] if p.flagged else greys[labels.index(str(p.label)) % len(greys)]
        r = 3.2 if p.flagged else 2.0
        body.append(f'<circle cx="{num(sx(p.x))}" cy="{num(sy(p.y))}" r="{r}" fill="{colour}" '
                    f'fill-opacity="{0.9 if p.flagged else 0.5}"><title>label {escape(str(p.label))}'
                    f'{" (flagged)" if p.flagged else ""}</title></circle>')
    body.append(text(pad, 14, "first two principal components; red = flagged, greys = labels", size=10,
                     fill=MUTED))
    return svg_document(width, height, body, label="Where flagged rows sit", kind="map")


def render_html(report: DataCheckReport) -> str:
    md_rows = "".join(
        f"<tr><td>{r.row}</td><td>{escape(r.id or '')}</td><td>{escape(str(r.label))}</td>"
        f"<td>{'' if r.suggested_label is None else escape(str(r.suggested_label))}</td><td>{r.score:.2f}</td>"
        f"<td>{'yes' if r.flagged else ''}</td><td>{escape(_reason(r))}</td></tr>"
        for r in report.suspicious[:200])
    finds = "".join(f'<li><span class="sev sev-{f.severity.value}">{f.severity.value}</span> {escape(f.message)}</li>'
                    for f in report.findings) or "<li>No finding.</li>"
    sigs = "".join(f"<tr><td>{s.id}</td><td>{'yes' if s.ran else 'no'}</td><td>{s.flagged if s.ran else '-'}</td>"
                   f"<td>{escape(s.note)}</td></tr>" for s in report.signals)
    effect = f"<p>{escape(_effect_line(report))}</p>" if report.effect else ""
    d = report.data
    style = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933;max-width:1100px}"
             "table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #d9e2ec;padding:4px 8px;"
             "text-align:left}.sev{padding:1px 6px;border-radius:4px;color:#fff;font-size:12px}"
             + "".join(f".sev-{k}{{background:{v}}}" for k, v in SEVERITY_COLOURS.items())
             + ".charts{display:flex;gap:2rem;flex-wrap:wrap}")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data check: {escape(d.path)}"
            f"</title><style>{style}</style></head><body><h1>Data check</h1><p>{escape(d.path)}: {d.rows:,} rows, "
            f"label <code>{escape(d.label)}</code>, {len(report.flagged)} rows flagged, checked in "
            f"{report.seconds:.1f} s.</p><h2>Findings</h2><ul>{finds}</ul>"
            f"<div class=\"charts\"><figure>{score_histogram(report)}<figcaption>Suspicion scores</figcaption></figure>"
            f"<figure>{class_bars(report)}<figcaption>Flagged rows per label</figcaption></figure>"
            f"<figure>{flag_map(report)}<figcaption>Where flagged rows sit</figcaption></figure></div>{effect}"
            f"<h2>Signals</h2><table><tr><th>signal</th><th>ran</th><th>flagged</th><th>note</th></tr>{sigs}</table>"
            f"<h2>Suspicious rows</h2><table><tr><th>row</th><th>id</th><th>label</th><th>suggested</th><th>score"
            f"</th><th>flagged</th><th>reason</th></tr>{md_rows}</table></body></html>\n")

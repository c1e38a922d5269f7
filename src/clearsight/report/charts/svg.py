"""What every chart shares: the palette, escaping, number and text fitting, and the ``<svg>``/``<text>`` shells.

The charts draw with the report's colours (see the CSS in :mod:`clearsight.report.html.style`) so that a badge
and the chart cell beside it agree. Coordinates are printed compactly because a portfolio chart repeats them
thousands of times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

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


def esc(text: object) -> str:
    """Escaped for element text and attribute values alike."""
    return escape(str(text), quote=True)


def num(value: float) -> str:
    """Compact number for SVG coordinates."""
    return f"{value:.1f}".removesuffix(".0")


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def wrap(text: str, width: int, lines: int) -> list[str]:
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
        out[-1] = cut(out[-1], width)
    return out


def names_list(names: Sequence[str], limit: int = 30) -> str:
    """Names for a tooltip, capped so that a cell of thousands of systems keeps a short title."""
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit:,} more" if len(names) > limit else "")


def svg_document(width: float, height: float, body: list[str], *, label: str, kind: str) -> str:
    """A standalone ``<svg>`` with its own font and an accessible label, classed ``chart chart-<kind>``."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" height="{num(height)}" '
        f'font-family="{esc(FONT)}" font-size="12" fill="{INK}" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>" + "".join(body) + "</svg>"
    )


def text(x: float, y: float, content: str, *, size: float = 12, anchor: str = "start", weight: str = "normal",
         fill: str = INK, extra: str = "") -> str:
    """A ``<text>`` element that writes only the attributes that differ from the chart's defaults."""
    attrs = f'x="{num(x)}" y="{num(y)}" font-size="{num(size)}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if weight != "normal":
        attrs += f' font-weight="{weight}"'
    if fill != INK:
        attrs += f' fill="{fill}"'
    return f"<text {attrs}{extra}>{esc(content)}</text>"

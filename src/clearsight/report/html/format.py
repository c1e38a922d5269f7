"""Small HTML building blocks every section uses: escaping, numbers and dates, badges, lists and tables.

Keeping them in one place means user text is escaped the same way everywhere, and a badge for a severity,
tier or status looks alike in every section (the CSS classes they use are in :mod:`.style`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import atlas_url

LEGAL_LABELS: Mapping[str, str] = {
    "prohibited": "Prohibited", "high-risk": "High-risk", "limited": "Limited risk",
    "minimal": "Minimal risk", "out-of-scope": "Out of scope",
}
SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
"""Severities in the order the report lists them, worst first."""


def esc(value: object) -> str:
    """Escaped for element text and attribute values alike."""
    return escape(str(value), quote=True)


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural_form or word + 's')}"


def fmt_days(value: float) -> str:
    """Person-days with at most one decimal: ``2.5``, ``3``, ``1,200``."""
    return f"{value:,.1f}".removesuffix(".0")


def fmt_date(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "—"


def pct(part: float, whole: float) -> int:
    return round(100 * part / whole) if whole else 0


def sev_badge(severity: Severity | str) -> str:
    value = Severity(severity).value
    return f'<span class="b sev-{value}">{value.capitalize()}</span>'


def tier_badge(tier: str) -> str:
    return f'<span class="b t-{esc(tier)}">{esc(LEGAL_LABELS.get(tier, tier))}</span>'


def status_badge(status: str) -> str:
    return f'<span class="b st-{esc(status)}">{esc(status.replace("-", " ").capitalize())}</span>'


def atlas_link(atlas_id: str, text: str | None = None) -> str:
    return (f'<a href="{esc(atlas_url(atlas_id))}" target="_blank" rel="noopener noreferrer">'
            f"{esc(text if text is not None else atlas_id)}</a>")


def bullet_list(items: Iterable[str], empty: str = "—") -> str:
    rows = [f"<li>{esc(item)}</li>" for item in items]
    return f'<ul class="plain">{"".join(rows)}</ul>' if rows else f'<span class="muted">{esc(empty)}</span>'


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts "Art. 9" before "Art. 10"."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def data_table(headers: Sequence[str], rows: str, *, cls: str = "") -> str:
    """A scrollable table; a header written ``#Name`` is a right-aligned number column."""
    head = "".join(f'<th class="num">{esc(h[1:])}</th>' if h.startswith("#") else f"<th>{esc(h)}</th>"
                   for h in headers)
    klass = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{klass}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
            "</div>")


def name_list(names: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` names and how many more, so a sentence stays a sentence for a large portfolio."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")

"""Renderers of prompt-injection detections: a terminal table, one JSON document, or JSON lines in input order."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from clearsight.llm.detect import Detection
from clearsight.report.terminal import snippet


@dataclass(frozen=True)
class Screened:
    """One input and its verdict, as the reports show it."""

    line: int
    text: str
    detection: Detection
    id: str | None = None
    truncated: bool = False

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line}
        if self.id is not None:
            out["id"] = self.id
        out.update(label=self.detection.label, score=self.detection.score, reasons=list(self.detection.reasons))
        if self.truncated:
            out["truncated"] = True
        return out


def render_jsonl_line(item: Screened) -> str:
    return json.dumps(item.record(), ensure_ascii=False) + "\n"


def render_json(items: Sequence[Screened], *, context: str, model: dict[str, Any]) -> str:
    flagged = sum(1 for i in items if i.detection.flagged)
    payload = {"context": context, "model": model, "results": [i.record() for i in items],
               "summary": {"texts": len(items), "injections": flagged, "benign": len(items) - flagged}}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def render_table(items: Sequence[Screened], *, context: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=False, color_system=None, highlight=False)
    table = Table(title=f"Prompt-injection screening ({context} context)", title_justify="left")
    for name in ("Line", "Verdict", "Score", "Reasons", "Text"):
        table.add_column(name, overflow="fold")
    for item in items:
        style = "bold red" if item.detection.flagged else ""
        table.add_row(str(item.line), item.detection.label, f"{item.detection.score:.3f}",
                      ", ".join(item.detection.reasons) or "-", Text(snippet(item.text)), style=style)
    console.print(table)
    flagged = sum(1 for i in items if i.detection.flagged)
    console.print(f"{len(items)} texts screened: {flagged} injection, {len(items) - flagged} benign")
    return buffer.getvalue()

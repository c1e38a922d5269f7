"""Renderers of a discovery report: terminal table, JSON (the issue's schema) and SARIF for shadow AI."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from clearsight.core.discovery import DiscoveryReport
from clearsight.report.terminal import inert


def render_json(report: DiscoveryReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def render_table(report: DiscoveryReport) -> str:
    # imported here: JSON and SARIF need no terminal library (a fiftieth of a second of every such run)
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=False, color_system=None, highlight=False)
    shadow = [s for s in report.systems if not s.declared]
    console.print(f"{len(report.systems)} AI systems found ({len(shadow)} shadow AI) in {report.files_read} files; "
                  f"{len(report.components)} components, {len(report.skipped)} files skipped.")
    table = Table(title="AI systems", title_justify="left")
    for column in ("System", "Folder", "Declared", "Components"):
        table.add_column(column, overflow="fold")
    for system in report.systems:
        parts = ", ".join(f"{c.kind}:{c.name}" for c in system.components[:8])
        if len(system.components) > 8:
            parts += f", ... {len(system.components) - 8} more"
        table.add_row(inert(system.name), inert(system.root), inert(system.declared_as or "NO (shadow AI)"),
                      inert(parts), style="" if system.declared else "bold yellow")
    console.print(table)
    return buffer.getvalue()


def render_sarif(report: DiscoveryReport) -> str:
    """Undeclared systems as results, each pointing at the first place its AI use was seen."""
    results: list[dict[str, Any]] = []
    for system in report.systems:
        if system.declared:
            continue
        first = next((loc for c in system.components for loc in c.locations), None)
        uri = first.path if first else system.root
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
        if first and first.line:
            location["physicalLocation"]["region"] = {"startLine": first.line}
        kinds = sorted({f"{c.kind}:{c.name}" for c in system.components})
        results.append({
            "ruleId": "shadow-ai",
            "ruleIndex": 0,
            "level": "warning",
            "message": {"text": f"AI system '{system.name}' in {system.root} is not in the inventory "
                                f"(uses {', '.join(kinds[:6])})."},
            "locations": [location],
            "partialFingerprints": {
                "clearsightShadowAI/v1": hashlib.sha256(system.root.encode("utf-8", "surrogatepass")).hexdigest()},
        })
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "Clearsight discover", "rules": [{
                "id": "shadow-ai", "shortDescription": {"text": "Undeclared AI system (shadow AI)"},
                "fullDescription": {"text": "AI use found in code that no system in clearsight.yaml declares."},
            }]}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"

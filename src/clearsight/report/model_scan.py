"""Renderers of a model-scan report: terminal table, JSON (the issue's schema) and SARIF 2.1.0."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import PurePath
from typing import Any

from clearsight.core.artifact import ModelScanReport
from clearsight.core.severity import Severity

VERDICT_STYLE = {"malicious": "bold red", "suspicious": "yellow", "error": "magenta", "unsupported": "dim",
                 "clean": "green"}
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "2.0"}


def render_json(report: ModelScanReport) -> str:
    """``{"files": [{path, format, sha256, verdict, findings: [{rule, severity, message, detail}]}], "summary"}``."""
    files = [
        {
            "path": f.path, "format": f.format, "sha256": f.sha256, "size": f.size, "verdict": f.verdict,
            "findings": [
                {"rule": x.rule, "severity": x.severity.value, "message": x.message, "detail": x.detail,
                 "location": x.location.path if x.location else None}
                for x in f.findings
            ],
        }
        for f in report.files
    ]
    payload = {"scanner": report.scanner, "version": report.version, "policy": report.policy, "files": files,
               "summary": report.summary.model_dump(mode="json")}
    return json.dumps(payload, indent=2) + "\n"


def render_table(report: ModelScanReport, *, show_clean: bool = False) -> str:
    from rich.console import Console  # only the table needs rich; its import is a tenth of a JSON scan's start-up
    from rich.table import Table
    from rich.text import Text

    from clearsight.report.terminal import inert

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=False, color_system=None, highlight=False)
    table = Table(title=f"Model scan ({report.summary.files} files, policy: {report.policy})", title_justify="left")
    table.add_column("Verdict")
    table.add_column("File", overflow="fold")  # paths wrap; an ellipsis would hide which file it is
    table.add_column("Format")
    table.add_column("Findings", overflow="fold")
    hidden = 0
    for f in report.files:
        if not show_clean and (f.verdict == "clean" or (f.verdict == "unsupported" and not f.findings)):
            hidden += 1
            continue
        worst = sorted(f.findings, key=lambda x: -x.severity.rank)[:3]
        lines = "\n".join(f"{x.severity.value}: {x.message}{_member(x.location.path if x.location else None, f.path)}"
                          for x in worst)
        if len(f.findings) > 3:
            lines += f"\n... and {len(f.findings) - 3} more"
        shown = Text("\n").join(inert(line) for line in lines.split("\n"))  # names from the file: never markup
        table.add_row(f.verdict, inert(f.path), f.format, shown, style=VERDICT_STYLE.get(f.verdict, ""))
    if hidden < len(report.files):
        console.print(table)
    else:
        console.print("No malicious, suspicious or unreadable model files.")
    counts = ", ".join(f"{n} {v}" for v, n in sorted(report.summary.verdicts.items()))
    console.print(f"{report.summary.files} files scanned in {report.summary.seconds:.2f} s: {counts}"
                  + (f" ({hidden} clean or non-model files not listed; --show-clean lists them)" if hidden else ""))
    return buffer.getvalue()


def _member(where: str | None, path: str) -> str:
    """`` (in inner/data.pkl)`` when a finding sits inside a container member."""
    if not where or where == path or "!" not in where:
        return ""
    return f" (in {where.split('!', 1)[1]})"


def render_sarif(report: ModelScanReport) -> str:
    rules: dict[str, int] = {}
    rule_list: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for f in report.files:
        for finding in f.findings:
            if finding.rule not in rules:
                rules[finding.rule] = len(rule_list)
                rule_list.append({"id": finding.rule, "shortDescription": {"text": finding.rule},
                                  "properties": {"tags": ["security", "ml-supply-chain"]}})
            inner = finding.location.path if finding.location else None
            location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}}}
            if inner and inner != f.path:
                location["logicalLocations"] = [{"fullyQualifiedName": inner, "kind": "member"}]
            identity = f"{f.sha256 or f.path}|{finding.rule}|{inner or ''}|{finding.message}"
            fingerprint = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()  # any name hashes
            results.append({
                "ruleId": finding.rule, "ruleIndex": rules[finding.rule], "level": LEVEL[finding.severity],
                "message": {"text": f"{finding.message} ({f.verdict} {f.format} file)"},
                "locations": [location],
                "partialFingerprints": {"clearsightModelFinding/v1": fingerprint},
                "properties": {"security-severity": SECURITY_SEVERITY[finding.severity], "verdict": f.verdict,
                               "sha256": f.sha256, "detail": finding.detail},
            })
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Clearsight model scan", "version": report.version,
                                      "rules": rule_list}},
                  "results": results, "properties": {"policy": report.policy}}],
    }
    return json.dumps(log, indent=2) + "\n"


def _uri(path: str) -> str:
    pure = PurePath(path)
    return pure.as_uri() if pure.is_absolute() else pure.as_posix()

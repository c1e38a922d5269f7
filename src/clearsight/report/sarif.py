"""Open gaps as SARIF 2.1.0 results, pointing at the system's declaration in ``clearsight.yaml``.

Code-scanning UIs then show "CS-API-01 missing for fraud-detection" on the line that declares the system,
and the fingerprint (the stable gap ID) lets them track a gap across runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any

from clearsight.core.assessment import Assessment
from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.controls import load_controls

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "2.0"}


def render(assessment: Assessment, atlas: AtlasCatalogue | None = None) -> str:
    controls = load_controls().by_id()
    used: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for result in assessment.systems:
        system = result.system
        for gap in result.gaps:
            if not gap.is_open:
                continue
            if gap.control not in used:
                used[gap.control] = len(rules)
                control = controls.get(gap.control)
                rules.append(_rule(gap.control, gap.title, control.objective if control else gap.title,
                                   control.domain if control else "unknown"))
            location = system.location
            physical: dict[str, Any] = {
                "artifactLocation": {"uri": _uri(location.path if location else assessment.inventory)}
            }
            if location and location.line:
                physical["region"] = {"startLine": location.line}
            results.append({
                "ruleId": gap.control,
                "ruleIndex": used[gap.control],
                "level": LEVEL[gap.severity],
                "message": {"text": (
                    f"{gap.control} {gap.title} is {gap.status} for AI system '{system.name}' "
                    f"({gap.severity.value} risk): {'; '.join(gap.required_by)}."
                )},
                "locations": [{"physicalLocation": physical,
                               "logicalLocations": [{"name": system.id, "kind": "module"}]}],
                "partialFingerprints": {"clearsightGap/v1": hashlib.sha256(gap.id.encode()).hexdigest()},
                "properties": {"security-severity": SECURITY_SEVERITY[gap.severity], "status": gap.status,
                               "system": system.id, "atlas": gap.threats, "obligations": gap.obligations},
            })
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "Clearsight", "version": assessment.tool_version,
                "rules": rules,
            }},
            "automationDetails": {"id": f"clearsight/assess/{assessment.organisation}"},
            "results": results,
            "properties": {"catalogues": [f"{c.id} {c.version}" for c in assessment.catalogues]},
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _uri(path: str) -> str:
    """Relative paths stay relative (code-scanning UIs resolve them against the repository)."""
    pure = PurePath(path)
    return pure.as_uri() if pure.is_absolute() else pure.as_posix()


def _rule(control_id: str, title: str, objective: str, domain: str) -> dict[str, Any]:
    return {
        "id": control_id,
        "name": "".join(part.capitalize() for part in title.replace("-", " ").split()),
        "shortDescription": {"text": title},
        "fullDescription": {"text": objective},
        "help": {"text": f"Put control {control_id} in place: {objective}"},
        "properties": {"tags": ["security", "ai", domain]},
    }

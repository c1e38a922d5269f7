"""An ATLAS Navigator layer: techniques scored by how many systems they threaten, coloured by severity."""

from __future__ import annotations

import json
from typing import Any

from clearsight.core.assessment import Assessment
from clearsight.core.ids import slugify
from clearsight.core.severity import Severity
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.atlas_store import atlas_edition

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "4.9.1"
COLOURS = {Severity.CRITICAL: "#b71c1c", Severity.HIGH: "#e65100", Severity.MEDIUM: "#f9a825",
           Severity.LOW: "#9e9e9e"}


def render(assessment: Assessment, atlas: AtlasCatalogue | None = None) -> str:
    atlas_version = next((c.version for c in assessment.catalogues if c.id == "mitre-atlas"), None)
    atlas = atlas or atlas_edition(atlas_version)
    atlas_version = atlas_version or atlas.meta.version
    exposed: dict[str, list[str]] = {}
    worst: dict[str, Severity] = {}
    for result in assessment.systems:
        for threat in result.threats:
            exposed.setdefault(threat.technique, []).append(result.system.id)
            worst[threat.technique] = max(worst.get(threat.technique, Severity.LOW), threat.severity)
    tactic_names = {t.id: t.name for t in atlas.tactics}
    tactics_of = {t.technique: t.tactics for r in assessment.systems for t in r.threats}
    techniques: list[dict[str, Any]] = []
    for technique in sorted(exposed):
        systems = sorted(set(exposed[technique]))
        for tactic in tactics_of[technique]:
            techniques.append({
                "techniqueID": technique,
                "tactic": slugify(tactic_names.get(tactic, tactic)),
                "score": len(systems),
                "color": COLOURS[worst[technique]],
                "comment": f"worst severity {worst[technique].value}; systems: " + ", ".join(systems),
                "enabled": True,
                "showSubtechniques": True,
            })
    layer = {
        "name": f"Clearsight - {assessment.organisation}",
        "versions": {"layer": LAYER_VERSION, "navigator": NAVIGATOR_VERSION},
        "domain": "atlas-atlas",
        "description": (
            f"ATLAS techniques that apply to {len(assessment.systems)} AI systems, scored by the number of "
            f"systems exposed (assessment of {assessment.generated_at.date().isoformat()})."
        ),
        "metadata": [
            {"name": "atlas_data_version", "value": atlas_version},
            {"name": "generated_by", "value": f"clearsight {assessment.tool_version}"},
        ],
        "gradient": {"colors": ["#ffffff", "#b71c1c"], "minValue": 0,
                     "maxValue": max([len(set(v)) for v in exposed.values()] or [1])},
        "legendItems": [{"label": f"worst severity {s.value}", "color": c} for s, c in COLOURS.items()],
        "sorting": 3,
        "hideDisabled": False,
        "techniques": techniques,
    }
    return json.dumps(layer, indent=2) + "\n"

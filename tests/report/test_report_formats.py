"""The text formats, each rendered from the example's Assessment and checked for what it must carry."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from clearsight.core.assessment import Assessment
from clearsight.report import csv_plan, json_report, markdown, navigator, sarif
from clearsight.report.registry import FORMAT_NAMES, get_format


def test_registry_lists_every_format() -> None:
    assert set(FORMAT_NAMES) == {"json", "md", "html", "sarif", "navigator", "csv"}
    for name in FORMAT_NAMES:
        assert callable(get_format(name).render)


def test_sarif_is_valid_and_points_at_declarations(example_assessment: Assessment,
                                                   sarif_schema: dict[str, object]) -> None:
    log = json.loads(sarif.render(example_assessment))
    jsonschema.Draft7Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    open_gaps = [g for r in example_assessment.systems for g in r.gaps if g.is_open]
    assert len(results) == len(open_gaps)
    fraud = next(r for r in results if r["properties"]["system"] == "card-fraud-detection")
    location = fraud["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("examples/fraud-detection/clearsight.yaml")
    lines = Path(example_assessment.inventory).read_text().splitlines()
    assert lines[location["region"]["startLine"] - 1] == "  - id: card-fraud-detection"
    fingerprints = [r["partialFingerprints"]["clearsightGap/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    rule_ids = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert all(results[i]["ruleId"] == rule_ids[r["ruleIndex"]] for i, r in enumerate(results))
    levels = {r["level"] for r in results}
    assert levels <= {"error", "warning", "note"}


def test_markdown_summary_carries_the_story_and_the_versions(example_assessment: Assessment) -> None:
    text = markdown.render(example_assessment)
    assert text.startswith("# AI security assessment - Kestrel Bank")
    assert "Riskiest system: Card payment fraud detection" in text
    assert "Annex III 5(b)" in text
    assert "key control" in text
    for catalogue in example_assessment.catalogues:
        assert catalogue.version in text.replace("\\", "")
    assert "EU AI Act calendar: digital-omnibus-2026" in text


def test_markdown_escapes_inventory_text(example_assessment: Assessment) -> None:
    hostile = example_assessment.model_copy(update={"organisation": "Evil | <script>*bold*"})
    text = markdown.render(hostile)
    assert "<script>" not in text
    assert "Evil \\| \\<script\\>\\*bold\\*" in text


def test_navigator_layer_scores_techniques_by_systems(example_assessment: Assessment) -> None:
    layer = json.loads(navigator.render(example_assessment))
    assert layer["domain"] == "atlas-atlas"
    assert {"name": "atlas_data_version", "value": "5.6.0"} in layer["metadata"]
    by_id = {}
    for entry in layer["techniques"]:
        by_id.setdefault(entry["techniqueID"], []).append(entry)
    exposed = {t.technique for r in example_assessment.systems for t in r.threats}
    assert set(by_id) == exposed
    evasion = by_id["AML.T0015"]
    assert {e["tactic"] for e in evasion} == {"initial-access", "defense-evasion", "impact"}
    assert evasion[0]["score"] == sum(
        1 for r in example_assessment.systems if any(t.technique == "AML.T0015" for t in r.threats))


def test_csv_plan_has_one_row_per_action(example_assessment: Assessment) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_plan.render(example_assessment))))
    assert len(rows) == len(example_assessment.plan.actions)
    assert rows[0]["phase"] == "Phase 1 - Critical (months 1-2)"
    assert sum(1 for r in rows if r["key_control"] == "yes") == 5


def test_csv_neutralises_formulas(example_assessment: Assessment) -> None:
    action = example_assessment.plan.actions[0].model_copy(update={"title": "=HYPERLINK(\"x\")"})
    plan = example_assessment.plan.model_copy(update={"actions": [action]})
    rows = list(csv.DictReader(io.StringIO(csv_plan.render(example_assessment.model_copy(update={"plan": plan})))))
    assert rows[0]["title"].startswith("'=")


def test_json_report_round_trips(example_assessment: Assessment, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"".join(json_report.render(example_assessment)))
    assert json_report.read_assessment(path) == example_assessment


@pytest.mark.parametrize("organisation",
                         ["Kestrel Bank", 'Tricky\n  "systems": [] Ltd', '{"systems":[]}', 'x"systems":[]'])
@pytest.mark.parametrize("systems", ["all", "none"])
def test_json_report_in_pieces_equals_one_serialisation(
    example_assessment: Assessment, organisation: str, systems: str
) -> None:
    # The report is streamed one system at a time; it must be exactly the document serialised at once.
    update: dict[str, object] = {"organisation": organisation}
    if systems == "none":
        update["systems"] = []
    assessment = example_assessment.model_copy(update=update)
    pieces = list(json_report.render(assessment))
    whole = Assessment.__pydantic_serializer__.to_json(assessment) + b"\n"
    assert b"".join(pieces) == whole
    assert len(pieces) == (1 if systems == "none" else len(assessment.systems) + 2)

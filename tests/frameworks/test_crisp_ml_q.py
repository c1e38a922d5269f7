"""The built-in CRISP-ML(Q) phases line up with the reference and with ATLAS's lifecycle values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from own_words import words

from clearsight.frameworks.crisp_ml_q import CrispMlQ, load_crisp_ml_q
from clearsight.yaml_models import parse_yaml


@pytest.fixture(scope="module")
def crisp() -> CrispMlQ:
    return load_crisp_ml_q()


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "crisp-ml-q" / "crisp-ml-q.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def atlas_lifecycle_values(reference_dir: Path) -> set[str]:
    text = (reference_dir / "atlas" / "ATLAS.yaml").read_text(encoding="utf-8")
    atlas = parse_yaml(text)
    values: set[str] = set()
    for matrix in atlas["matrices"]:
        for mitigation in matrix["mitigations"]:
            # Known quirk in ATLAS 5.6.0: two mitigations carry a technique link (a mapping) in this list.
            values.update(v for v in mitigation.get("ml-lifecycle", []) if isinstance(v, str))
    return values


def test_phases(crisp: CrispMlQ, ref: dict[str, Any]) -> None:
    assert [p.id for p in crisp.phases] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert [(p.id, p.name) for p in crisp.phases] == [(p["id"], p["name"]) for p in ref["phases"]]
    assert crisp.phase("P3").name == "ML Model Engineering"


def test_lifecycle_values_match_atlas(
    crisp: CrispMlQ, ref: dict[str, Any], atlas_lifecycle_values: set[str]
) -> None:
    expected = [
        "Business and Data Understanding", "Data Preparation", "ML Model Engineering",
        "ML Model Evaluation", "Deployment", "Monitoring and Maintenance",
    ]
    ours = [p.atlas_lifecycle_value for p in crisp.phases]
    assert ours == expected
    assert ours == [p["atlas_lifecycle_value"] for p in ref["phases"]]
    assert set(ours) == atlas_lifecycle_values


def _reference_task_name(task: dict[str, Any]) -> str:
    """Undo the reference file's YAML quirk: commas inside the name split it into extra mapping keys."""
    extra = [str(k) for k in task if k not in ("id", "name")]
    return ", ".join([str(task["name"]), *extra])


def test_tasks_repaired_from_reference(crisp: CrispMlQ, ref: dict[str, Any]) -> None:
    ours = {t.id: t.name for p in crisp.phases for t in p.tasks}
    theirs = {t["id"]: _reference_task_name(t) for p in ref["phases"] for t in p["tasks"]}
    assert ours == theirs
    assert len(ours) == 30
    for phase in crisp.phases:
        for task in phase.tasks:
            assert task.id.startswith(phase.id + ".")
            assert task.name.count("(") == task.name.count(")"), task.name
            assert "null" not in task.name and ":" not in task.name, task.name


def test_summaries(crisp: CrispMlQ) -> None:
    for phase in crisp.phases:
        assert phase.summary.strip()
        assert len(words(phase.summary)) <= 25


def test_meta(crisp: CrispMlQ, ref: dict[str, Any]) -> None:
    assert crisp.meta.source == ref["meta"]["doi"]
    assert "CC BY 4.0" in crisp.meta.licence

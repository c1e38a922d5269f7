"""The built-in ISO/IEC 42001 Annex A list matches the reference IDs and short titles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clearsight.frameworks.iso_42001 import Iso42001, load_iso_42001


@pytest.fixture(scope="module")
def iso() -> Iso42001:
    return load_iso_42001()


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "iso-iec-42001" / "iso-iec-42001-annex-a.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _ref_controls(area: dict[str, Any]) -> list[dict[str, Any]]:
    """Controls of an area, flattening the sub-groups that A.6 has in the reference."""
    controls: list[dict[str, Any]] = list(area.get("controls", []))
    for group in area.get("subgroups", []):
        controls.extend(group["controls"])
    return controls


def test_counts(iso: Iso42001, ref: dict[str, Any]) -> None:
    assert len(iso.areas) == 9
    assert len(iso.control_ids()) == 38
    assert sum(len(a.controls) for a in iso.areas) == 38
    assert ref["meta"]["counts"] == {"annex_a_objective_areas": 9, "annex_a_controls": 38}


def test_areas_match_reference(iso: Iso42001, ref: dict[str, Any]) -> None:
    assert [a.id for a in iso.areas] == [f"A.{n}" for n in range(2, 11)]
    assert [(a.id, a.title) for a in iso.areas] == [(a["id"], a["title"]) for a in ref["annex_a"]]


def test_controls_match_reference(iso: Iso42001, ref: dict[str, Any]) -> None:
    theirs = {a["id"]: [(c["id"], c["title"]) for c in _ref_controls(a)] for a in ref["annex_a"]}
    ours = {a.id: [(c.id, c.title) for c in a.controls] for a in iso.areas}
    assert ours == theirs
    for area in iso.areas:
        for control in area.controls:
            assert control.id.startswith(area.id + "."), control.id
            assert not control.id.endswith(".1"), f"{control.id}: A.x.1 is an objective, not a control"


def test_meta_flags_copyright(iso: Iso42001) -> None:
    note = (iso.meta.note or "") + " " + iso.meta.licence
    assert "copyright" in note.lower()
    assert "not included" in note.lower()
    assert iso.meta.version == "2023"
    assert iso.meta.reviewed_on is not None

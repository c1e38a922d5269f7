from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clearsight.core.errors import CatalogueError
from clearsight.frameworks.atlas import ATLAS_ID, atlas_url, parse_official_atlas
from clearsight.frameworks.atlas_store import load_atlas, load_builtin_atlas, save_installed_atlas
from clearsight.frameworks.atlas_update import diff_atlas


@pytest.fixture(scope="module")
def official(reference_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load((reference_dir / "atlas" / "ATLAS.yaml").read_text(), Loader=yaml.CSafeLoader)
    return data


def test_builtin_catalogue_matches_the_official_file(official: dict[str, Any]) -> None:
    atlas = load_builtin_atlas()
    matrix = official["matrices"][0]
    assert atlas.meta.version == official["version"]
    pairs = (("tactics", atlas.tactics), ("techniques", atlas.techniques), ("mitigations", atlas.mitigations))
    for key, ours in pairs:
        theirs = {item["id"]: item["name"] for item in matrix[key]}
        assert {o.id: o.name for o in ours} == theirs, key
    assert {c.id: c.name for c in atlas.case_studies} == {c["id"]: c["name"] for c in official["case-studies"]}
    counts = (len(atlas.tactics), len(atlas.techniques), len(atlas.mitigations), len(atlas.case_studies))
    assert counts == (16, 170, 35, 57)


def test_builtin_catalogue_keeps_every_mitigation_link(official: dict[str, Any]) -> None:
    atlas = load_builtin_atlas()
    ours = {(m.id, t) for m in atlas.mitigations for t in m.techniques}
    theirs = set()
    for m in official["matrices"][0]["mitigations"]:
        # ATLAS 5.6.0 misfiles two links inside ml-lifecycle; both lists count.
        for link in (m.get("techniques") or []) + [x for x in m.get("ml-lifecycle") or [] if isinstance(x, dict)]:
            theirs.add((m["id"], link["id"]))
    assert ours == theirs
    assert len(ours) >= 246


def test_builtin_catalogue_ships_no_descriptions() -> None:
    text = (Path(__file__).parents[2] / "src/clearsight/frameworks/data/atlas.json").read_text()
    assert "description" not in text and "summary" not in text


def test_repairs_known_defects(official: dict[str, Any]) -> None:
    atlas, repairs = parse_official_atlas(official, source="test")
    m18 = atlas.mitigation_index["AML.M0018"]
    assert "AML.T0052.001" in m18.techniques
    assert all(isinstance(x, str) and not x.startswith("AML.") for x in m18.lifecycle)
    sub = atlas.technique_index["AML.T0024.002"]
    assert sub.parent == "AML.T0024" and sub.tactics == atlas.technique_index["AML.T0024"].tactics
    assert any("AML.M0034" in r for r in repairs)


def test_every_id_has_the_atlas_shape_and_a_url() -> None:
    atlas = load_builtin_atlas()
    for atlas_id in atlas.ids():
        assert ATLAS_ID.match(atlas_id)
    assert atlas_url("AML.T0024.002") == "https://atlas.mitre.org/techniques/AML.T0024.002"
    assert atlas_url("AML.TA0010") == "https://atlas.mitre.org/tactics/AML.TA0010"
    assert atlas_url("AML.M0004") == "https://atlas.mitre.org/mitigations/AML.M0004"
    assert atlas_url("AML.CS0056") == "https://atlas.mitre.org/studies/AML.CS0056"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("matrices"), "'matrices' missing"),
        (lambda d: d["matrices"][0]["techniques"][0].pop("id"), "has no 'id'"),
        (lambda d: d["matrices"][0]["techniques"][0].update(id="T1234"), "is not an ATLAS ID"),
        (lambda d: d["matrices"][0]["techniques"][0].update(tactics=["AML.TA9999"]), "unknown tactics"),
        (lambda d: d["matrices"][0]["mitigations"][0]["techniques"].append({"id": "AML.T9999"}), "unknown techniques"),
        (lambda d: d["matrices"][0]["tactics"][0].update(name=""), "missing or empty"),
    ],
)
def test_corrupt_files_are_rejected_with_a_reason(official: dict[str, Any], mutate: Any, message: str) -> None:
    broken = yaml.load(yaml.dump(official), Loader=yaml.CSafeLoader)
    mutate(broken)
    with pytest.raises(CatalogueError, match=message):
        parse_official_atlas(broken, source="test")


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(CatalogueError, match="not a mapping"):
        parse_official_atlas(["not", "atlas"], source="test")


def test_diff_and_installed_edition(official: dict[str, Any], tmp_path: Path) -> None:
    newer = yaml.load(yaml.dump(official), Loader=yaml.CSafeLoader)
    newer["version"] = "9.9.9"
    techniques = newer["matrices"][0]["techniques"]
    techniques[0]["name"] = "Search Open Technical Databases (renamed)"
    techniques.append({"id": "AML.T0999", "name": "Brand New Technique", "tactics": ["AML.TA0010"]})
    catalogue, _ = parse_official_atlas(newer, source="test")
    diff = diff_atlas(load_builtin_atlas(), catalogue)
    assert diff.added == ["AML.T0999"]
    assert diff.removed == []
    assert [r.id for r in diff.renamed] == ["AML.T0000"]

    assert load_atlas(tmp_path).meta.version == "5.6.0"
    save_installed_atlas(catalogue, tmp_path)
    assert load_atlas(tmp_path).meta.version == "9.9.9"
    assert "AML.T0999" in load_atlas(tmp_path).technique_index


def test_duplicate_ids_are_rejected(official: dict[str, Any]) -> None:
    broken = yaml.load(yaml.dump(official), Loader=yaml.CSafeLoader)
    techniques = broken["matrices"][0]["techniques"]
    techniques.append(dict(techniques[0]))
    with pytest.raises(CatalogueError, match="appears more than once"):
        parse_official_atlas(broken, source="test")

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.core.errors import InputError
from clearsight.inventory.loader import load_inventory

PURPOSES = {"fraud-detection", "credit-scoring"}
CONTROLS = {"CS-API-01", "CS-DAT-01"}

GOOD = """\
version: 1
organisation:
  name: Example Org
systems:
  - id: fraud
    name: Fraud model
    root: svc
    traits:
      purposes: [fraud-detection]
      exposure: partner
    attestations:
      - control: CS-API-01
        status: implemented
  - id: credit
    name: Credit model
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "svc").mkdir(exist_ok=True)
    path = tmp_path / "clearsight.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path):  # type: ignore[no-untyped-def]
    return load_inventory(path, known_purposes=PURPOSES, known_controls=CONTROLS)


def problem(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load(write(tmp_path, text))
    return info.value


def test_valid_inventory_gives_systems_with_locations(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, GOOD).parent)  # the folder works as well as the file
    assert [s.id for s in loaded.systems] == ["fraud", "credit"]
    fraud = loaded.systems[0]
    assert fraud.declared
    assert fraud.location is not None and fraud.location.line == 5
    assert fraud.attestations[0].location is not None and fraud.attestations[0].location.line == 12
    assert loaded.systems[1].location is not None and loaded.systems[1].location.line == 14


def test_unknown_key_names_line_field_and_hint(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("      exposure: partner", "      exposure: partner\n      exposur: public"))
    assert err.line == 11
    assert err.field == "systems[0].traits.exposur"
    assert "unknown key 'exposur'" in err.message
    assert err.hint is not None and "did you mean 'exposure'" in err.hint
    assert err.diagnostic().startswith(str(tmp_path / "clearsight.yaml") + ":11: ")


def test_bad_trait_value_points_at_its_line(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("exposure: partner", "exposure: galaxy"))
    assert err.line == 10
    assert err.field == "systems[0].traits.exposure"
    assert "'partner'" in err.message


def test_unknown_purpose_suggests_a_close_one(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("[fraud-detection]", "[fraud-detectoin]"))
    assert err.line == 9
    assert "unknown purpose" in err.message
    assert err.hint is not None and "fraud-detection" in err.hint


def test_unknown_control_in_attestation(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("CS-API-01", "CS-API-99"))
    assert err.line == 12
    assert "unknown control 'CS-API-99'" in err.message


def test_duplicate_system_id(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("id: credit", "id: fraud"))
    assert "already used on line 5" in err.message
    assert err.line == 14


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("    name: Credit model", "    name: Credit model\n    name: Again"))
    assert err.line == 16
    assert "appears twice" in err.message


def test_missing_field(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("    name: Credit model\n", ""))
    assert err.field == "systems[1].name"
    assert "missing" in err.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("just a string", "top level must be a mapping"),
        ("organisation: {name: [unclosed", "invalid YAML"),
        ("version: 1\norganisation:\n  name: x\nsystems:\n  - id: BAD ID\n    name: x\n", "should match pattern"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    assert message in problem(tmp_path, text).message


def test_root_must_stay_inside(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("root: svc", "root: ../../etc"))
    assert "outside" in err.message
    assert err.line == 7
    err = problem(tmp_path, GOOD.replace("root: svc", "root: nope"))
    assert "not a folder" in err.message


def test_missing_path_and_folder_without_inventory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no clearsight\.yaml"):
        load(tmp_path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "clearsight.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"not UTF-8"):
        load(path)


def test_alias_bomb_is_cheap_and_rejected(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\nversion: 1\norganisation: {name: x}\nsystems: []\n"
    err = problem(tmp_path, text)  # refused before validation would walk its 10**9 references
    assert "aliases expand this document to 1,234,567,917 values" in err.message


def test_non_scalar_mapping_key(tmp_path: Path) -> None:
    err = problem(tmp_path, "? [a, b]\n: 1\n")
    assert "mapping key must be a plain value" in err.message
    assert err.line == 1

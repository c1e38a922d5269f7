"""Schema validation against falsification: inferred from trusted data, checked by pandera, with rows named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clearsight.core.errors import InputError
from clearsight.data import simulate as sim
from clearsight.data.schema import DataSchema, dump_schema, infer_schema, load_schema, validate
from clearsight.data.table import LabelledTable


@pytest.fixture(scope="module")
def trusted() -> LabelledTable:
    return sim.transactions(rows=3000, seed=1).table()


@pytest.fixture(scope="module")
def schema(trusted: LabelledTable, tmp_path_factory: pytest.TempPathFactory) -> DataSchema:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    trusted.id_column = "transaction_id"
    path.write_text(dump_schema(infer_schema(trusted)), encoding="utf-8")
    return load_schema(path)  # the written file reads back: inference and the format agree


def test_inferred_schema_holds_the_rules_a_reviewer_expects(schema: DataSchema) -> None:
    cols = schema.columns
    assert cols["transaction_id"].unique and not cols["transaction_id"].nullable
    assert cols["amount"].type == "float" and cols["amount"].min == 0.0
    assert cols["is_fraud"].allowed == [0, 1]
    assert cols["merchant"].allowed is not None and "grocery" in cols["merchant"].allowed
    assert "velocity_24h >= velocity_1h" in schema.relations


def test_trusted_data_passes_its_own_schema(trusted: LabelledTable, schema: DataSchema) -> None:
    result = validate(trusted, schema, "schema.yaml")
    assert result.passed, result.issues


def test_each_falsification_is_named_with_its_row(trusted: LabelledTable, schema: DataSchema) -> None:
    cols = {k: v.copy() for k, v in trusted.columns.items()}
    cols["amount"][5] = -40.0
    cols["merchant"][7] = "crypto_atm"
    cols["velocity_1h"][9] = cols["velocity_24h"][9] + 3
    cols["transaction_id"][11] = cols["transaction_id"][10]
    cols["device_risk"][12] = np.nan
    cols["is_fraud"][14] = 7
    result = validate(LabelledTable(cols, "is_fraud", "transaction_id"), schema, "schema.yaml")
    assert not result.passed
    found = {(i.column, i.check.split("(")[0]): i for i in result.issues}
    assert "data row 6" in found[("amount", "greater_than_or_equal_to")].examples[0]
    assert "'crypto_atm' (data row 8)" in found[("merchant", "isin")].examples[0]
    relation = found[(None, "relation: velocity_24h >= velocity_1h")]
    assert relation.failures == 1 and relation.examples[0].startswith("data row 10:")
    assert found[("transaction_id", "field_uniqueness")].failures == 2
    assert found[("device_risk", "not_nullable")].failures == 1
    assert ("is_fraud", "isin") in found


def test_text_where_numbers_belong_and_null_rates() -> None:
    schema = DataSchema.model_validate({"columns": {
        "amount": {"type": "float"}, "note": {"type": "str", "max_null_rate": 0.1}, "label": {"allowed": [0, 1]}}})
    cols = {"amount": np.array(["a", "b", "c", "d"], dtype=object), "note": np.array(["x", "", "", "y"], dtype=object),
            "label": np.array([0.0, 1.0, 0.0, 1.0])}
    result = validate(LabelledTable(cols, "label"), schema, "s")
    checks = {(i.column, i.check) for i in result.issues}
    assert ("amount", "holds float values") in checks
    assert ("note", "null rate at most 0.1") in checks


def test_missing_columns_and_strict_mode() -> None:
    schema = DataSchema.model_validate({"strict": True, "columns": {"a": {}, "label": {}},
                                       "relations": ["a <= b"]})
    cols = {"a": np.array([1.0, 2.0]), "extra": np.array([1.0, 2.0]), "label": np.array([0.0, 1.0])}
    result = validate(LabelledTable(cols, "label"), schema, "s")
    assert not result.passed
    assert any(i.column == "b" and i.check == "relation column" for i in result.issues)
    assert any("extra" in (i.column or "") + " ".join(i.examples) for i in result.issues)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("columns:\n  a: {type: float}\n  b: {kind: str}\n", 3, "kind"),
    ("columns:\n  a: {}\nrelations:\n  - a >> b\n", 4, "not 'column OP column'"),
    ("columns:\n  a: {pattern: '([a-z'}\n", 2, "not a regular expression"),
    ("columns:\n  a: {max_null_rate: 2}\n", 2, "max_null_rate"),
])
def test_schema_file_errors_point_at_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_schema(path)
    assert err.value.line == line
    assert message in err.value.diagnostic()

"""Declarative data validation against falsification: ``schema.yaml`` rules, checked with pandera.

The file format is ours (short, reviewable, line-numbered errors); pandera does the checking, so every
failure comes back as a count and example values per column and rule. A schema inferred from a trusted
snapshot is the starting point: ranges are the snapshot's widened by a tenth (floored at 0 for columns that
never went negative), allowed values are those it held, and a
relation between two columns with a common name stem (``velocity_24h >= velocity_1h``) is kept when it held
on every row. Widen what the business allows before relying on it.

```yaml
version: 1
strict: false              # true: columns not listed here are an error
columns:
  amount: {type: float, min: 0, max: 25000}
  merchant: {type: str, allowed: [grocery, fuel, travel]}
  transaction_id: {type: str, unique: true, nullable: false}
  device_risk: {type: float, min: 0, max: 1, max_null_rate: 0.01}
relations:
  - velocity_24h >= velocity_1h
```
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from clearsight.core.datacheck import ValidationIssue, ValidationResult
from clearsight.core.errors import InputError
from clearsight.data.table import LabelledTable, is_numeric
from clearsight.yaml_models import load_model, read_text_file

MAX_SCHEMA_BYTES = 1 << 20
RELATION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>)\s*([A-Za-z_][\w.]*|[-+]?\d+(?:\.\d+)?)\s*$")
INFER_ALLOWED = 50
EXAMPLES = 5
Scalar = str | int | float | bool


def _relation_text(item: str) -> str:
    if not RELATION.match(item):
        raise ValueError(f"'{item}' is not 'column OP column' or 'column OP number' (OP: < <= > >= == !=)")
    return item


Relation = Annotated[str, AfterValidator(_relation_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnRule(_Strict):
    type: Literal["int", "float", "str", "bool"] | None = None
    min: float | None = None
    max: float | None = None
    allowed: list[Scalar] | None = None
    unique: bool = False
    nullable: bool = True
    max_null_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    pattern: str | None = Field(default=None, description="Regular expression every text value must match.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class DataSchema(_Strict):
    version: Literal[1] = 1
    strict: bool = False
    columns: dict[str, ColumnRule]
    relations: list[Relation] = Field(default_factory=list,
                                      description="`a >= b`, `a < 100`: <, <=, >, >=, ==, !=")


def load_schema(path: Path) -> DataSchema:
    if not path.is_file():
        raise InputError("no such schema file", path=str(path))
    text = read_text_file(path, max_bytes=MAX_SCHEMA_BYTES, what="a data schema")
    _node, schema = load_model(text, DataSchema, str(path), top_level="'columns'",
                               empty_hint="clearsight data infer-schema writes one from trusted data")
    return schema


# ------------------------------------------------------------------------------------------------ validation


def _frame(table: LabelledTable) -> Any:
    import pandas as pd

    data: dict[str, Any] = {}
    for name, col in table.columns.items():
        if is_numeric(col):
            data[name] = pd.Series(col.astype(float))
        else:
            data[name] = pd.Series([None if v == "" else v for v in col.tolist()], dtype=object)
    return pd.DataFrame(data)


def _column(rule: ColumnRule, name: str) -> Any:
    import pandera.pandas as pa

    checks = []
    if rule.type in ("int", "float", "bool"):
        checks.append(pa.Check(lambda s: s.map(lambda v: isinstance(v, (int, float))).all(), element_wise=False,
                               error=f"holds {rule.type} values", name="type"))
    if rule.type == "int":
        checks.append(pa.Check(lambda s: (s.astype(float) % 1 == 0), error="whole numbers", name="int"))
    if rule.type == "bool":
        checks.append(pa.Check.isin([0.0, 1.0], name="bool"))
    if rule.type == "str":
        checks.append(pa.Check(lambda s: s.map(lambda v: isinstance(v, str)), error="text values", name="str"))
    if rule.min is not None:
        checks.append(pa.Check.ge(rule.min, name="min"))
    if rule.max is not None:
        checks.append(pa.Check.le(rule.max, name="max"))
    if rule.allowed is not None:
        allowed = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                   for v in rule.allowed]
        checks.append(pa.Check.isin(allowed, name="allowed"))
    if rule.pattern is not None:
        checks.append(pa.Check.str_matches(rule.pattern, name="pattern"))
    if rule.max_null_rate is not None:
        rate = rule.max_null_rate
        checks.append(pa.Check(lambda s: bool(s.isna().mean() <= rate), ignore_na=False,
                               error=f"null rate at most {rate}", name="max_null_rate"))
    return pa.Column(None, checks=checks, nullable=rule.nullable, unique=rule.unique, required=True, name=name)


def _relation(text: str) -> Any:
    import operator

    import pandera.pandas as pa

    match = RELATION.match(text)
    assert match is not None
    left, op, right = match.groups()
    fn = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
          "!=": operator.ne}[op]

    def check(df: Any) -> Any:
        other = df[right] if right in df.columns else float(right)
        both = df[left].notna() & (other.notna() if hasattr(other, "notna") else True)
        return fn(df[left], other) | ~both  # a missing side is the null rules' business

    return pa.Check(check, name=f"relation: {text}", error=f"relation: {text}")


def validate(table: LabelledTable, schema: DataSchema, source: str) -> ValidationResult:
    try:
        import pandera.errors as pe
        import pandera.pandas as pa
    except ImportError as exc:
        raise InputError("schema validation needs pandera", hint="pip install 'clearsight[data]'") from exc
    missing_relation_columns = [
        name for text in schema.relations for name in (RELATION.match(text).groups()[::2])  # type: ignore[union-attr]
        if not _is_number(name) and name not in table.columns]
    issues: list[ValidationIssue] = [
        ValidationIssue(check="relation column", column=name, failures=1, examples=[]) for name in
        dict.fromkeys(missing_relation_columns)]
    relations = [r for r in schema.relations if not any(c in missing_relation_columns for c in _columns_of(r))]
    model = pa.DataFrameSchema({name: _column(rule, name) for name, rule in schema.columns.items()},
                               checks=[_relation(r) for r in relations], strict=schema.strict)
    try:
        model.validate(_frame(table), lazy=True)
    except pe.SchemaErrors as exc:
        issues += _issues(exc.failure_cases)
    issues = order_issues(issues, schema)
    return ValidationResult(schema_source=source, passed=not issues, issues=issues)


def order_issues(issues: list[ValidationIssue], schema: DataSchema) -> list[ValidationIssue]:
    """Relations first, then columns, each in the schema's order: the same order however the data was read."""
    relations = {f"relation: {r}": i for i, r in enumerate(schema.relations)}
    columns = {name: i for i, name in enumerate(schema.columns)}

    def key(issue: ValidationIssue) -> tuple[int, int, str, str]:
        if issue.column is None:
            return 0, relations.get(issue.check, len(relations)), "", issue.check
        return 1, columns.get(issue.column, len(columns)), issue.column, issue.check

    return sorted(issues, key=key)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns_of(relation: str) -> list[str]:
    match = RELATION.match(relation)
    assert match is not None
    return [t for t in match.groups()[::2] if not _is_number(t)]


def _issues(cases: Any) -> list[ValidationIssue]:
    out: list[ValidationIssue] = []
    table_level = cases["check"].astype(str).str.startswith("relation: ")
    for check, group in cases[table_level].groupby("check", sort=False):
        rows = sorted({int(i) for i in group["index"].dropna()})
        relation = str(check).removeprefix("relation: ")
        involved = set(_columns_of(relation))
        shown = group[group["column"].isin(involved)]
        examples = []
        for index in rows[:EXAMPLES]:
            values = shown[shown["index"] == index]
            pairs = ", ".join(f"{c}={v!r}" for c, v in zip(values["column"], values["failure_case"], strict=True))
            examples.append(f"data row {index + 1}: {pairs}")
        out.append(ValidationIssue(check=str(check), column=None, failures=len(rows), examples=examples))
    for (column, check), group in cases[~table_level].groupby(["column", "check"], dropna=False, sort=False):
        col = None if column is None or (isinstance(column, float) and math.isnan(column)) else str(column)
        examples = []
        for _, row in group.head(EXAMPLES).iterrows():
            index = row.get("index")
            where = f" (data row {int(index) + 1})" if isinstance(index, (int, float)) and not math.isnan(index) else ""
            examples.append(f"{row['failure_case']!r}{where}")
        out.append(ValidationIssue(check=str(check), column=col, failures=len(group), examples=examples))
    return out


# ------------------------------------------------------------------------------------------------- inference


def infer_schema(table: LabelledTable) -> DataSchema:
    columns: dict[str, ColumnRule] = {}
    n = table.rows
    for name, col in table.columns.items():
        if is_numeric(col):
            x = col.astype(float)
            finite = x[np.isfinite(x)]
            nulls = float(np.mean(~np.isfinite(x)))
            whole = bool(finite.size and np.all(finite % 1 == 0))
            values = np.unique(finite)
            rule = ColumnRule(
                type="int" if whole else "float",
                min=_lower(finite) if finite.size else None,
                max=_upper(finite) if finite.size else None,
                allowed=[int(v) if whole else float(v) for v in values] if whole and len(values) <= 10 else None,
                unique=name == table.id_column, nullable=nulls > 0,
                max_null_rate=_null_allowance(nulls) if nulls > 0 else None)
        else:
            texts = [str(v) for v in col.tolist()]
            present = [t for t in texts if t]
            nulls = 1.0 - len(present) / max(n, 1)
            distinct = sorted(set(present))
            small = len(distinct) <= INFER_ALLOWED and len(distinct) <= max(2, n // 20)
            rule = ColumnRule(type="str", allowed=list(distinct) if small and name != table.id_column else None,
                              unique=name == table.id_column or (len(distinct) == n and n >= 100),
                              nullable=nulls > 0, max_null_rate=_null_allowance(nulls) if nulls > 0 else None)
        columns[name] = rule
    return DataSchema(columns=columns, relations=_relations(table))


RANGE_MARGIN = 0.1


def _lower(x: np.ndarray[Any, Any]) -> float:
    """Non-negative columns stay floored at 0; others get a tenth of their range below the lowest value."""
    low, high = float(x.min()), float(x.max())
    return 0.0 if low >= 0 else _round(low - RANGE_MARGIN * (high - low), down=True)


def _upper(x: np.ndarray[Any, Any]) -> float:
    """A tenth of the range above the highest value seen: a snapshot never holds the very largest case."""
    low, high = float(x.min()), float(x.max())
    if np.all(x % 1 == 0) and len(np.unique(x)) <= 10:
        return high  # codes and flags (0/1, 1..5) have no room to grow
    upper = _round(high + RANGE_MARGIN * (high - low), down=False)
    return float(math.ceil(upper)) if np.all(x % 1 == 0) else upper


def _round(value: float, *, down: bool) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    digits = 3 - math.floor(math.log10(abs(value))) - 1
    scale = 10.0 ** digits
    return (math.floor if down else math.ceil)(value * scale) / scale


def _null_allowance(observed: float) -> float:
    return min(1.0, round(observed * 2 + 0.001, 4))


def _relations(table: LabelledTable) -> list[str]:
    numeric = [c for c in table.feature_names if is_numeric(table.columns[c])]
    out = []
    for i, a in enumerate(numeric):
        for b in numeric[i + 1:]:
            if a.rsplit("_", 1)[0] != b.rsplit("_", 1)[0] or "_" not in a:
                continue
            x, y = table.columns[a].astype(float), table.columns[b].astype(float)
            both = np.isfinite(x) & np.isfinite(y)
            if not both.any() or np.array_equal(x[both], y[both]):
                continue
            if np.all(x[both] >= y[both]):
                out.append(f"{a} >= {b}")
            elif np.all(x[both] <= y[both]):
                out.append(f"{b} >= {a}")
    return out


def dump_schema(schema: DataSchema) -> str:
    data = schema.model_dump(mode="json", exclude_defaults=False)
    columns = {}
    for name, rule in data["columns"].items():
        kept = {k: v for k, v in rule.items() if v is not None and not (k == "unique" and v is False)
                and not (k == "nullable" and v is True)}
        for bound in ("min", "max"):
            if isinstance(kept.get(bound), float) and float(kept[bound]).is_integer():
                kept[bound] = int(kept[bound])
        columns[name] = kept
    body = {"version": 1, "strict": schema.strict, "columns": columns, "relations": schema.relations}
    header = ("# Inferred by `clearsight data infer-schema` from a trusted snapshot: ranges and allowed values\n"
              "# are that snapshot's. Widen what the business allows, then review it like code.\n")
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=120)

"""Schema validation of data read in pieces, with the result a full read gives.

Row rules (types, ranges, allowed values, patterns, relations) are checked where each piece is read, and
their failures add up. Two rules are about a whole column, so a piece cannot decide them alone: for
``max_null_rate`` each piece counts its empty values, and for ``unique`` it returns a 64-bit hash of every
value (8 bytes a row: the one cost here that grows with the data); the caller decides both over all rows
and reads the few example values back from their pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import ValidationIssue, ValidationResult
from clearsight.data.schema import EXAMPLES, DataSchema, order_issues, validate
from clearsight.data.table import Columns, LabelledTable


@dataclass
class PieceChecks:
    issues: list[ValidationIssue]  # row-rule failures, rows numbered within the piece
    nulls: dict[str, int] = field(default_factory=dict)  # per max_null_rate column: empty values
    hashes: dict[str, NDArray[np.uint64]] = field(default_factory=dict)  # per unique column, in row order
    present: dict[str, NDArray[np.bool_]] = field(default_factory=dict)  # per unique column: value not empty


def check_piece(columns: Columns, schema: DataSchema, shown: str) -> PieceChecks:
    from clearsight.data.loading import _missing

    rows_only = schema.model_copy(update={"columns": {
        name: rule.model_copy(update={"unique": False, "max_null_rate": None})
        for name, rule in schema.columns.items()}})
    issues = validate(LabelledTable(columns, next(iter(columns))), rows_only, shown).issues
    checks = PieceChecks(issues)
    for name, rule in schema.columns.items():
        if name not in columns:
            continue
        if rule.max_null_rate is not None:
            checks.nulls[name] = int(_missing(columns[name]).sum())
        if rule.unique:
            checks.hashes[name] = _hash_values(columns[name])
            checks.present[name] = ~_missing(columns[name])
    return checks


def _hash_values(column: NDArray[Any]) -> NDArray[np.uint64]:
    import pandas as pd

    values = column if column.dtype.kind == "f" else np.asarray(column, dtype=object)
    return np.asarray(pd.util.hash_array(values), dtype=np.uint64)


_SUFFIX = re.compile(r"\(data row (\d+)\)$")
_PREFIX = re.compile(r"^data row (\d+):")


def _renumber(example: str, offset: int) -> tuple[str, bool]:
    """Shift the row number pandera wrote (never one inside the failing value); say whether there was one."""
    for pattern, form in ((_SUFFIX, "(data row {})"), (_PREFIX, "data row {}:")):
        match = pattern.search(example)
        if match:
            shifted = form.format(int(match.group(1)) + offset)
            return example[:match.start()] + shifted + example[match.end():], True
    return example, False


def merge_checks(checks: Sequence[PieceChecks], rows: Sequence[int], schema: DataSchema, source: str,
                 values_at: Callable[[str, list[int]], list[Any]]) -> ValidationResult:
    """One result for the whole data. ``values_at(column, rows)`` reads values back (``unique`` examples)."""
    merged: dict[tuple[str, str | None], ValidationIssue] = {}
    offset = 0
    for piece, count in zip(checks, rows, strict=True):
        for issue in piece.issues:
            renumbered = [_renumber(e, offset) for e in issue.examples]
            examples = [text for text, _ in renumbered]
            per_row = any(has_row for _, has_row in renumbered)
            key = (issue.check, issue.column)
            seen = merged.get(key)
            if seen is None:
                merged[key] = issue.model_copy(update={"examples": examples[:EXAMPLES]})
                continue
            failures = seen.failures + issue.failures if per_row else max(seen.failures, issue.failures)
            merged[key] = seen.model_copy(update={"failures": failures,
                                                  "examples": (seen.examples + examples)[:EXAMPLES]})
        offset += count
    issues = list(merged.values())
    total = sum(rows)
    for name, rule in schema.columns.items():
        nulls = sum(c.nulls.get(name, 0) for c in checks)
        if rule.max_null_rate is not None and total and nulls / total > rule.max_null_rate:
            issues.append(ValidationIssue(check=f"null rate at most {rule.max_null_rate}", column=name,
                                          failures=1, examples=["False"]))
        if rule.unique and all(name in c.hashes for c in checks):
            repeated = _duplicates(name, checks, values_at)
            if repeated is not None:
                issues.append(repeated)
    issues = order_issues(issues, schema)
    return ValidationResult(schema_source=source, passed=not issues, issues=issues)


def _duplicates(name: str, checks: Sequence[PieceChecks],
                values_at: Callable[[str, list[int]], list[Any]]) -> ValidationIssue | None:
    hashes = np.concatenate([c.hashes[name] for c in checks])
    present = np.concatenate([c.present[name] for c in checks])
    rows = np.flatnonzero(present)
    if not len(rows):
        return None
    _unique, inverse, counts = np.unique(hashes[rows], return_inverse=True, return_counts=True)
    repeated = rows[counts[inverse] > 1]
    if not len(repeated):
        return None
    shown = [int(row) for row in repeated[:EXAMPLES]]
    examples = [f"{value!r} (data row {row + 1})" for row, value in zip(shown, values_at(name, shown), strict=True)]
    return ValidationIssue(check="field_uniqueness", column=name, failures=len(repeated), examples=examples)


def python_value(column: NDArray[Any], index: int) -> Any:
    """A value as pandera shows it in a failure: a float for numbers, the text otherwise."""
    value = column[index]
    return float(value) if column.dtype.kind == "f" else str(value)



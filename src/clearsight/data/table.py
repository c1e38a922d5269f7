"""A labelled data set as plain NumPy columns, and the two numeric views every signal works on.

* the *model* view: numbers as they are, strings as category codes (gradient boosting splits on them);
* the *distance* view: numbers log-compressed when heavy-tailed and scaled to unit spread, categories
  one-hot, so that "near" means the same thing in every column.

Free-text columns (mostly unique strings: e-mails, names) and the ID column are left out of both views: a
unique value says nothing about a label, and keeping it would make every row an outlier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import ValidationResult

Columns = dict[str, NDArray[Any]]
MAX_CATEGORIES = 250  # gradient boosting's limit for native categories; wider columns become frequency codes
FREE_TEXT_SHARE = 0.5


@dataclass
class LabelledTable:
    """The data as read, plus which column is the label and which (if any) identifies a row."""

    columns: Columns
    label: str
    id_column: str | None = None
    source: str = ""
    format: str = ""
    sha256: str | None = None
    partitions: dict[str, tuple[str, int]] = field(default_factory=dict)  # relative path -> (sha256, rows)
    sampled_from: int | None = None  # rows in the file when only a sample was read
    validation: ValidationResult | None = None  # every row checked against a schema while a sample was read

    @property
    def rows(self) -> int:
        return len(self.columns[self.label])

    @property
    def feature_names(self) -> list[str]:
        return [c for c in self.columns if c not in (self.label, self.id_column)]

    def ids(self) -> NDArray[Any] | None:
        return None if self.id_column is None else self.columns[self.id_column].astype(str)


def is_numeric(column: NDArray[Any]) -> bool:
    return column.dtype.kind in "fiub"


@dataclass
class Encoded:
    """Numeric views of a :class:`LabelledTable`; ``y`` holds label codes into ``classes``."""

    names: list[str]
    model: NDArray[np.float64]
    categorical: NDArray[np.bool_]
    distance: NDArray[np.float64]
    distance_owner: NDArray[np.int64]  # distance column -> index into ``names``
    y: NDArray[np.int64]
    classes: NDArray[Any]
    skipped: dict[str, str] = field(default_factory=dict)
    categories: dict[int, NDArray[Any]] = field(default_factory=dict)  # feature index -> value per code

    def value_text(self, feature: int, value: float) -> str:
        names = self.categories.get(feature)
        if names is not None:
            return str(names[int(value)])
        return f"{value:g}"

    @property
    def dense(self) -> bool:
        """Many same-kind numeric features (pixels, embeddings): linear and neighbour models fit best."""
        return not self.categorical.any() and len(self.names) >= 20

    def prior(self) -> NDArray[np.float64]:
        counts = np.bincount(self.y, minlength=len(self.classes)).astype(float)
        return np.asarray(counts / counts.sum(), dtype=np.float64)


def label_values(column: NDArray[Any]) -> NDArray[Any]:
    """Labels as people wrote them: ``1`` not ``1.0`` when a CSV reader made whole numbers floats."""
    if not is_numeric(column):
        return column.astype(str)
    if column.dtype.kind == "f" and np.all(np.isfinite(column)) and np.all(np.mod(column, 1) == 0):
        return column.astype(np.int64)
    return column


def _numeric_view(column: NDArray[Any]) -> NDArray[np.float64]:
    x = column.astype(float)
    finite = np.isfinite(x)
    fill = float(np.median(x[finite])) if finite.any() else 0.0
    return np.where(finite, x, fill)


def scaled(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Heavy right tails compressed with log1p (amounts, distances), then unit spread."""
    if x.size and x.min() >= 0 and np.percentile(x, 99) > 20 * max(float(np.median(x)), 1e-9) and x.max() > 50:
        x = np.log1p(x)
    spread = float(x.std())
    return np.asarray((x - x.mean()) / (spread if spread > 0 else 1.0), dtype=np.float64)


def encode(table: LabelledTable) -> Encoded:
    n = table.rows
    classes, y = np.unique(label_values(table.columns[table.label]), return_inverse=True)
    names: list[str] = []
    model_cols: list[NDArray[np.float64]] = []
    categorical: list[bool] = []
    dist_cols: list[NDArray[np.float64]] = []
    owner: list[int] = []
    skipped: dict[str, str] = {}
    categories: dict[int, NDArray[Any]] = {}
    for name in table.feature_names:
        col = table.columns[name]
        if is_numeric(col):
            x = _numeric_view(col)
            if x.size and x.min() == x.max():
                skipped[name] = "constant"
                continue
            names.append(name)
            model_cols.append(np.where(np.isfinite(col.astype(float)), col.astype(float), np.nan))
            categorical.append(False)
            dist_cols.append(scaled(x))
            owner.append(len(names) - 1)
            continue
        values, codes, counts = np.unique(col.astype(str), return_inverse=True, return_counts=True)
        if len(values) <= 1:
            skipped[name] = "constant"
            continue
        if len(values) > FREE_TEXT_SHARE * n:
            skipped[name] = "free text (mostly unique values)"
            continue
        names.append(name)
        index = len(names) - 1
        if len(values) <= MAX_CATEGORIES:
            model_cols.append(codes.astype(float))
            categorical.append(True)
            categories[index] = values
        else:  # too wide for native categories: how common the value is still carries signal
            model_cols.append((counts / n)[codes])
            categorical.append(False)
        top = np.argsort(-counts)[:20]
        for code in top:
            dist_cols.append((codes == code).astype(float) / np.sqrt(2.0))
            owner.append(index)
    if not names:
        raise ValueError("no usable feature columns")
    return Encoded(
        names=names, model=np.stack(model_cols, axis=1), categorical=np.array(categorical),
        distance=np.stack(dist_cols, axis=1), distance_owner=np.array(owner, dtype=np.int64),
        y=y.astype(np.int64), classes=classes, skipped=skipped, categories=categories,
    )

"""What natural traffic looks like: the feature geometry every extraction detector measures in.

Distances only mean something once features share a scale. Raw fraud features do not: an amount in euros
spans five orders of magnitude while a flag is 0 or 1, so a single €10,000 payment would dominate every
nearest-neighbour distance. Each numeric feature is therefore centred on the median and divided by a robust
scale (IQR / 1.349, falling back to MAD, then to the standard deviation, then to 1 for constant features),
and then compressed with ``asinh``: linear within a couple of scale units of the median, logarithmic beyond.
Heavy tails (amounts, distances) stop dominating, yet a value far outside natural traffic still lands far
away. Categorical features (merchant codes) have no order, so they are compared by equality and a mismatch
costs ``categorical_weight`` squared units.

When built from a sample of natural queries, the reference also keeps what the out-of-distribution signal
(:mod:`~clearsight.guard.extraction.ood`) compares with: the sample itself in detector space, the values
each categorical feature takes, which features are always whole, and the squared distance that only
``1 - ood_quantile`` of sample rows exceed to their nearest other row (a leave-one-out estimate, so the cut
is calibrated on the same geometry, not guessed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from clearsight.guard.extraction._types import FloatArray, IntArray

MIN_REFERENCE_ROWS = 50
_TINY = 1e-12


def robust_scale(column: FloatArray) -> float:
    """A spread estimate a few extreme values cannot inflate, never zero."""
    q75, q25 = np.quantile(column, [0.75, 0.25])
    for candidate in (
        (q75 - q25) / 1.349,
        1.4826 * float(np.median(np.abs(column - np.median(column)))),
        float(np.std(column)),
    ):
        if candidate > _TINY:
            return float(candidate)
    return 1.0


@dataclass(frozen=True, eq=False)
class Reference:
    """Scaling of every feature plus, when a sample was given, the natural-data envelope."""

    n_features: int
    numeric: tuple[int, ...]
    categorical: tuple[int, ...]
    center: FloatArray
    scale: FloatArray
    categorical_weight: float
    points: FloatArray  # the reference sample, transformed; shape (0, d) when built without a sample
    categories: tuple[frozenset[float], ...]  # per categorical feature, the values seen in the sample
    whole: tuple[int, ...]  # numeric features that are always whole numbers in the sample
    ood_cut: float  # squared distance to the nearest reference row beyond which a query is odd
    _num: IntArray = field(init=False, repr=False)
    _cat: IntArray = field(init=False, repr=False)
    _whole: IntArray = field(init=False, repr=False)
    _norms: FloatArray = field(init=False, repr=False)  # squared norms of the sample's numeric part

    def __post_init__(self) -> None:
        object.__setattr__(self, "_num", np.asarray(self.numeric, dtype=np.intp))
        object.__setattr__(self, "_cat", np.asarray(self.categorical, dtype=np.intp))
        object.__setattr__(self, "_whole", np.asarray(self.whole, dtype=np.intp))
        numeric = self.points[:, : len(self.numeric)]
        object.__setattr__(self, "_norms", np.einsum("ij,ij->i", numeric, numeric))

    @classmethod
    def build(
        cls,
        n_features: int,
        sample: FloatArray | None,
        *,
        categorical: Sequence[int] = (),
        scale: Sequence[float] | None = None,
        center: Sequence[float] | None = None,
        categorical_weight: float = 1.0,
        ood_quantile: float = 0.995,
    ) -> Reference:
        """Learn what is not given from ``sample``; without a sample, ``scale`` and ``center`` are required."""
        cat = tuple(sorted(set(categorical)))
        if any(not 0 <= i < n_features for i in cat):
            raise ValueError(f"categorical feature indices must lie in [0, {n_features})")
        numeric = tuple(i for i in range(n_features) if i not in cat)
        if sample is None:
            if scale is None or center is None:
                raise ValueError("without a reference sample, both scale and center must be given")
            rows = np.empty((0, n_features))
        else:
            rows = np.asarray(sample, dtype=np.float64)
            if rows.ndim != 2 or rows.shape[1] != n_features:
                raise ValueError(f"reference sample must have shape (rows, {n_features}), got {rows.shape}")
            if rows.shape[0] < MIN_REFERENCE_ROWS:
                raise ValueError(f"reference sample needs at least {MIN_REFERENCE_ROWS} rows, got {rows.shape[0]}")
            if not np.isfinite(rows).all():
                raise ValueError("reference sample holds NaN or infinite values")
        centre = _given_or(center, lambda: np.median(rows, axis=0), n_features, "center", positive=False)
        spread = _given_or(
            scale, lambda: np.array([robust_scale(rows[:, j]) for j in range(n_features)]), n_features, "scale"
        )
        reference = cls(
            n_features=n_features,
            numeric=numeric,
            categorical=cat,
            center=centre,
            scale=spread,
            categorical_weight=float(categorical_weight),
            points=np.empty((0, n_features)),
            categories=tuple(frozenset(np.unique(rows[:, j]).tolist()) for j in cat),
            whole=tuple(j for j in numeric if rows.shape[0] and bool(np.all(rows[:, j] == np.round(rows[:, j])))),
            ood_cut=float("inf"),
        )
        if rows.shape[0] == 0:
            return reference
        points = reference.transform_rows(rows)
        nearest = reference.nearest_other(points)
        object.__setattr__(reference, "points", points)
        object.__setattr__(reference, "_norms", np.einsum("ij,ij->i", points[:, : len(numeric)],
                                                          points[:, : len(numeric)]))
        object.__setattr__(reference, "ood_cut", float(np.quantile(nearest, ood_quantile)))
        return reference

    @property
    def has_sample(self) -> bool:
        return bool(self.points.shape[0] > 0)

    @property
    def whole_index(self) -> IntArray:
        return self._whole

    def transform(self, x: FloatArray) -> FloatArray:
        """One query in detector space: compressed robust z-scores, then the raw categorical codes."""
        row: FloatArray = self.transform_rows(x.reshape(1, -1))[0]
        return row

    def transform_rows(self, rows: FloatArray) -> FloatArray:
        out = np.empty((rows.shape[0], self.n_features))
        k = self._num.size
        out[:, :k] = np.arcsinh((rows[:, self._num] - self.center[self._num]) / self.scale[self._num])
        out[:, k:] = rows[:, self._cat]
        return out

    def sq_distances(self, points: FloatArray, t: FloatArray) -> FloatArray:
        """Squared distance from ``t`` to each row of ``points`` (both already transformed)."""
        k = self._num.size
        diff = points - t
        sq: FloatArray = np.einsum("ij,ij->i", diff[:, :k], diff[:, :k])
        for j in range(k, self.n_features):
            sq += self.categorical_weight**2 * (diff[:, j] != 0.0)
        return sq

    def nearest_sample_sq(self, t: FloatArray) -> float:
        """Squared distance from ``t`` to the nearest sample row; the sample's norms are cached (2x faster)."""
        k = self._num.size
        sq = self._norms - 2.0 * (self.points[:, :k] @ t[:k]) + float(t[:k] @ t[:k])
        for j in range(k, self.n_features):
            sq += self.categorical_weight**2 * (self.points[:, j] != t[j])
        return max(float(sq.min()), 0.0)

    def nearest_other(self, points: FloatArray, block: int = 256) -> FloatArray:
        """Squared distance from each row to its nearest *other* row (leave-one-out), in blocks."""
        k = self._num.size
        num = points[:, :k]
        norms = np.einsum("ij,ij->i", num, num)
        nearest = np.empty(points.shape[0])
        for start in range(0, points.shape[0], block):
            stop = min(start + block, points.shape[0])
            sq = norms[start:stop, None] + norms[None, :] - 2.0 * num[start:stop] @ num.T
            for j in range(k, self.n_features):
                sq += self.categorical_weight**2 * (points[start:stop, j, None] != points[None, :, j])
            sq[np.arange(stop - start), np.arange(start, stop)] = np.inf
            nearest[start:stop] = np.maximum(sq.min(axis=1), 0.0)
        return nearest


def _given_or(
    given: Sequence[float] | None,
    learn: Callable[[], object],
    n_features: int,
    name: str,
    *,
    positive: bool = True,
) -> FloatArray:
    if given is None:
        learned: FloatArray = np.asarray(learn(), dtype=np.float64)
        return learned
    values = np.asarray(tuple(given), dtype=np.float64)
    if values.shape != (n_features,):
        raise ValueError(f"{name} has {values.size} values for {n_features} features")
    if not np.isfinite(values).all() or (positive and (values <= 0).any()):
        raise ValueError(f"{name} values must be finite{' and positive' if positive else ''}")
    return values

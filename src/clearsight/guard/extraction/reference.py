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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from clearsight.guard.extraction._types import FloatArray, IntArray

try:  # what np.einsum calls when it does not optimise: the same kernel, without the wrapper's microsecond
    from numpy._core.multiarray import (  # type: ignore[attr-defined,import-not-found,unused-ignore]
        c_einsum as _einsum,
    )
except ImportError:  # pragma: no cover - NumPy 1.x keeps it elsewhere; the public function is the same
    _einsum = np.einsum

MIN_REFERENCE_ROWS = 50
_TINY = 1e-12
_UNIT_ROUNDOFF = 2.0**-53
_SUBNORMAL_FLOOR = 1e-300
_PENALTY_CACHE_FLOATS = 1 << 20  # 8 MB of cached categorical penalty vectors per reference, at most


def screen_unit(terms: int) -> float:
    """How far two ways of rounding one squared distance can lie apart, per unit of ``scale``, in float64.

    ``terms`` counts the products and penalties summed; ``scale`` bounds (|a| + |b|)² plus the categorical
    penalties. A sum of squared differences (in any order, with or without fused multiply-add) stays within
    ``(terms + 3) u scale`` of the exact value, u = 2^-53; norms minus twice a dot product within
    ``(2 terms + 3) u scale``, since each squared norm brings its own rounding. Two results therefore differ
    by at most ``(3 terms + 6) u scale``, and a screen that must not lose the best of many rows needs twice
    that; ``8 (terms + 4) u`` covers both with room. The margin costs nothing: it only decides how often the
    exact arithmetic reruns, and at about 1e-14 relative it almost never catches a second row.
    """
    return 8.0 * (terms + 4) * _UNIT_ROUNDOFF


def screen_bound(terms: int, scale: float) -> float:
    """``screen_unit(terms) * scale``, plus a floor for results that underflowed to subnormal numbers."""
    return screen_unit(terms) * scale + _SUBNORMAL_FLOOR


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
    # Per-query fast path (see transform_into and exceeds_ood_cut); derived from the fields above.
    _center_num: FloatArray = field(init=False, repr=False)
    _scale_num: FloatArray = field(init=False, repr=False)
    _scan: FloatArray = field(init=False, repr=False)  # (1 + k, rows): minus the norms, then the numeric columns
    _radius: float = field(init=False, repr=False)  # largest norm of a sample row's numeric part
    _penalties: tuple[dict[float, FloatArray], ...] = field(init=False, repr=False)  # per categorical feature
    _checks: tuple[tuple[int, frozenset[float]], ...] = field(init=False, repr=False)  # (feature, codes seen)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_num", np.asarray(self.numeric, dtype=np.intp))
        object.__setattr__(self, "_cat", np.asarray(self.categorical, dtype=np.intp))
        object.__setattr__(self, "_whole", np.asarray(self.whole, dtype=np.intp))
        object.__setattr__(self, "_center_num", np.ascontiguousarray(self.center[self._num]))
        object.__setattr__(self, "_scale_num", np.ascontiguousarray(self.scale[self._num]))
        object.__setattr__(self, "_checks", tuple(zip(self.categorical, self.categories, strict=True)))
        self._derive_scan()

    def _derive_scan(self) -> None:
        """Cache what the per-query scans need; rerun whenever ``points`` changes (``build`` sets it last)."""
        k = len(self.numeric)
        numeric = self.points[:, :k]
        norms = np.einsum("ij,ij->i", numeric, numeric)
        object.__setattr__(self, "_norms", norms)
        # (-|p|², p) per sample row p, feature-major: times (1, 2 t) it gives |t|² minus the squared distance.
        object.__setattr__(self, "_scan", np.ascontiguousarray(np.vstack([-norms[None, :], numeric.T])))
        object.__setattr__(self, "_radius", float(np.sqrt(norms.max())) if norms.size else 0.0)
        object.__setattr__(self, "_penalties", tuple({} for _ in self.categorical))

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
        reference._derive_scan()
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

    # ------------------------------------------------------------------ per-query fast path
    # ExtractionMonitor.observe runs on every request. At d = 10 the work per query is tiny and NumPy's
    # per-call overhead (about a microsecond per ufunc, more for fancy indexing and einsum) dominates, so the
    # methods below do the same arithmetic as transform / nearest_sample_sq with as few NumPy calls as possible,
    # into preallocated buffers. Where a faster formula rounds differently, it only screens: a rigorous error
    # bound (screen_bound) tells whether its answer is certain, and the original arithmetic decides when not.

    def workspace(self) -> Workspace:
        """Buffers for one query at a time; the caller keeps one per reference and serialises its use."""
        return Workspace(self.n_features, len(self.numeric))

    def transform_into(self, x: FloatArray, values: list[float], work: Workspace) -> None:
        """``transform(x)`` into ``work`` (``values`` is ``x.tolist()``), plus the numeric part's squared norm.

        Element for element the same operations as ``transform_rows``, each on a contiguous array of the same
        length, so the result is bitwise identical (``arcsinh`` included, whichever SIMD loop NumPy picks).
        """
        scratch = work.scratch
        if self.categorical:
            np.subtract(x[self._num], self._center_num, out=scratch)
            work.codes = [values[j] for j in self.categorical]
        else:
            np.subtract(x, self._center_num, out=scratch)
        np.divide(scratch, self._scale_num, out=scratch)
        numeric = work.numeric
        np.arcsinh(scratch, out=numeric)
        np.multiply(numeric, 2.0, out=work.doubled)
        work.norm_sq = float(numeric @ numeric)

    def exceeds_ood_cut(self, work: Workspace) -> bool:
        """``nearest_sample_sq(work.t()) > ood_cut``, for a query whose categorical codes the sample holds.

        One BLAS call with the sample laid out feature-major (``_scan``), times ``(1, 2 t)``, gives |t|² minus
        every squared distance, a cached vector per categorical code subtracts the mismatch penalties, and only
        the best row gets the query's own norm. That rounds differently from ``nearest_sample_sq``; both stay within
        ``screen_bound`` of the exact value, so the answer is certain unless the nearest distance lies that
        close to the cut, and then ``nearest_sample_sq`` itself decides.
        """
        work.query[1] = 1.0
        closeness = work.sample_query @ self._scan
        for i, code in enumerate(work.codes):
            closeness -= self._penalty(i, code)
        nearest = work.norm_sq - float(closeness[closeness.argmax()])
        reach = self._radius + math.sqrt(work.norm_sq)
        bound = screen_bound(self.n_features + 1, reach * reach + len(work.codes) * self.categorical_weight**2)
        if nearest - bound > self.ood_cut:
            return True
        if nearest + bound <= self.ood_cut:
            return False
        return self.nearest_sample_sq(work.t()) > self.ood_cut

    def _penalty(self, i: int, code: float) -> FloatArray:
        """What categorical feature ``i`` adds to each sample row's distance for ``code``: 0 or weight²."""
        cache = self._penalties[i]
        cached = cache.get(code)
        if cached is not None:
            return cached
        column = self.points[:, len(self.numeric) + i]
        penalty: FloatArray = self.categorical_weight**2 * (column != code)
        # Codes the sample holds are few (unknown ones make a query odd before this scan), but a categorical
        # feature with thousands of values would make the cache as large as thousands of samples: cap it.
        if sum(map(len, self._penalties)) * column.size < _PENALTY_CACHE_FLOATS:
            cache[code] = penalty
        return penalty

    @property
    def code_checks(self) -> tuple[tuple[int, frozenset[float]], ...]:
        """(categorical feature, the codes the sample holds for it), for the out-of-distribution test."""
        return self._checks

    def sq_distance_to(self, numeric: FloatArray, codes: Sequence[float], work: Workspace) -> float:
        """``sq_distances(row[None, :], work.t())[0]``, bitwise, for the row with parts ``numeric`` and ``codes``.

        The same einsum kernel over the same contiguous run of ``k`` differences (einsum sums each output
        element on its own, so one row in a 1-D call gives what that row gives in a batch; a test checks this
        bit for bit), and each categorical mismatch adds weight² as the batch version adds ``weight² * True``.
        """
        diff = numeric - work.numeric
        sq = float(_einsum("i,i", diff, diff))
        if codes:
            weight_sq = self.categorical_weight**2
            for code, value in zip(codes, work.codes, strict=True):
                if code - value != 0.0:
                    sq += weight_sq
        return sq

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


class Workspace:
    """Preallocated buffers for the query being observed: one per monitor and reference, used under its lock.

    ``query`` is laid out for the scans' BLAS calls: two weights, then twice the transformed numeric features
    (doubling is exact), so that neither scan copies or scales anything per query. The PRADA scan reads all of
    it (the two weights select the query's class), the reference scan reads it from the second weight on
    (which it sets to 1).
    """

    __slots__ = ("_flags", "codes", "doubled", "norm_sq", "numeric", "query", "sample_query", "scratch")

    def __init__(self, n_features: int, n_numeric: int) -> None:
        self.numeric: FloatArray = np.zeros(n_numeric)  # the transformed numeric features
        self.codes: list[float] = [0.0] * (n_features - n_numeric)  # the raw categorical codes
        self.query: FloatArray = np.zeros(2 + n_numeric)
        self.doubled: FloatArray = self.query[2:]  # 2 * numeric
        self.sample_query: FloatArray = self.query[1:]  # what the reference scan multiplies by: (1, 2 t)
        self.scratch: FloatArray = np.zeros(n_numeric)
        self.norm_sq = 0.0  # squared norm of ``numeric``
        self._flags: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)

    def flags_for(self, size: int) -> npt.NDArray[np.bool_]:
        """``size`` booleans of scratch, shared by every client's scan (one buffer per monitor, not per client)."""
        if self._flags.size < size:
            self._flags = np.zeros(max(size, 2 * self._flags.size), dtype=np.bool_)
        return self._flags[:size]

    def load(self, t: FloatArray) -> Workspace:
        """Hold an already transformed query ``t`` (numeric features first, then codes)."""
        k = self.numeric.size
        self.numeric[:] = t[:k]
        np.multiply(self.numeric, 2.0, out=self.doubled)
        self.codes = t[k:].tolist()
        self.norm_sq = float(self.numeric @ self.numeric)
        return self

    def t(self) -> FloatArray:
        """The transformed query in ``Reference.transform``'s layout."""
        return np.concatenate([self.numeric, self.codes])


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

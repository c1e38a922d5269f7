"""PRADA (Juuti et al., EuroS&P 2019): extraction queries are spaced unlike natural ones.

Natural queries are independent draws from the data distribution, so the distance from each new query to
the nearest earlier one behaves like a smooth, roughly bell-shaped quantity. Synthetic extraction queries
are not independent: Jacobian augmentation adds small steps to earlier queries, boundary search halves the
gap between two points again and again, so many distances are tiny while others are large. The
Shapiro-Wilk statistic W of the distance set measures how normal it looks; W below ``threshold`` fires.

As in the authors' reference implementation, per client and per *predicted class*:

* a query of class c is compared with the client's *growing set* for class c, and its minimum distance is
  recorded whatever happens next;
* the query joins the growing set only if that distance exceeds the class's threshold, max(previous,
  mean - std of the growing set's distances), so near-duplicates do not crowd the set;
* every ``every`` queries the recorded distances (all classes pooled, values beyond 3 standard deviations
  dropped) go through Shapiro-Wilk.

Bounded where the paper is not: the growing set is a ring buffer of at most ``window`` vectors (all classes
together, the oldest overwritten first) and only the last ``max_distances`` distances are kept. Without a
model output every query is of one class. The ring buffer starts small and doubles, so clients that send
little cost little.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from clearsight.guard.extraction._types import FloatArray
from clearsight.guard.extraction.normality import shapiro_w, spread
from clearsight.guard.extraction.reference import Reference, Workspace, screen_unit

Metric = Callable[[FloatArray, FloatArray], FloatArray]
_INITIAL_CAPACITY = 64
# Stands for "another class" in the screened scan: finite, so that the zero weight a query gives other classes'
# rows leaves 0 (0 * inf would be NaN), and far beyond any squared distance between asinh-compressed features.
_FAR = 1e300


class _Welford:
    """Running mean and standard deviation of a growing set's distances."""

    __slots__ = ("m2", "mean", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else 0.0


class PradaDetector:
    """One client's PRADA state."""

    __slots__ = (
        "_dist_next",
        "_distances",
        "_every",
        "_labels",
        "_metric",
        "_n_distances",
        "_next",
        "_screened",
        "_size",
        "_spread",
        "_thresholds",
        "_vectors",
        "_window",
        "w",
    )

    def __init__(self, n_columns: int, metric: Metric, *, window: int, max_distances: int, every: int) -> None:
        self._metric = metric
        self._window = window
        capacity = min(window, _INITIAL_CAPACITY)
        self._vectors = np.empty((capacity, n_columns))
        self._labels = np.empty(capacity, dtype=np.int8)
        self._size = 0
        self._next = 0
        self._screened: _ScreenedSet | None = None
        self._distances = np.empty(max_distances)
        self._n_distances = 0
        self._dist_next = 0
        self._every = every
        self._thresholds: dict[int, float] = {}
        self._spread: dict[int, _Welford] = {}
        self.w: float | None = None  # the last Shapiro-Wilk statistic, None until there were enough distances

    @classmethod
    def for_reference(cls, reference: Reference, *, window: int, max_distances: int, every: int) -> PradaDetector:
        """A detector measuring with ``reference.sq_distances``, as the monitor does, only faster.

        Same distances, decisions and W as ``PradaDetector(n, reference.sq_distances, ...)``; the growing set
        is kept as :class:`_ScreenedSet` keeps it, which finds the nearest vector with one BLAS call instead
        of a difference, an einsum and a mask over every stored vector. Classes are 0 and 1 (the monitor's
        negative and positive answers).
        """
        detector = cls(reference.n_features, reference.sq_distances, window=window, max_distances=max_distances,
                       every=every)
        detector._vectors = np.empty((0, reference.n_features))  # unused: the screened set holds the vectors
        detector._labels = np.empty(0, dtype=np.int8)
        detector._screened = _ScreenedSet(reference, window)
        return detector

    @property
    def stored(self) -> int:
        """Vectors held in the growing set (never more than ``window``)."""
        return self._size if self._screened is None else self._screened.size

    @property
    def capacity(self) -> int:
        """Vectors the growing set has room for now: it doubles up to ``window`` as the client sends more."""
        return self._vectors.shape[0] if self._screened is None else self._screened.capacity

    @property
    def distances(self) -> int:
        return self._n_distances

    def observe(self, t: FloatArray, label: int, min_distances: int) -> None:
        """Record one transformed query of predicted class ``label``."""
        screened = self._screened
        if screened is not None:
            self.observe_query(screened.load(t), label, min_distances)
        elif self._admit(self._nearest_sq(t, label), label, min_distances):
            self._store(t, label)

    def observe_query(self, work: Workspace, label: int, min_distances: int) -> None:
        """``observe`` for a detector made by ``for_reference``, given the query as ``transform_into`` left it."""
        screened = self._screened
        if screened is None:
            raise TypeError("observe_query needs a detector made by PradaDetector.for_reference")
        if self._admit(screened.nearest_sq(work, label), label, min_distances):
            screened.store(work, label)

    def _admit(self, sq: float | None, label: int, min_distances: int) -> bool:
        """Record the query's nearest distance (``sq`` squared; None: first of its class); True if it joins."""
        if sq is None:  # the first of its class (again, once the ring buffer dropped its class's vectors)
            self._thresholds[label] = 0.0
            self._spread[label] = _Welford()
            self._spread[label].add(0.0)
            return True
        nearest = math.sqrt(max(sq, 0.0))
        self._distances[self._dist_next] = nearest
        self._dist_next = (self._dist_next + 1) % self._distances.size
        self._n_distances += 1
        joins = nearest > self._thresholds[label]
        if joins:
            spread = self._spread[label]
            spread.add(nearest)
            self._thresholds[label] = max(self._thresholds[label], spread.mean - spread.std)
        if self._n_distances >= min_distances and self._n_distances % self._every == 0:
            self.w = self._shapiro()
        return joins

    def _nearest_sq(self, t: FloatArray, label: int) -> float | None:
        """Squared distance to the nearest stored vector of class ``label``; None when there is none."""
        same = self._labels[: self._size] == label
        if not same.any():
            return None
        sq = self._metric(self._vectors[: self._size], t)  # all rows, then mask: cheaper than copying a class
        sq[~same] = np.inf
        return float(sq.min())

    def _store(self, t: FloatArray, label: int) -> None:
        capacity = self._vectors.shape[0]
        if self._size == capacity and capacity < self._window:
            grown = min(self._window, capacity * 2)
            self._vectors = np.resize(self._vectors, (grown, self._vectors.shape[1]))
            self._labels = np.resize(self._labels, grown)
            self._next = self._size
        self._vectors[self._next] = t
        self._labels[self._next] = label
        self._size = min(self._size + 1, self._vectors.shape[0])
        self._next = (self._next + 1) % self._vectors.shape[0]

    def _shapiro(self) -> float:
        values = self._distances[: min(self._n_distances, self._distances.size)]
        std, centered = spread(values)  # values.std(), values - values.mean()
        if std > 0:
            values = values[np.abs(centered) < 3 * std]
        if values.size < 3:
            return 1.0
        ordered = np.sort(values)
        if float(ordered[-1] - ordered[0]) <= 1e-12:  # np.ptp(values): the same two values subtracted
            return 1.0  # no spread left to judge: identical distances say nothing about normality
        return shapiro_w(values, ordered)


class _ScreenedSet:
    """PRADA's growing set for :meth:`Reference.sq_distances`, laid out so one BLAS call scans it.

    ``_matrix`` holds one column per stored vector v: in row 0 ``-|v|²`` if v is of class 0, else ``-_FAR``;
    row 1 the same for class 1; then v's numeric part. Times the workspace's query ``(c == 0, c == 1, 2 t)``
    it gives ``|t|²`` minus the squared distance for the vectors of the query's class ``c`` and about
    ``-_FAR`` for the others, which therefore never come first.
    Categorical codes sit in ``_codes``; each mismatch takes ``weight²`` off.

    That scan rounds differently from the metric (norms and dot products, not squared differences), and PRADA
    compares the distances it records with thresholds, so the scan only picks candidates: every vector within
    ``screen_bound`` of the best, nearly always one. The metric's own arithmetic
    (:meth:`Reference.sq_distance_to`) then gives their distances, so the minimum is what the full metric scan
    gives, bit for bit. The ring buffer is the generic one's: the oldest vector of either class goes first.
    """

    __slots__ = (
        "_categorical",
        "_code_views",
        "_codes",
        "_labels",
        "_matrix",
        "_own",
        "_penalty_scale",
        "_radius",
        "_reference",
        "_rows",
        "_unit",
        "_view",
        "_weight_sq",
        "_window",
        "next",
        "size",
    )

    def __init__(self, reference: Reference, window: int) -> None:
        self._reference = reference
        self._window = window
        self._weight_sq = reference.categorical_weight**2
        self._categorical = categorical = len(reference.categorical)
        self._unit = screen_unit(2 + reference.n_features)  # rows of the scan plus codes
        self._penalty_scale = categorical * self._weight_sq
        capacity = min(window, _INITIAL_CAPACITY)
        self._matrix: FloatArray = np.zeros((2 + len(reference.numeric), capacity))
        self._codes: FloatArray = np.zeros((categorical, capacity))
        self._labels = bytearray(capacity)  # the class (0 or 1) of the vector in each column
        self._rows = [0, 0]  # vectors held per class
        self._radius = 0.0  # at least the largest norm among the stored vectors
        self._own: Workspace | None = None  # for observe(t) calls that bring no workspace
        self.size = 0
        self.next = 0
        self._refresh_views()

    @property
    def capacity(self) -> int:
        return int(self._matrix.shape[1])

    def load(self, t: FloatArray) -> Workspace:
        if self._own is None:
            self._own = self._reference.workspace()
        return self._own.load(t)

    def nearest_sq(self, work: Workspace, label: int) -> float | None:
        """Exactly ``min`` of ``sq_distances`` over the stored vectors of class ``label``; None if there are none."""
        if label != 0 and label != 1:
            raise ValueError(f"PRADA classes are 0 and 1, got {label!r}")
        if not self._rows[label]:
            return None
        query = work.query
        query[0] = 1.0 - label
        query[1] = label
        closeness: FloatArray = query @ self._view
        if self._categorical:
            mismatch = work.flags_for(self.size)  # True where a stored code differs from the query's
            for codes, code in zip(self._code_views, work.codes, strict=True):
                np.not_equal(codes, code, out=mismatch)
                if self._weight_sq == 1.0:
                    np.subtract(closeness, mismatch, out=closeness)  # the default weight: one cast, no mask
                else:
                    np.subtract(closeness, self._weight_sq, out=closeness, where=mismatch)
        best = int(closeness.argmax())
        top = float(closeness[best])
        reach = self._radius + math.sqrt(work.norm_sq)
        margin = self._unit * (reach * reach + self._penalty_scale) + 1e-300  # screen_bound, inlined
        if self.size > 1:
            closeness[best] = -np.inf
            if float(closeness[closeness.argmax()]) >= top - margin:  # a near-tie: every vector that close
                closeness[best] = top
                return min(self._exact(i, work) for i in np.flatnonzero(closeness >= top - margin).tolist())
        return self._exact(best, work)

    def _exact(self, slot: int, work: Workspace) -> float:
        """The metric's squared distance from the query to the vector in ``slot``."""
        codes = self._codes[:, slot].tolist() if self._categorical else ()
        return self._reference.sq_distance_to(self._matrix[2:, slot], codes, work)

    def store(self, work: Workspace, label: int) -> None:
        """Add the query the way the generic ring buffer does: grow by doubling, then overwrite the oldest."""
        capacity = self._matrix.shape[1]
        size = self.size
        if size == capacity and capacity < self._window:
            self._grow(min(self._window, capacity * 2))
            self.next = size
            capacity = self._matrix.shape[1]
        slot = self.next
        labels = self._labels
        if size == capacity:  # full: the vector in this slot leaves the set
            self._rows[labels[slot]] -= 1
        matrix = self._matrix
        matrix[0, slot] = -_FAR if label else -work.norm_sq
        matrix[1, slot] = -work.norm_sq if label else -_FAR
        matrix[2:, slot] = work.numeric
        if self._categorical:
            self._codes[:, slot] = work.codes
        labels[slot] = label
        self._rows[label] += 1
        norm = math.sqrt(work.norm_sq)
        if norm > self._radius:
            self._radius = norm
        if size < capacity:
            self.size = size + 1
            self._refresh_views()
        self.next = (slot + 1) % capacity

    def _grow(self, capacity: int) -> None:
        size = self.size
        matrix = np.zeros((len(self._matrix), capacity))
        matrix[:, :size] = self._matrix[:, :size]
        codes = np.zeros((len(self._codes), capacity))
        codes[:, :size] = self._codes[:, :size]
        self._matrix, self._codes = matrix, codes
        self._labels.extend(bytes(capacity - len(self._labels)))
        self._refresh_views()

    def _refresh_views(self) -> None:
        """The first ``size`` columns, cut once per change of size rather than once per query."""
        size = self.size
        self._view = self._matrix[:, :size]
        self._code_views = [row[:size] for row in self._codes]

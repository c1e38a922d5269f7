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
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats  # type: ignore[import-untyped,import-not-found,unused-ignore]

from clearsight.guard.extraction._types import FloatArray

Metric = Callable[[FloatArray, FloatArray], FloatArray]
_INITIAL_CAPACITY = 64


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
        self._distances = np.empty(max_distances)
        self._n_distances = 0
        self._dist_next = 0
        self._every = every
        self._thresholds: dict[int, float] = {}
        self._spread: dict[int, _Welford] = {}
        self.w: float | None = None  # the last Shapiro-Wilk statistic, None until there were enough distances

    @property
    def stored(self) -> int:
        """Vectors held in the growing set (never more than ``window``)."""
        return self._size

    @property
    def distances(self) -> int:
        return self._n_distances

    def observe(self, t: FloatArray, label: int, min_distances: int) -> None:
        """Record one transformed query of predicted class ``label``."""
        same = self._labels[: self._size] == label
        if not same.any():
            self._thresholds[label] = 0.0
            self._spread[label] = _Welford()
            self._spread[label].add(0.0)
            self._store(t, label)
            return
        sq = self._metric(self._vectors[: self._size], t)  # all rows, then mask: cheaper than copying a class
        sq[~same] = np.inf
        nearest = math.sqrt(max(float(sq.min()), 0.0))
        self._record(nearest)
        if nearest > self._thresholds[label]:
            spread = self._spread[label]
            spread.add(nearest)
            self._thresholds[label] = max(self._thresholds[label], spread.mean - spread.std)
            self._store(t, label)
        if self._n_distances >= min_distances and self._n_distances % self._every == 0:
            self.w = self._shapiro()

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

    def _record(self, distance: float) -> None:
        self._distances[self._dist_next] = distance
        self._dist_next = (self._dist_next + 1) % self._distances.size
        self._n_distances += 1

    def _shapiro(self) -> float:
        values = self._distances[: min(self._n_distances, self._distances.size)]
        spread = float(values.std())
        if spread > 0:
            values = values[np.abs(values - values.mean()) < 3 * spread]
        if values.size < 3 or float(np.ptp(values)) <= 1e-12:
            return 1.0  # no spread left to judge: identical distances say nothing about normality
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "range zero" / "p-value may be inaccurate" concern p, not W
            return float(stats.shapiro(values).statistic)

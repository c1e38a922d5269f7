"""The small contract every poisoning signal implements; the registry in ``registry.py`` lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import TriggerPattern
from clearsight.data.poisoning.models import oos_probabilities
from clearsight.data.table import Encoded
from clearsight.executors import Executor

NEIGHBOURS = 150
T = TypeVar("T")


@dataclass
class Context:
    """What signals share, computed once: out-of-sample probabilities and each row's nearest neighbours."""

    enc: Encoded
    seed: int = 0
    executor: Executor | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A value several signals share (computed by the first that asks)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return cast(T, self._cache[key])

    @property
    def n(self) -> int:
        return len(self.enc.y)

    def label(self, code: int) -> Any:
        value = self.enc.classes[code]
        return value.item() if hasattr(value, "item") else value

    def proba(self) -> NDArray[np.float64]:
        return self.cached("proba", lambda: oos_probabilities(self.enc, seed=self.seed, executor=self.executor))

    def neighbours(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Distances and indices of up to NEIGHBOURS nearest other rows, nearest first."""
        return self.cached("neighbours", self._find_neighbours)

    def _find_neighbours(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        from sklearn.neighbors import NearestNeighbors

        k = min(NEIGHBOURS, self.n - 1)
        dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(self.enc.distance).kneighbors(self.enc.distance)
        # a row is not its own neighbour; with exact duplicates it need not come back first
        own = idx == np.arange(self.n)[:, None]
        own[~own.any(axis=1), -1] = True
        keep = ~own
        return dist[keep].reshape(self.n, k), idx[keep].reshape(self.n, k)


@dataclass
class SignalResult:
    scores: NDArray[np.float64]
    flagged: NDArray[np.bool_]
    suggested: NDArray[np.int64]  # label code the evidence points to, -1 when none
    describe: Callable[[int], str]
    note: str = ""
    triggers: list[TriggerPattern] = field(default_factory=list)
    stamps: list[dict[int, float]] = field(default_factory=list)  # per trigger: feature index -> model value


@dataclass(frozen=True)
class Signal:
    """``decisive`` signals flag rows on their own; the others only add context and score."""

    id: str
    title: str
    decisive: bool
    run: Callable[[Context], SignalResult | str]  # a string says why the signal does not apply


def empty(n: int) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64]]:
    return np.zeros(n), np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64)

"""Share-of-recent-queries signals with a false-alarm budget instead of a hand-picked cut.

Several detectors reduce to "this client shows an event (an answer near the decision threshold, a query
outside natural data) far more often than natural traffic does". A fixed share would fire on a client with
20 queries where three happen to be odd, and miss a client whose share is only moderately high over
thousands. So each detector states the highest share natural clients show (``rate``) and the monitor fires
only when the count over the client's last ``window`` events would have probability below
``alarm_probability`` under a binomial with that share. The critical count per window length is tabulated
once per monitor, so the per-query cost is a ring-buffer update and one comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats  # type: ignore[import-untyped,import-not-found,unused-ignore]

from clearsight.guard.extraction._types import IntArray


def critical_counts(window: int, rate: float, alarm_probability: float) -> IntArray:
    """``table[n]`` = the smallest count over ``n`` events whose upper tail is below ``alarm_probability``."""
    if window < 1:
        raise ValueError("window must be at least 1")
    if not 0.0 < rate < 1.0:
        raise ValueError("rate must lie strictly between 0 and 1")
    if not 0.0 < alarm_probability < 1.0:
        raise ValueError("alarm_probability must lie strictly between 0 and 1")
    n = np.arange(window + 1)
    # binom.isf gives the largest k with P(X > k) still above the level, so k + 1 is the first alarming count.
    table = np.asarray(stats.binom.isf(alarm_probability, n, rate), dtype=np.float64) + 1
    table[0] = 1
    return np.minimum(np.nan_to_num(table, nan=window + 1), window + 1).astype(np.intp)


class RateTracker:
    """The last ``window`` yes/no events of one client, with their running count."""

    __slots__ = ("_critical", "_events", "_next", "count", "n")

    def __init__(self, critical: IntArray | Sequence[int]) -> None:
        # A Python sequence (the monitor passes a list) makes ``alarming`` a plain index; a bytearray ring costs
        # a fraction of what a NumPy bool array's scalar reads and writes do, and holds the same 0/1 events.
        self._critical = critical
        self._events = bytearray(len(critical) - 1)
        self._next = 0
        self.count = 0
        self.n = 0

    def add(self, hit: bool) -> None:
        window = len(self._events)
        if self.n == window:
            self.count -= self._events[self._next]
        else:
            self.n += 1
        self._events[self._next] = 1 if hit else 0
        self.count += 1 if hit else 0
        self._next = (self._next + 1) % window

    @property
    def share(self) -> float:
        return self.count / self.n if self.n else 0.0

    @property
    def alarming(self) -> bool:
        return self.count >= int(self._critical[self.n])

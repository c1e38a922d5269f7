"""Volume: how many queries a client sent over the trailing period, against what natural clients send.

An attacker who queries with real-looking data in natural proportions is, query by query, a partner bank:
no content signal can tell them apart (docs/benchmarks.md). What it cannot hide is how much it needs. On
the fraud example a surrogate from natural payments needs 1,250-3,000 answers to agree with the model on
90 % of balanced cases, while the busiest partner sends about 330 on its busiest day. So the operator states
the most queries a natural client sends in a period (``volume_limit`` per ``volume_period`` seconds: the
busiest partner's busiest period with a margin) and the signal fires when a client goes beyond it. Unlike a
rate limit, which refuses the excess, this raises the route's extraction actions (an alert first of all)
and puts the count on record; the two work together (a quota stops the bulk, the signal says who tried).

An attacker who stays under the limit is not detected by this signal: the limit buys time (at 250 a day the
natural attacker above needs 5-12 days), not detection.

Counts are kept in ``BUCKETS`` slots per period, so a client costs about a kilobyte however much it sends.
The trailing window is the current slot and the ``BUCKETS - 1`` before it: between ``1 - 1/BUCKETS`` of a
period and a whole one, never more, so with a clock that does not run backwards rounding can delay an alarm
by at most one slot's worth of queries but never raise one a natural client did not earn. Slots are counted
from the tracker's first query, so the clock's origin (``time.monotonic()``, or an epoch) costs no precision.
"""

from __future__ import annotations

from array import array

BUCKETS = 96  # a quarter of an hour each for a one-day period
MIN_PERIOD = 60.0  # seconds: a shorter period is a burst, which the rate limiter judges


def slot_width(period: float) -> float:
    """The seconds of one slot of a ``period``, refusing a period the rate limiter should judge instead."""
    if not period >= MIN_PERIOD:
        raise ValueError(f"a volume period must be at least {MIN_PERIOD:g} s, got {period!r}")
    return period / BUCKETS


class VolumeTracker:
    """One client's queries over the trailing period, in ``BUCKETS`` slots."""

    __slots__ = ("_counts", "_origin", "_slot", "_width", "count")

    def __init__(self, period: float) -> None:
        self._width = slot_width(period)
        self._counts = array("q", bytes(8 * BUCKETS))
        self._origin: float | None = None  # the first query's time: slots count from here
        self._slot = 0  # the newest slot seen, counted from the origin
        self.count = 0  # queries in the trailing window

    def add(self, now: float) -> int:
        """Count one query at ``now`` (seconds from any fixed origin) and return the trailing window's count.

        ``now`` should come from a clock that does not run backwards (the guard uses ``time.monotonic()``). A
        time earlier than the newest slot seen counts in the newest slot: a query is never dropped, and the
        window never slides backwards (so after a stray time far ahead, the count runs high until the clock
        catches up)."""
        origin = self._origin
        if origin is None:
            self._origin = origin = now
        slot = int((now - origin) // self._width)
        last = self._slot
        counts = self._counts
        if slot >= last + BUCKETS:
            self._counts = counts = array("q", bytes(8 * BUCKETS))
            self.count = 0
        elif slot > last:
            for s in range(last + 1, slot + 1):
                i = s % BUCKETS
                self.count -= counts[i]
                counts[i] = 0
        else:
            slot = last
        self._slot = slot
        counts[slot % BUCKETS] += 1
        self.count += 1
        return self.count

"""Volume: how many queries a client sent over the trailing period, against what natural clients send.

An attacker who queries with real-looking data in natural proportions is, query by query, a partner bank:
no content signal can tell them apart (docs/benchmarks.md). What it cannot hide is how much it needs. On
the fraud example a surrogate from natural payments needs 2,000-3,000 answers to agree with the model on
90 % of balanced cases, while the busiest partner sends fewer than 300 a day. So the operator states the
most queries a natural client sends in a period (``volume_limit`` per ``volume_period`` seconds, e.g. the
largest partner's daily volume with a margin) and the signal fires when a client goes beyond it. Unlike a
rate limit, which refuses the excess, this raises the route's extraction actions (an alert first of all)
and puts the count on record; the two work together (a quota stops the bulk, the signal says who tried).

An attacker who stays under the limit is not detected by this signal: it buys time (at 300 a day the
natural attacker above needs 7-10 days), not invisibility.

Counts are kept in ``BUCKETS`` slots per period, so a client costs a fixed few hundred bytes however much it
sends. The trailing window is the current slot and the ``BUCKETS - 1`` before it: between
``1 - 1/BUCKETS`` of a period and a whole one, never more, so rounding can delay an alarm by at most one
slot's worth of queries but never raise one a natural client did not earn.
"""

from __future__ import annotations

BUCKETS = 96  # a quarter of an hour each for a one-day period


class VolumeTracker:
    """One client's queries over the trailing period, in ``BUCKETS`` slots."""

    __slots__ = ("_counts", "_slot", "_width", "count")

    def __init__(self, period: float) -> None:
        self._width = period / BUCKETS
        self._counts = [0] * BUCKETS
        self._slot: int | None = None  # absolute number of the newest slot seen
        self.count = 0  # queries in the trailing window

    def add(self, now: float) -> int:
        """Count one query at ``now`` (seconds, any fixed origin) and return the trailing window's count.

        A time earlier than the newest slot seen (a clock stepped back, out-of-order calls) counts in the
        newest slot: a query is never dropped, and the window never slides backwards."""
        slot = int(now // self._width)
        last = self._slot
        if last is None or slot >= last + BUCKETS:
            self._counts = [0] * BUCKETS
            self.count = 0
        elif slot > last:
            counts = self._counts
            for s in range(last + 1, slot + 1):
                i = s % BUCKETS
                self.count -= counts[i]
                counts[i] = 0
        else:
            slot = last
        self._slot = slot
        self._counts[slot % BUCKETS] += 1
        self.count += 1
        return self.count

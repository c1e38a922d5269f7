"""Clock: whether the hour of day a client's queries carry follows the clock they arrive by.

A partner that scores events as they happen (a bank scoring each payment at the till) sends an hour-of-day
feature that moves with the wall clock: the difference between the two is the same for all its queries (its
time zone), give or take the hour boundary a query crosses on its way. An attacker replaying data it holds
(a stolen or public set of real payments, the one kind of attacker the content signals cannot see) sends
whatever hours its rows carry, whenever it likes: the difference spreads over the day. So the signal keeps,
for each client's last ``window`` queries, the difference ``(feature hour - clock hour) mod 24`` and fires
when no two neighbouring hours (a time zone, and the hour after it for the boundary or a daylight-saving
change) hold the share ``share`` of them.

What it assumes, stated in the policy by naming the feature: the route's natural clients score events in
real time, each from one time zone. A partner that back-fills or re-scores old events, or sends events from
several time zones, spreads its differences too: lower ``clock_share`` for it, or leave the signal off. It
stops only attackers who do not know it: one who does can pick, at each moment, rows whose hour is the current
one, or overwrite the hour feature with the hour it sends in, or keep just over ``clock_share`` of its queries
in step; the signal then sees nothing, and only ``volume`` and the answer's hardening slow it down.
"""

from __future__ import annotations

from array import array

HOURS = 24


def hour_offset(feature_hour: float, clock_seconds: float) -> int:
    """``(feature hour - clock hour) mod 24``, or -1 for a feature value that is not an hour of day (0-24)."""
    if not 0.0 <= feature_hour < HOURS:
        return -1
    return (int(feature_hour) - int(clock_seconds // 3600.0)) % HOURS


class ClockTracker:
    """One client's last ``window`` hour offsets and how they spread."""

    __slots__ = ("_counts", "_next", "_ring", "n")

    def __init__(self, window: int) -> None:
        self._ring = array("b", bytes(window))
        self._counts = [0] * (HOURS + 1)  # the last one counts values that are no hour
        self._next = 0
        self.n = 0  # offsets held, up to ``window``

    def add(self, offset: int) -> None:
        """Hold one offset (-1: no hour), dropping the oldest once the window is full."""
        slot = HOURS if offset < 0 else offset
        ring = self._ring
        if self.n == len(ring):
            old = ring[self._next]
            self._counts[HOURS if old < 0 else old] -= 1
        else:
            self.n += 1
        ring[self._next] = offset
        self._next = (self._next + 1) % len(ring)
        self._counts[slot] += 1

    @property
    def share(self) -> float:
        """The largest share of the held offsets in two neighbouring hours (1.0 with nothing held)."""
        if not self.n:
            return 1.0
        counts = self._counts
        return max(counts[h] + counts[(h + 1) % HOURS] for h in range(HOURS)) / self.n

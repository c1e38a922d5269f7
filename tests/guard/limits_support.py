"""Replaying the same random hits through the guard's limiter and through ``limits`` itself, and keeping tests
that expect a refusal clear of a window's edge."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

from limits import RateLimitItem
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from clearsight.guard.ratelimit import RateLimiter


async def replay(ours: RateLimiter, reference: SlidingWindowCounterRateLimiter, items: Sequence[RateLimitItem],
                 rng: random.Random, hits: int, before_each: Callable[[], None] = lambda: None,
                 ) -> tuple[list[float | None], list[float | None]]:
    """Each hit: a random client and a random subset of ``items`` as the route's limits. Returns our answers and
    what ``limits`` answers with one call per limit (None, or the seconds until the refusing limit frees a slot)."""
    got: list[float | None] = []
    want: list[float | None] = []
    for _ in range(hits):
        before_each()
        client = rng.choice(("alice", "bob", "carol"))
        route_limits = rng.sample(list(items), rng.randint(1, len(items)))
        got.append(await ours.hit("/score", client, route_limits))
        answer: float | None = None
        for item in route_limits:
            if not await reference.hit(item, "/score", client):
                stats = await reference.get_window_stats(item, "/score", client)
                answer = max(1.0, math.ceil(stats.reset_time - time.time()))
                break
        want.append(answer)
    return got, want


def clear_of_window_edges(seconds: float, *windows: int) -> None:
    """Sleep, when needed, until at least ``seconds`` remain before the next edge of each fixed window (lengths
    in seconds; ``limits`` numbers windows from the epoch, so a day's edge is midnight UTC).

    The sliding-window counter weighs the previous window by the share of it still ahead and floors the sum, so
    the first hit after an edge gets through even when the previous window was full (``limits`` does the same).
    A test that expects a refusal fails when its hits straddle an edge: hour-long windows failed CI runs at
    00:59 and 02:00, and minute-long ones fail whenever a run crosses a full minute.
    """
    while True:
        now = time.time()
        short = [window - now % window for window in windows if window - now % window < seconds]
        if not short:
            return
        time.sleep(max(short) + 0.01)

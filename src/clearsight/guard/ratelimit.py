"""Per-client, per-route rate limits on the ``limits`` library: in memory, or in Redis shared by replicas.

The sliding-window counter keeps two counters per key and window, so a daily quota of millions costs the
same memory as one per second (a moving window would store one timestamp per request), while still
smoothing the double burst a fixed window allows at its edges. Keys carry only the route pattern and the
client's pseudonym, so Redis never sees an API key.

In memory, ``limits``' own storage starts a task after every hit that walks every counter to drop expired ones:
with 10,000 clients (40,000 counters for two limits) that walk cost the guard 40 % of its throughput.
:class:`SweptMemoryStorage` keeps ``limits``' counters and arithmetic and sweeps at most about 10,000 counters a
second instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from clearsight.core.errors import InputError


def parse_limits(texts: Sequence[str]) -> tuple[RateLimitItem, ...]:
    out = []
    for text in texts:
        try:
            out.append(parse(text))
        except ValueError as exc:
            raise InputError(f"cannot read rate limit {text!r} ({exc})") from exc
    return tuple(out)


SWEPT_PER_SECOND = 10_000


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-memory storage with expired counters swept on a budget instead of after every hit.

    The guard runs on one event loop and these methods never await inside an update, so counters need no
    per-key lock (``limits`` creates an ``asyncio.Lock`` per key). A counter past its expiry still reads as
    expired before the sweep removes it: ``get`` and ``incr`` check the expiry of the key they touch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.next_sweep = 0.0

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        self.sweep(now)
        self._drop_if_expired(key, now)
        count = self.storage[key] + amount
        self.storage[key] = count
        if count == amount:
            self.expirations[key] = now + expiry
        return count

    async def decr(self, key: str, amount: int = 1) -> int:
        self._drop_if_expired(key, time.time())
        count = max(self.storage[key] - amount, 0)
        self.storage[key] = count
        return count

    def sweep(self, now: float, at: float | None = None) -> int:
        """Drop counters expired at wall-clock ``now`` when the sweep is due; the period grows with the number
        of counters, so the work stays near ``SWEPT_PER_SECOND`` counters a second however many clients there
        are. Sweeps are scheduled on the monotonic clock (``at``), so a wall clock set back does not stop them.
        """
        at = time.monotonic() if at is None else at
        if at < self.next_sweep:
            return 0
        expired = [key for key, until in self.expirations.items() if until <= now]
        for key in expired:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
        self.next_sweep = at + max(1.0, len(self.expirations) / SWEPT_PER_SECOND)
        return len(expired)

    def _drop_if_expired(self, key: str, now: float) -> None:
        if self.expirations.get(key, now) <= now:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)


def open_storage(uri: str, key_prefix: str) -> Storage:
    if uri.startswith("memory://"):
        return SweptMemoryStorage()
    scheme_uri = uri if uri.startswith("async+") else "async+" + uri
    storage = storage_from_string(scheme_uri, implementation="redispy", key_prefix=key_prefix)
    if not isinstance(storage, Storage):  # an async+ scheme always yields the asyncio flavour
        raise InputError(f"storage {uri!r} has no asyncio implementation")
    return storage


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://", *, key_prefix: str = "clearsight-guard") -> None:
        self.storage = open_storage(storage_uri, key_prefix)
        self._strategy = SlidingWindowCounterRateLimiter(self.storage)

    async def hit(self, scope: str, client: str, limits: Sequence[RateLimitItem]) -> float | None:
        """Count one request; None when allowed, else the seconds until the tightest limit frees a slot."""
        for item in limits:
            if not await self._strategy.hit(item, scope, client):
                stats = await self._strategy.get_window_stats(item, scope, client)
                return max(1.0, math.ceil(stats.reset_time - time.time()))
        return None

"""Per-client, per-route rate limits on the ``limits`` library: in memory, or in Redis shared by replicas.

The sliding-window counter keeps two counters per key and window, so a daily quota of millions costs the
same memory as one per second (a moving window would store one timestamp per request), while still
smoothing the double burst a fixed window allows at its edges. Keys carry only the route pattern and the
client's pseudonym, so Redis never sees an API key.
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


def open_storage(uri: str, key_prefix: str) -> Storage:
    if uri.startswith("memory://"):
        return MemoryStorage()
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

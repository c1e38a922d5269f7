"""The ``volume`` signal's count kept in the limiter's Redis, so guard replicas judge one client's total.

Counted in each process, a client spread over N replicas (a load balancer without sticky routing) sends N
times the stated volume before any replica sees it pass: the one signal that catches a natural-data attacker
would fail exactly where the rate limits, already shared in Redis, do not. Here every replica adds each
answered query to one Redis hash per route and client, in the slots the in-process count uses
(:mod:`clearsight.guard.extraction.volume`: ``BUCKETS`` per period, the window being the current slot and the
ones before it), and reads back the window's total in the same script: one round trip per answered query.

Slots are numbered from the epoch on each replica's wall clock (replicas keep no common origin, and the
clock only places a query in a quarter-hour slot of a day, so seconds of skew do not matter). Slots older
than the window are deleted as the script passes over them, and the hash expires a period after its last
query, so a client costs at most ``BUCKETS`` small fields in Redis.

Used when the limits live in Redis (a policy's ``storage`` names one server; the script needs redis-py, as
:class:`~clearsight.guard.ratelimit.RedisLimits` does); with memory storage each process keeps its own count.
"""

from __future__ import annotations

import math
import time

from limits.aio.storage import RedisStorage, Storage

from clearsight.guard.extraction.volume import BUCKETS, slot_width
from clearsight.guard.ratelimit import RedisLimits

# KEYS[1]: one client's slots on one route (a hash: slot number -> queries). ARGV: this query's slot, slots
# per period, the hash's time to live in milliseconds, the queries to add. Returns the queries in the window,
# these included.
_ADD = """
local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2]) + 1
redis.call('hincrby', KEYS[1], ARGV[1], ARGV[4])
local fields = redis.call('hgetall', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
    if tonumber(fields[i]) < oldest then
        redis.call('hdel', KEYS[1], fields[i])
    else
        total = total + tonumber(fields[i + 1])
    end
end
redis.call('pexpire', KEYS[1], ARGV[3])
return total
"""


class SharedVolume:
    """Per-client query counts over a trailing period, in Redis, for one route's ``volume`` signal."""

    def __init__(self, storage: RedisStorage, period: float) -> None:
        self._width = slot_width(period)
        self._storage = storage
        self._ttl_ms = math.ceil(period * 1000)
        self._script: object | None = None

    @staticmethod
    def fits(storage: Storage) -> bool:
        """Whether ``storage`` is a single Redis server the guard can run its own script on."""
        return RedisLimits.fits(storage)

    async def add(self, route: str, client: str, now: float | None = None, *, queries: int = 1) -> int:
        """Count ``queries`` answered queries from ``client`` on ``route`` at ``now`` (epoch seconds, by default
        the wall clock) and return the client's queries over the trailing period, these included. More than one:
        queries answered while Redis could not count them, added late to the current slot (so they leave the
        window a little late: the count errs high, never low)."""
        if isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
            raise ValueError(f"queries must be a positive integer, got {queries!r}")
        bridge = self._storage.bridge
        if self._script is None:
            self._script = bridge.get_connection().register_script(_ADD)  # type: ignore[attr-defined]
        slot = int((time.time() if now is None else now) // self._width)
        key = bridge.prefixed_key(f"volume/{len(route)}:{route}/{client}")  # a route's length: no two pairs alike
        return int(await self._script([key], [slot, BUCKETS, self._ttl_ms, queries]))  # type: ignore[operator]


"""The ``volume`` signal's count kept in the limiter's Redis, so guard replicas judge one client's total.

Counted in each process, a client spread over N replicas (a load balancer without sticky routing) sends N
times the stated volume before any replica sees it pass: the one signal that catches a natural-data attacker
would fail exactly where the rate limits, already shared in Redis, do not. Here every replica adds its answered
queries to one Redis hash per route and client, in the slots the in-process count uses
(:mod:`clearsight.guard.extraction.volume`: ``BUCKETS`` per period, the window being the current slot and the
ones before it), and reads back the window's total in the same script.

A round trip per answered query cost about 280 us of the server's CPU (redis-py's client, not the script),
more than the rest of the guard together. So each process counts its answers in memory and adds them to Redis
in one batch every ``SYNC_SECONDS`` (:class:`VolumeSync`); an answer is judged on the client's total as the
last batch read it plus what this process answered since. The price: what *other* replicas answered since
this one last added the client's queries (at most ``SYNC_SECONDS`` ago while the client is busy here) is seen
one batch late, so an alarm may come a few queries after the exact count would have raised it; the request
path never waits for Redis.

Slots are numbered from the epoch on each replica's wall clock (replicas keep no common origin, and the
clock only places a query in a quarter-hour slot of a day, so seconds of skew do not matter). Slots older
than the window are deleted as the script passes over them, and the hash expires a period after its last
query, so a client costs at most ``BUCKETS`` small fields in Redis.

Used when the limits live in Redis (a policy's ``storage`` names one server; the script needs redis-py, as
:class:`~clearsight.guard.ratelimit.RedisLimits` does); with memory storage each process keeps its own count.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from limits.aio.storage import RedisStorage, Storage

from clearsight.guard.extraction.volume import BUCKETS, slot_width
from clearsight.guard.ratelimit import RedisLimits

logger = logging.getLogger("clearsight.guard")

SYNC_SECONDS = 0.25  # between a process's batches to Redis: how late other replicas' queries may be seen
SYNC_TIMEOUT = 2.0  # a batch Redis has not answered by then is given up and retried with the next one
MAX_CLIENTS = 100_000  # clients remembered per route, for queries to add and totals read (oldest go first)
BATCH_KEYS = 256  # clients per script call: one call holds Redis for a few milliseconds at most

# KEYS: clients' slot hashes (slot number -> queries). ARGV: the slot to add to, slots per period, the hashes'
# time to live in milliseconds, then the queries to add for each key. Returns each key's queries in the window,
# these included.
_ADD = """
local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2]) + 1
local totals = {}
for k = 1, #KEYS do
    redis.call('hincrby', KEYS[k], ARGV[1], ARGV[3 + k])
    local fields = redis.call('hgetall', KEYS[k])
    local total = 0
    for i = 1, #fields, 2 do
        if tonumber(fields[i]) < oldest then
            redis.call('hdel', KEYS[k], fields[i])
        else
            total = total + tonumber(fields[i + 1])
        end
    end
    redis.call('pexpire', KEYS[k], ARGV[3])
    totals[k] = total
end
return totals
"""


class SharedVolume:
    """Per-client query counts over a trailing period, in Redis, for one route's ``volume`` signal."""

    def __init__(self, storage: RedisStorage, route: str, period: float) -> None:
        self._width = slot_width(period)
        self._storage = storage
        self._route = route
        self._ttl_ms = math.ceil(period * 1000)
        self._script: object | None = None
        self._pending: dict[str, int] = {}  # queries answered here that Redis has not been given
        self._sending: dict[str, int] = {}  # the batch on its way to Redis
        self._known: dict[str, tuple[int, float]] = {}  # a client's total as Redis last returned it, and when
        self.failure: str | None = None  # why the last batch failed, until one succeeds

    @staticmethod
    def fits(storage: Storage) -> bool:
        """Whether ``storage`` is a single Redis server the guard can run its own script on."""
        return RedisLimits.fits(storage)

    def count(self, client: str) -> int | None:
        """Count one query answered here and return the client's queries over the trailing period across the
        replicas, this one included: the total the last batch read plus what this process answered since.
        None when no total was read within a slot's width (a client new to this process, or quiet here): the
        caller's own count judges until the next batch reads one. A total older than a slot may hold a slot that
        has since left the window, so it is not used."""
        pending = self._pending.get(client)
        if pending is None:
            _bounded(self._pending)
            pending = 0
        self._pending[client] = pending = pending + 1
        known = self._known.get(client)
        if known is None or time.monotonic() - known[1] > self._width:
            return None
        return known[0] + self._sending.get(client, 0) + pending

    async def sync(self) -> None:
        """Add the queries answered here since the last batch and read back their clients' totals. On failure
        (raised, as is a cancellation) the queries wait for the next batch: a timed-out batch Redis did run is
        then counted twice, so the count errs high, never low."""
        if self._sending or not self._pending:  # a batch is on its way already, or nothing to add
            return
        sending, self._pending = self._pending, {}
        self._sending = sending
        try:
            totals = await self.add(sending)
        except BaseException:  # a timeout reaches here as a cancellation: the caller says what failed
            for client, queries in sending.items():
                if client not in self._pending:
                    _bounded(self._pending)
                self._pending[client] = self._pending.get(client, 0) + queries
            raise
        finally:
            self._sending = {}
        self.failure = None
        read = time.monotonic()
        known = self._known
        for client, total in totals.items():
            if known.pop(client, None) is None:  # popped and set again: the dict's order is by last read
                _bounded(known)
            known[client] = (total, read)

    async def add(self, counts: Mapping[str, int], now: float | None = None) -> dict[str, int]:
        """Add ``counts`` (client -> queries, each at least one) in the slot of ``now`` (epoch seconds, by
        default the wall clock) and return each client's queries over the trailing period, these included."""
        for queries in counts.values():
            if isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
                raise ValueError(f"queries must be a positive integer, got {queries!r}")
        bridge = self._storage.bridge
        if self._script is None:
            self._script = bridge.get_connection().register_script(_ADD)  # type: ignore[attr-defined]
        slot = int((time.time() if now is None else now) // self._width)
        route = f"volume/{len(self._route)}:{self._route}/"  # a route's length: no two route-client pairs alike
        clients = list(counts)
        totals: dict[str, int] = {}
        for start in range(0, len(clients), BATCH_KEYS):
            batch = clients[start:start + BATCH_KEYS]
            keys = [bridge.prefixed_key(route + client) for client in batch]
            found = await self._script(keys, [slot, BUCKETS, self._ttl_ms, *(counts[c] for c in batch)])  # type: ignore[operator]
            totals.update(zip(batch, map(int, found), strict=True))
        return totals


class VolumeSync:
    """Sends every shared route's batch each ``interval`` seconds, on the event loop that serves requests."""

    def __init__(self, volumes: Iterable[SharedVolume], interval: float = SYNC_SECONDS) -> None:
        self.volumes = list(volumes)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failure_said = 0.0  # when a failed batch may next be logged

    def keep(self) -> None:
        """Run on the running event loop: start, or start again when the loop it ran on has gone (a test
        client, a server restarted in the same process). Called with every counted answer: cheap."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="clearsight-volume-sync")

    async def sync(self) -> None:
        """One batch for every route now; a failure is logged (at most once a minute) and left to the next."""
        for volume in self.volumes:
            try:
                async with asyncio.timeout(SYNC_TIMEOUT):
                    await volume.sync()
            except Exception as exc:
                volume.failure = type(exc).__name__
                now = time.monotonic()
                if now >= self._failure_said:  # every batch would say it while Redis is down
                    self._failure_said = now + 60.0
                    logger.warning("volume counts not shared with other replicas (%s: %s); each replica "
                                   "judges on its own count until Redis answers", type(exc).__name__, exc)

    async def aclose(self) -> None:
        """Stop, and give Redis what was counted since the last batch (each route within ``SYNC_TIMEOUT``)."""
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # a cancellation of aclose itself still propagates
        await self.sync()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.sync()


def _bounded(counts: dict[str, Any]) -> None:
    """Make room for one more client: past ``MAX_CLIENTS`` the oldest goes (its queries stay in the caller's own
    count, though no longer in the replicas' one)."""
    if len(counts) >= MAX_CLIENTS:
        del counts[next(iter(counts))]

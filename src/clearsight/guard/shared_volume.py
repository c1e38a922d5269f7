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
one batch late, and a total read before the slot turned is not used (the slot that left the window may be in
it), so an alarm may come a few queries after the exact count would have raised it, never before; the request
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
import contextlib
import itertools
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
CALL_TIMEOUT = 2.0  # a script call Redis has not answered by then is given up; its clients wait for the next batch
MAX_CLIENTS = 100_000  # clients remembered per route, for queries to add and totals read (oldest go first)
BATCH_KEYS = 64  # clients per script call: about 5 ms of Redis for 64 clients with a full period of slots
MAX_CALLS = 64  # script calls per batch: a backlog (after an outage) goes out over several batches
CLOSE_SECONDS = 5.0  # at shutdown, how long the batch on its way may take before it is cancelled

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
        self._sending: dict[str, int] = {}  # the batch on its way to Redis, less what it has added already
        self._known: dict[str, tuple[int, int]] = {}  # a client's total as Redis last returned it, and the slot
        self.failure: str | None = None  # why the last batch failed, until one succeeds

    @staticmethod
    def fits(storage: Storage) -> bool:
        """Whether ``storage`` is a single Redis server the guard can run its own script on."""
        return RedisLimits.fits(storage)

    def count(self, client: str) -> int | None:
        """Count one query answered here and return the client's queries over the trailing period across the
        replicas, this one included: the total the last batch read plus what this process answered since.
        None when no total was read in the current slot (a client new to this process, or one whose total was
        read before the slot turned, when the oldest slot may have left the window): the caller's own count
        judges until the next batch reads one."""
        pending = self._pending.get(client)
        if pending is None:
            _bounded(self._pending)
            pending = 0
        self._pending[client] = pending = pending + 1
        known = self._known.get(client)
        if known is None or known[1] != int(time.time() // self._width):
            return None
        return known[0] + self._sending.get(client, 0) + pending

    async def sync(self) -> None:
        """Add the queries answered here since the last batch (the oldest clients' first, at most ``MAX_CALLS``
        script calls of ``BATCH_KEYS`` clients) and read back their clients' totals. A call that fails or takes
        more than ``CALL_TIMEOUT`` raises; its clients and those after it wait for the next batch (a call Redis
        did run before the timeout is then counted twice: that call's clients err high)."""
        if self._sending or not self._pending:  # a batch is on its way already, or nothing to add
            return
        pending = self._pending
        clients = list(itertools.islice(pending, BATCH_KEYS * MAX_CALLS))
        self._sending = sending = {client: pending.pop(client) for client in clients}
        try:
            for start in range(0, len(clients), BATCH_KEYS):
                chunk = {client: sending[client] for client in clients[start:start + BATCH_KEYS]}
                now = time.time()
                slot = int(now // self._width)
                async with asyncio.timeout(CALL_TIMEOUT):
                    totals = await self.add(chunk, now)  # one script call: the chunk is one call's worth
                known = self._known
                for client, total in totals.items():
                    del sending[client]  # in Redis now: never sent again
                    if known.pop(client, None) is None:  # popped and set again: the dict's order is by last read
                        _bounded(known)
                    known[client] = (total, slot)
        finally:
            self._sending = {}
            if sending:  # not added: first in line for the next batch
                waiting = self._pending
                self._pending = sending
                for client, queries in waiting.items():
                    if client not in sending:
                        _bounded(sending)
                    sending[client] = sending.get(client, 0) + queries
        self.failure = None

    async def add(self, counts: Mapping[str, int], now: float | None = None) -> dict[str, int]:
        """Add ``counts`` (client -> queries, each at least one) in the slot of ``now`` (epoch seconds, by
        default the wall clock) and return each client's queries over the trailing period, these included: one
        script call per ``BATCH_KEYS`` clients."""
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
        self._stop: asyncio.Event | None = None  # set to end the task (of the loop it runs on) between batches
        self._failure_said = 0.0  # when a failed batch may next be logged

    def keep(self) -> None:
        """Run on the running event loop: start, or start again when the loop it ran on has gone (a test
        client, a server restarted in the same process). Called with every counted answer: cheap. Without a
        running loop (a script judging queries by hand) nothing starts: the counts wait for one that runs."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._stop = stop = asyncio.Event()
        self._task = loop.create_task(self._run(stop), name="clearsight-volume-sync")

    async def sync(self) -> None:
        """One batch for every route now; a failure is logged (at most once a minute) and left to the next."""
        for volume in self.volumes:
            try:
                await volume.sync()
            except Exception as exc:
                volume.failure = type(exc).__name__
                now = time.monotonic()
                if now >= self._failure_said:  # every batch would say it while Redis is down
                    self._failure_said = now + 60.0
                    logger.warning("volume counts not shared with other replicas (%s: %s); each replica "
                                   "judges on its own count until Redis answers", type(exc).__name__, exc)

    async def aclose(self) -> None:
        """Stop once the batch on its way is in (or after ``CLOSE_SECONDS``), then give Redis what was counted
        since. The task is told to stop rather than cancelled: on Python 3.11 redis-py can swallow a
        cancellation that arrives as a command is sent, and a cancelled batch Redis had run was counted twice."""
        task, stop, self._task = self._task, self._stop, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            assert stop is not None
            stop.set()
            await asyncio.wait({task}, timeout=CLOSE_SECONDS)
            while not task.done():  # a batch stuck past its timeouts: cancel until it ends
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
        elif task is not None and stop is not None and not task.done():  # a task on another loop (thread)
            with contextlib.suppress(RuntimeError):  # that loop has closed: its task is gone with it
                task.get_loop().call_soon_threadsafe(stop.set)
        await self.sync()

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await stop.wait()
            if not stop.is_set():
                await self.sync()


def _bounded(counts: dict[str, Any]) -> None:
    """Make room for one more client: past ``MAX_CLIENTS`` the oldest goes (its queries stay in the caller's own
    count, though no longer in the replicas' one)."""
    if len(counts) >= MAX_CLIENTS:
        del counts[next(iter(counts))]

"""Per-client, per-route rate limits on the ``limits`` library: in memory, or in Redis shared by replicas.

The sliding-window counter keeps two counters per key and window, so a daily quota of millions costs the
same memory as one per second (a moving window would store one timestamp per request), while still
smoothing the double burst a fixed window allows at its edges. Keys carry only the route pattern and the
client's pseudonym, so Redis never sees an API key.

In memory, ``limits``' own storage starts a task after every hit that walks every counter to drop expired ones:
with 10,000 clients (40,000 counters for two limits) that walk cost the guard 40 % of its throughput.
:class:`SweptMemoryStorage` keeps ``limits``' counters and arithmetic and sweeps at most about 10,000 counters a
second instead.

In Redis, ``limits`` runs one script per limit, so a route with a per-second and a per-day limit cost two round
trips through the client per request. :class:`RedisLimits` takes the same hit on all of a route's limits in one
script, with the same keys and arithmetic, so replicas running either way share one budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
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
MAX_SHAPES = 1_024
MAX_CLIENT_KEYS = 10_000


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-memory storage with expired counters swept on a budget instead of after every hit.

    The guard runs on one event loop and these methods never await inside an update, so counters need no
    per-key lock (``limits`` creates an ``asyncio.Lock`` per key). A counter past its expiry still reads as
    expired before the sweep removes it: ``get`` and ``incr`` check the expiry of the key they touch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.next_sweep = 0.0
        # per window length: the quotient ranges the cached suffixes hold for, and the suffixes
        self._windows: dict[int, tuple[float, float, float, float, str, str]] = {}

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

    def acquire(self, key: str, limit: int, expiry: int, now: float) -> bool:
        """``limits``' ``acquire_sliding_window_entry`` for one hit, without its awaits and wrappers."""
        return not self.acquire_all(((key, limit, expiry),), now)

    def acquire_all(self, entries: Sequence[tuple[str, int, int]], now: float) -> int:
        """One hit on each ``(key, limit, window)`` in order, as :meth:`acquire` would take it on each in turn:
        0 when all took it, else the number (from 1) of the first that refused (those before it keep their hit).

        Same keys, counters and arithmetic as ``limits`` 5 (a test replays random hits through both), but one
        synchronous call for all of a route's limits: the library's path costs about ten coroutine frames and two
        key builds per limit, a quarter of the guard's own time per request. The sweep's schedule,
        :meth:`_drop_if_expired` and the window suffixes' cache are written out here, as this runs on every
        request.
        """
        if time.monotonic() >= self.next_sweep:
            self.sweep(now)
        storage, expirations, windows = self.storage, self.expirations, self._windows
        for number, (key, limit, expiry) in enumerate(entries, start=1):
            cached = windows.get(expiry)
            current_q = now / expiry
            previous_q = (now - expiry) / expiry
            if cached is not None and cached[0] <= previous_q < cached[1] and cached[2] <= current_q < cached[3]:
                previous_key, current_key = key + cached[4], key + cached[5]
            else:
                previous_suffix, current_suffix = self._window_suffixes(expiry, now)
                previous_key, current_key = key + previous_suffix, key + current_suffix
            # = f"{key}/{int((now - expiry) / expiry)}" and f"{key}/{int(now / expiry)}"
            if expirations.get(previous_key, now) <= now:  # expired, or never given an expiry: gone
                storage.pop(previous_key, None)
                expirations.pop(previous_key, None)
            if expirations.get(current_key, now) <= now:
                storage.pop(current_key, None)
                expirations.pop(current_key, None)
            previous = storage.get(previous_key, 0)
            previous_ttl = (1 - (previous_q % 1)) * expiry if previous else 0.0
            weight = previous * previous_ttl / expiry
            current = storage.get(current_key, 0)
            if math.floor(weight + current) + 1 > limit:
                return number
            count = current + 1
            storage[current_key] = count
            if count == 1:
                expirations[current_key] = now + 2 * expiry
            if math.floor(weight + count) > limit:  # cannot happen on one loop; kept so the arithmetic matches
                storage[current_key] = count - 1
                return number
        return 0

    def _window_suffixes(self, expiry: int, now: float) -> tuple[str, str]:
        """``/<previous window>`` and ``/<current window>`` as ``limits`` numbers them, ``int((now - expiry) /
        expiry)`` and ``int(now / expiry)``. Converting and formatting those numbers cost more than the rest of a
        hit, and they change once a window, so the text is kept while both quotients stay within the same
        whole numbers (truncation of a non-negative quotient q is n exactly when n <= q < n + 1)."""
        current = now / expiry
        previous = (now - expiry) / expiry
        cached = self._windows.get(expiry)
        if cached is not None and cached[0] <= previous < cached[1] and cached[2] <= current < cached[3]:
            return cached[4], cached[5]
        p, c = int(previous), int(current)
        if previous < 0:  # truncation runs towards zero below it: not worth a cache
            return f"/{p}", f"/{c}"
        entry = (float(p), float(p + 1), float(c), float(c + 1), f"/{p}", f"/{c}")
        self._windows[expiry] = entry
        return entry[4], entry[5]

    def _drop_if_expired(self, key: str, now: float) -> None:
        if self.expirations.get(key, now) <= now:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)


# One hit on several sliding-window counters, in order, as ``limits``' own acquire script takes it on one: the
# same keys (KEYS: previous and current window of each limit), the same millisecond arithmetic (the current
# window rolls over into the previous one when its time-to-live drops below one window; the previous count is
# weighted by the share of its window still ahead), so a replica counting with ``limits`` shares the budget.
# ARGV: the cost, then each limit's amount and window in seconds. Returns 0 when every limit took the hit, else
# the number (from 1) of the first that refused it; the limits before it keep their hit, as with one call each.
_ACQUIRE_ALL = """
local cost = tonumber(ARGV[1])
local function take(previous, current, amount, window)
    if cost > amount then
        return false
    end
    local left = tonumber(redis.call('pttl', current))
    if left > 0 and left < window then
        redis.call('rename', current, previous)
        redis.call('set', current, 0, 'PX', left + window)
    end
    local previous_ttl = math.max(tonumber(redis.call('pttl', previous)) or 0, 0)
    local previous_count = tonumber(redis.call('get', previous)) or 0
    local current_count = tonumber(redis.call('get', current)) or 0
    if math.floor(previous_count * previous_ttl / window) + current_count + cost > amount then
        return false
    end
    if redis.call('exists', current) == 1 then
        redis.call('incrby', current, cost)
    else
        redis.call('set', current, cost, 'PX', window * 2)
    end
    return true
end
for i = 1, #KEYS / 2 do
    if not take(KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]) * 1000) then
        return i
    end
end
return 0
"""


class RedisLimits:
    """All of a route's limits hit in one Redis script call instead of one call per limit.

    Only for a single Redis server (``redis://``, ``rediss://``, ``unix://``) through redis-py: a script may only
    touch keys of one cluster slot, and each limit's keys carry their own hash tag, so a cluster (and Sentinel)
    keeps ``limits``' per-limit calls. The keys are built as ``limits`` builds them (``<prefix>:{<item key>}``
    and ``.../-1``), which a test checks against the library on a real server.
    """

    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._script: object | None = None

    @staticmethod
    def fits(storage: Storage) -> bool:
        from limits.aio.storage.redis.redispy import RedispyBridge

        return type(storage) is RedisStorage and isinstance(storage.bridge, RedispyBridge)

    async def hit(self, keys: Sequence[str], limits: Sequence[RateLimitItem]) -> int:
        """0 when allowed, else the 1-based position of the first limit that refused; ``keys[i]`` is
        ``limits[i].key_for(...)``."""
        bridge = self._storage.bridge
        if self._script is None:
            self._script = bridge.get_connection().register_script(_ACQUIRE_ALL)  # type: ignore[attr-defined]
        names: list[str] = []
        args: list[int] = [1]
        for key, item in zip(keys, limits, strict=True):
            current = bridge.prefixed_key(f"{{{key}}}")
            names += [f"{current}/-1", current]
            args += [item.amount, item.get_expiry()]
        return int(await self._script(names, args))  # type: ignore[operator]


REDIS_CONNECTIONS = 64  # per guard process; more requests than this in flight wait for one
REDIS_CONNECTION_WAIT = 5.0  # seconds a request waits for a free connection before the guard gives up (503)


def open_storage(uri: str, key_prefix: str) -> Storage:
    """The limits' storage. Redis through a pool that makes requests wait for a free connection: the client's
    default pool refuses the request past its size, which turned a burst of more than 100 requests in flight
    into 503s from the guard (two in three of 300 released at once)."""
    if uri.startswith("memory://"):
        return SweptMemoryStorage()
    plain = uri.removeprefix("async+")
    options: dict[str, Any] = {}
    if plain.startswith(("redis://", "rediss://", "redis+unix://")):  # one server (Sentinel and cluster: as they are)
        from redis.asyncio import BlockingConnectionPool

        options["connection_pool"] = BlockingConnectionPool.from_url(
            plain.replace("redis+unix://", "unix://", 1), max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_CONNECTION_WAIT)
    storage = storage_from_string("async+" + plain, implementation="redispy", key_prefix=key_prefix, **options)
    if not isinstance(storage, Storage):  # an async+ scheme always yields the asyncio flavour
        raise InputError(f"storage {uri!r} has no asyncio implementation")
    return storage


@dataclass(frozen=True, slots=True)
class _Shape:
    """What ``RateLimitItem.key_for`` appends after the identifiers, and the window, worked out once per limit."""

    namespace: str
    suffix: str
    amount: int
    expiry: int

    @classmethod
    def of(cls, item: RateLimitItem) -> _Shape:
        return cls(item.namespace, f"/{item.amount}/{item.multiples}/{item.GRANULARITY.name}", item.amount,
                   item.get_expiry())


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://", *, key_prefix: str = "clearsight-guard") -> None:
        self.storage = open_storage(storage_uri, key_prefix)
        self._strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._memory = self.storage if isinstance(self.storage, SweptMemoryStorage) else None
        self._redis = RedisLimits(self.storage) if RedisLimits.fits(self.storage) else None  # type: ignore[arg-type]
        self._shapes: dict[int, tuple[RateLimitItem, _Shape]] = {}
        self._keys: dict[tuple[str, str], tuple[Sequence[RateLimitItem], tuple[tuple[str, int, int], ...]]] = {}

    @property
    def redis_storage(self) -> RedisStorage | None:
        """The storage when the limits live on one Redis server the guard can run its own scripts on (and share
        more than limits through), else None."""
        return self.storage if self._redis is not None else None  # type: ignore[return-value]

    async def hit(self, scope: str, client: str, limits: Sequence[RateLimitItem]) -> float | None:
        """Count one request; None when allowed, else the seconds until the tightest limit frees a slot."""
        memory = self._memory
        if self._redis is not None and limits:
            refused = await self._redis.hit([item.key_for(scope, client) for item in limits], limits)
            if not refused:
                return None
            stats = await self._strategy.get_window_stats(limits[refused - 1], scope, client)
            return max(1.0, math.ceil(stats.reset_time - time.time()))
        if memory is not None:
            refused = memory.acquire_all(self._entries(scope, client, limits), time.time())
            if not refused:
                return None
            stats = await self._strategy.get_window_stats(limits[refused - 1], scope, client)
            return max(1.0, math.ceil(stats.reset_time - time.time()))
        for item in limits:
            if not await self._strategy.hit(item, scope, client):
                stats = await self._strategy.get_window_stats(item, scope, client)
                return max(1.0, math.ceil(stats.reset_time - time.time()))
        return None

    def _entries(self, scope: str, client: str, limits: Sequence[RateLimitItem]) -> tuple[tuple[str, int, int], ...]:
        """Each limit's counter key (``item.key_for(scope, client)``), amount and window, kept per client: the
        same client sends again and again, and building the keys cost more than counting. Held with the very
        limits they were built for (a throttled client's limits are a new tuple each time); only a tuple's are
        kept, as a list may change in place between calls. Emptied when ``MAX_CLIENT_KEYS`` clients are held."""
        if type(limits) is not tuple:
            return self._built_entries(scope, client, limits)
        entry = self._keys.get((scope, client))
        if entry is None or entry[0] is not limits:
            if len(self._keys) >= MAX_CLIENT_KEYS:
                self._keys.clear()
            entry = self._keys[(scope, client)] = (limits, self._built_entries(scope, client, limits))
        return entry[1]

    def _built_entries(self, scope: str, client: str, limits: Sequence[RateLimitItem]
                       ) -> tuple[tuple[str, int, int], ...]:
        return tuple((f"{shape.namespace}/{scope}/{client}{shape.suffix}", shape.amount, shape.expiry)
                     for shape in map(self._shape, limits))

    def _shape(self, item: RateLimitItem) -> _Shape:
        """Looked up by identity: ``RateLimitItem`` hashes and compares in Python (half a microsecond a look-up),
        and items that compare equal may differ in namespace."""
        entry = self._shapes.get(id(item))
        if entry is None or entry[0] is not item:
            if len(self._shapes) >= MAX_SHAPES:  # a caller building new items per call must not grow this forever
                self._shapes.clear()
            entry = self._shapes[id(item)] = (item, _Shape.of(item))
        return entry[1]

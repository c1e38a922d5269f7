"""The guard's in-memory limits: enforced like ``limits``' own storage, with expired counters swept on a budget."""

from __future__ import annotations

import asyncio
import math
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits_support import clear_of_window_edges, replay

from clearsight.guard import ratelimit
from clearsight.guard.ratelimit import SWEPT_PER_SECOND, RateLimiter, SweptMemoryStorage, parse_limits


def test_memory_limits_allow_up_to_the_limit_then_say_when_to_retry() -> None:
    async def run() -> list[float | None]:
        limiter = RateLimiter("memory://")
        limits = parse_limits(["3/minute"])
        clear_of_window_edges(2, 60)
        answers = [await limiter.hit("/score", "alice", limits) for _ in range(4)]
        answers.append(await limiter.hit("/score", "bob", limits))  # another client has its own budget
        return answers

    first, second, third, fourth, other = asyncio.run(run())
    assert (first, second, third, other) == (None, None, None, None)
    assert fourth is not None and 1.0 <= fourth <= 120.0


def test_the_tightest_of_several_limits_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # a fixed moment 800 s into an hour: near the top of the hour the hourly window's reset is under a minute
    # away, and the test failed when CI ran at 00:59
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)

    async def run() -> list[float | None]:
        limiter = RateLimiter("memory://")
        limits = parse_limits(["100/minute", "2/hour"])
        return [await limiter.hit("/score", "alice", limits) for _ in range(3)]

    answers = asyncio.run(run())
    assert answers[:2] == [None, None]
    assert answers[2] is not None and answers[2] > 60  # the hourly limit, not the per-minute one


def _filled(counters: int, expiry: float) -> SweptMemoryStorage:
    storage = SweptMemoryStorage()

    async def fill() -> None:
        for i in range(counters):
            await storage.incr(f"k{i}", expiry)

    asyncio.run(fill())
    return storage


def test_a_due_sweep_drops_expired_counters_and_keeps_live_ones() -> None:
    storage = _filled(50, expiry=10)
    asyncio.run(storage.incr("long-lived", 3600))
    removed = storage.sweep(time.time() + 11, at=time.monotonic() + 11)
    assert removed == 50
    assert set(storage.storage) == {"long-lived"} and set(storage.expirations) == {"long-lived"}


def test_hits_between_sweeps_do_not_walk_the_counters() -> None:
    """The point of the storage: a hit costs the same with 10 or 100,000 clients."""
    storage = _filled(50, expiry=10)
    wall, mono = time.time() + 11, time.monotonic() + 11
    storage.sweep(wall, at=mono)
    asyncio.run(storage.incr("again", 10))
    storage.expirations["again"] = wall - 1  # expired, but no sweep is due for another second
    assert storage.sweep(wall + 0.5, at=mono + 0.5) == 0
    assert "again" in storage.expirations
    assert storage.sweep(wall + 1.0, at=mono + 1.0) == 1


def test_a_wall_clock_set_back_does_not_stop_the_sweeps() -> None:
    storage = _filled(50, expiry=10)
    mono = time.monotonic() + 11
    storage.sweep(time.time() + 11, at=mono)
    asyncio.run(storage.incr("later", 10))
    storage.expirations["later"] = time.time() - 3600 - 1  # an hour back, and already expired by that clock
    assert storage.sweep(time.time() - 3600, at=mono + 1.0) == 1


def test_the_sweep_period_grows_with_the_number_of_counters() -> None:
    storage = _filled(SWEPT_PER_SECOND * 3, expiry=3600)
    mono = time.monotonic() + 100
    storage.sweep(time.time(), at=mono)
    assert storage.next_sweep == mono + 3.0


def test_an_expired_counter_reads_as_expired_before_any_sweep() -> None:
    async def run() -> tuple[int, int, int]:
        storage = SweptMemoryStorage()
        await storage.incr("k", 60)
        await storage.incr("k", 60)
        storage.next_sweep = time.monotonic() + 3600  # no sweep is due
        storage.expirations["k"] = time.time() - 1  # as if the minute had passed
        stale = await storage.get("k")
        await storage.incr("k", 60)
        await storage.incr("k", 60)
        storage.expirations["k"] = time.time() - 1
        restarted = await storage.incr("k", 60)
        storage.expirations["k"] = time.time() - 1
        return stale, restarted, await storage.decr("k")

    assert asyncio.run(run()) == (0, 1, 0)


def test_the_fast_memory_path_decides_exactly_like_limits_own_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random hits from a few clients at random times through both; every answer and counter must agree."""
    from limits.aio.storage import MemoryStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    rng = random.Random(7)
    clock = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    items = parse_limits(["3/second", "8/10 seconds", "20/minute"])

    def tick() -> None:
        clock[0] += rng.choice((0.0, 0.0, 0.0, 0.001, 0.01, 0.05, 0.3, 3.0))

    async def run() -> tuple[list[float | None], list[float | None]]:
        reference = SlidingWindowCounterRateLimiter(MemoryStorage())
        return await replay(RateLimiter("memory://"), reference, items, rng, 3000, tick)

    got, want = asyncio.run(run())
    assert got == want
    assert sum(a is None for a in got) > 500 and sum(a is not None for a in got) > 500  # both outcomes exercised


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 60, 3600, 86400, 7 * 86400, 10**9, 4 * 10**9]),
                          st.integers(0, 2 * 10**9), st.sampled_from([-1, 0, 1, None])), min_size=1, max_size=40))
def test_cached_window_suffixes_are_what_limits_computes(hits: list[tuple[int, int, int | None]]) -> None:
    """The limiter keeps the window numbers' text while they stay the same; at every moment (window edges and
    the floats either side of them included, and windows longer than the clock has run) it must be the text
    limits' own formula gives."""
    storage = SweptMemoryStorage()
    for expiry, base, nudge in hits:
        now = float(base // expiry * expiry) if nudge is not None else base + 0.37
        if nudge:
            now = math.nextafter(now, math.inf if nudge > 0 else -math.inf)
        assert storage._window_suffixes(expiry, now) == (f"/{int((now - expiry) / expiry)}", f"/{int(now / expiry)}")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1, 10, 60, 3600, 86400]), st.integers(1, 2 * 10**9),
       st.lists(st.sampled_from([0.0, 0.25, 1.0, 7.0, 59.5, 3600.0, 86400.0, -1.0]), min_size=1, max_size=30))
def test_one_call_for_all_limits_counts_in_the_windows_limits_names(expiry: int, start: int,
                                                                    steps: list[float]) -> None:
    """The window text is worked out inline for every limit of a request; across window edges (and the floats
    either side of them, step -1 lands just below an edge) the counters must sit under limits' own key."""
    storage = SweptMemoryStorage()
    now = float(start)
    for step in steps:
        now = math.nextafter(float(int(now / expiry + 1) * expiry), -math.inf) if step < 0 else now + step
        assert storage.acquire_all((("k", 10**9, expiry), ("j", 10**9, expiry)), now) == 0
        assert storage.storage.get(f"k/{int(now / expiry)}", 0) >= 1 and f"j/{int(now / expiry)}" in storage.storage


def test_one_call_for_all_limits_stops_at_the_first_refusal() -> None:
    storage = SweptMemoryStorage()
    entries = (("a", 5, 60), ("b", 1, 60), ("c", 5, 60))
    assert storage.acquire_all(entries, 1_000_000.0) == 0
    assert storage.acquire_all(entries, 1_000_000.5) == 2  # b is full: a kept its hit, c was not asked
    assert (storage.storage["a/16666"], storage.storage["b/16666"], storage.storage["c/16666"]) == (2, 1, 1)


def test_keys_kept_per_client_follow_the_limits_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A throttled client's limits are a new sequence each request: its extra limit must be counted every time,
    and the route's own limits again once the throttle ends; the kept keys stay within their bound."""
    monkeypatch.setattr(ratelimit, "MAX_CLIENT_KEYS", 4)
    route_limits = parse_limits(["1000/minute"])
    throttle = parse_limits(["2/minute"])

    async def run() -> list[float | None]:
        limiter = RateLimiter("memory://")
        answers = [await limiter.hit("/score", "alice", route_limits)]
        answers += [await limiter.hit("/score", "alice", (*route_limits, *throttle)) for _ in range(3)]
        answers.append(await limiter.hit("/score", "alice", route_limits))
        for i in range(10):
            await limiter.hit("/score", f"client-{i}", route_limits)
        assert len(limiter._keys) <= 4
        keys = {key for key in limiter.storage.storage if "alice" in key}  # type: ignore[attr-defined]
        assert any(key.startswith(route_limits[0].key_for("/score", "alice")) for key in keys)
        assert any(key.startswith(throttle[0].key_for("/score", "alice")) for key in keys)
        return answers

    clear_of_window_edges(2, 60)
    first, *throttled, after = asyncio.run(run())
    assert first is None and throttled[:2] == [None, None] and throttled[2] is not None and after is None


def test_limits_given_as_a_list_changed_in_place_are_all_counted() -> None:
    """Kept keys are tied to a tuple, which cannot change; a caller's list may, and its new limit must count."""
    async def run() -> list[float | None]:
        limiter = RateLimiter("memory://")
        limits = list(parse_limits(["100/minute"]))
        answers = [await limiter.hit("/score", "alice", limits)]
        limits.extend(parse_limits(["1/minute"]))
        answers += [await limiter.hit("/score", "alice", limits) for _ in range(2)]
        return answers

    clear_of_window_edges(2, 60)
    assert asyncio.run(run())[2] is not None


def test_only_a_single_redis_server_takes_all_limits_in_one_script() -> None:
    """A script may touch keys of one cluster slot only; Sentinel and cluster URLs keep one call per limit. Built
    without a connection: the storages connect on first use."""
    from clearsight.guard.ratelimit import RedisLimits

    assert RateLimiter("redis://127.0.0.1:6379/15")._redis is not None
    assert RateLimiter("redis+sentinel://127.0.0.1:26379/mymaster")._redis is None
    assert RateLimiter("memory://")._redis is None
    assert not RedisLimits.fits(SweptMemoryStorage())

"""The volume count replicas share through a real Redis, against the in-process count it stands in for."""

from __future__ import annotations

import asyncio
import random

import pytest
import redis
from replica_support import REDIS_URL, answer, replica

from clearsight.guard.engine import Guard
from clearsight.guard.extraction.volume import BUCKETS, VolumeTracker
from clearsight.guard.ratelimit import RateLimiter
from clearsight.guard.shared_volume import SharedVolume

DAY = 86_400.0
WIDTH = DAY / BUCKETS
T0 = WIDTH * 2_000_000  # a slot's start, so the in-process tracker (slots from its first query) lines up


def _volume(prefix: str, period: float = DAY) -> SharedVolume:
    storage = RateLimiter(REDIS_URL, key_prefix=prefix).storage
    return SharedVolume(storage, period)  # type: ignore[arg-type]


def test_two_replicas_count_one_clients_queries_together(prefix: str) -> None:
    one, two = _volume(prefix), _volume(prefix)

    async def run() -> list[int]:
        return [await volume.add("/v1/score", "bank", T0 + i) for i, volume in enumerate([one, two] * 3)]

    assert asyncio.run(run()) == [1, 2, 3, 4, 5, 6]


def test_clients_and_routes_are_counted_apart(prefix: str) -> None:
    volume = _volume(prefix)

    async def run() -> list[int]:
        return [await volume.add(route, client, T0) for route, client in
                [("/a", "x"), ("/a", "y"), ("/b", "x"), ("/a", "x")]]

    assert asyncio.run(run()) == [1, 1, 1, 2]


def test_the_window_is_the_trackers_and_old_slots_leave_redis(prefix: str) -> None:
    """The current slot and the ``BUCKETS - 1`` before it, as in process; a slot that left the window is deleted."""
    volume = _volume(prefix)

    async def run() -> list[int]:
        times = [T0, T0 + 1, T0 + 2, T0 + (BUCKETS - 1) * WIDTH, T0 + BUCKETS * WIDTH, T0 + 3 * BUCKETS * WIDTH]
        return [await volume.add("/v1/score", "bank", t) for t in times]

    assert asyncio.run(run()) == [1, 2, 3, 4, 2, 1]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        (key,) = list(client.scan_iter(f"{prefix}*"))
        assert client.hlen(key) == 1  # only the newest slot is left
        assert 0 < client.pttl(key) <= DAY * 1000  # and the whole hash goes a period after the last query
    finally:
        client.close()


def test_same_counts_as_the_in_process_tracker(prefix: str) -> None:
    """Differential: random gaps from seconds to days, the shared count and a ``VolumeTracker`` side by side."""
    rng = random.Random(3)
    times, now = [T0], T0  # the tracker's slots count from its first query: the shared ones' starts
    for _ in range(400):
        now += rng.choice([0, 1, 30, WIDTH / 3, WIDTH, 7 * WIDTH, DAY / 2, DAY, 2 * DAY]) * rng.random()
        times.append(now)
    tracker, volume = VolumeTracker(DAY), _volume(prefix)

    async def run() -> list[int]:
        return [await volume.add("/v1/score", "bank", t) for t in times]

    assert asyncio.run(run()) == [tracker.add(t) for t in times]


def test_no_two_routes_and_clients_share_a_key(prefix: str) -> None:
    """A client id may hold '/' (an address from a trusted X-Forwarded-For): the route's length keeps pairs apart."""
    volume = _volume(prefix)

    async def run() -> list[int]:
        return [await volume.add("/a", "ip:10.0.0.1/ip:10.0.0.2", T0),
                await volume.add("/a/ip:10.0.0.1", "ip:10.0.0.2", T0)]

    assert asyncio.run(run()) == [1, 1]


def test_queries_owed_are_added_at_once(prefix: str) -> None:
    volume = _volume(prefix)

    async def run() -> list[int]:
        return [await volume.add("/v1/score", "bank", T0), await volume.add("/v1/score", "bank", T0, queries=4)]

    assert asyncio.run(run()) == [1, 5]
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match="positive integer"):
            asyncio.run(volume.add("/v1/score", "bank", T0, queries=bad))  # type: ignore[arg-type]


def test_a_period_under_a_minute_is_refused_and_only_one_redis_server_fits() -> None:
    with pytest.raises(ValueError, match="at least 60"):
        _volume("unused", period=30.0)
    assert not SharedVolume.fits(RateLimiter("memory://").storage)
    assert SharedVolume.fits(RateLimiter(REDIS_URL).storage)


def _guard(storage: str, prefix: str) -> Guard:
    return replica(prefix, storage=storage)


async def _answer(guard: Guard, client: str, i: int) -> tuple[list[str], float]:
    review = await answer(guard, client, i)
    return review.reasons, review.scores["volume_ratio"]


def _answered(guards: list[Guard], client: str) -> list[tuple[list[str], float]]:
    """Query ``i`` through ``guards[i]``, all on one event loop (as a server runs them)."""
    async def run() -> list[tuple[list[str], float]]:
        return [await _answer(guard, client, i) for i, guard in enumerate(guards)]

    return asyncio.run(run())


def test_guards_on_one_redis_judge_the_clients_total(prefix: str) -> None:
    one, two = _guard(REDIS_URL, prefix), _guard(REDIS_URL, prefix)
    seen = _answered([one, two] * 3, "copier")
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2])
    assert seen[3][0] == ["extraction:volume"] and seen[2][0] == []
    local = [_guard("memory://", prefix), _guard("memory://", prefix)]  # each process its own count: half as much
    assert local[0].volume_routes == {"/v1/score": None}
    assert [ratio for _, ratio in _answered(local * 3, "copier")] == pytest.approx(
        [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])


def test_with_redis_out_of_reach_the_query_is_judged_on_this_processes_count(prefix: str) -> None:
    """The answer must not wait or fail for a storage failure: the local count judges and the record says so."""
    guard = _guard("redis://127.0.0.1:1/0", prefix)  # nothing listens there; the route has no rate limit to hit
    seen = _answered([guard] * 4, "copier")
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3])
    assert seen[0][0] == ["volume.unshared: ConnectionError"]  # then no more attempts for a few seconds
    assert all(reasons[0] == "volume.unshared: paused" for reasons, _ in seen[1:])
    assert "extraction:volume" in seen[3][0]


def test_after_a_failure_the_count_goes_on_and_redis_gets_what_it_missed(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local count is kept all along, so a client past the volume stays past it while Redis is away (it
    restarted from zero before the review); the queries Redis missed are added when it counts again."""
    import clearsight.guard.engine as engine

    monkeypatch.setattr(engine, "SHARED_COUNT_PAUSE", 0.0)
    guard = _guard(REDIS_URL, prefix)
    working = guard.volume_routes["/v1/score"]
    dead = SharedVolume(RateLimiter("redis://127.0.0.1:1/0", key_prefix=prefix).storage, 3_600.0)  # type: ignore[arg-type]

    async def run() -> list[tuple[list[str], float]]:
        out = [await _answer(guard, "copier", i) for i in range(4)]
        guard.volume_routes["/v1/score"] = dead
        out += [await _answer(guard, "copier", i) for i in range(4, 6)]
        guard.volume_routes["/v1/score"] = working
        out.append(await _answer(guard, "copier", 6))
        return out

    seen = asyncio.run(run())
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2, 7 / 3])
    assert [r[0] for r, _ in seen[4:6]] == ["volume.unshared: ConnectionError"] * 2
    assert seen[6][0] == ["extraction:volume"]  # counted in Redis again: 4 + the 2 it missed + this one
    client = redis.Redis.from_url(REDIS_URL)
    try:
        (key,) = list(client.scan_iter(f"{prefix}*volume*"))
        assert sum(int(v) for v in client.hvals(key)) == 7
    finally:
        client.close()

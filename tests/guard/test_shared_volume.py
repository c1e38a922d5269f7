"""The volume count replicas share through a real Redis, against the in-process count it stands in for."""

from __future__ import annotations

import asyncio
import random

import pytest
import redis
from replica_support import REDIS_URL, answer, replica

from clearsight.guard import shared_volume
from clearsight.guard.engine import Guard
from clearsight.guard.extraction.volume import BUCKETS, VolumeTracker
from clearsight.guard.ratelimit import RateLimiter
from clearsight.guard.shared_volume import SharedVolume, VolumeSync

DAY = 86_400.0
WIDTH = DAY / BUCKETS
T0 = WIDTH * 2_000_000  # a slot's start, so the in-process tracker (slots from its first query) lines up


def _volume(prefix: str, period: float = DAY, route: str = "/v1/score", url: str = REDIS_URL) -> SharedVolume:
    storage = RateLimiter(url, key_prefix=prefix).storage
    return SharedVolume(storage, route, period)  # type: ignore[arg-type]


def _in_redis(prefix: str) -> int:
    """The queries the one client's hash under ``prefix`` holds."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        (key,) = list(client.scan_iter(f"{prefix}*volume*"))
        return sum(int(v) for v in client.hvals(key))
    finally:
        client.close()


async def _add(volume: SharedVolume, client: str, now: float, queries: int = 1) -> int:
    return (await volume.add({client: queries}, now))[client]


def test_two_replicas_count_one_clients_queries_together(prefix: str) -> None:
    one, two = _volume(prefix), _volume(prefix)

    async def run() -> list[int]:
        return [await _add(volume, "bank", T0 + i) for i, volume in enumerate([one, two] * 3)]

    assert asyncio.run(run()) == [1, 2, 3, 4, 5, 6]


def test_clients_and_routes_are_counted_apart(prefix: str) -> None:
    a, b = _volume(prefix, route="/a"), _volume(prefix, route="/b")

    async def run() -> list[int]:
        return [await _add(volume, client, T0) for volume, client in [(a, "x"), (a, "y"), (b, "x"), (a, "x")]]

    assert asyncio.run(run()) == [1, 1, 1, 2]


def test_the_window_is_the_trackers_and_old_slots_leave_redis(prefix: str) -> None:
    """The current slot and the ``BUCKETS - 1`` before it, as in process; a slot that left the window is deleted."""
    volume = _volume(prefix)

    async def run() -> list[int]:
        times = [T0, T0 + 1, T0 + 2, T0 + (BUCKETS - 1) * WIDTH, T0 + BUCKETS * WIDTH, T0 + 3 * BUCKETS * WIDTH]
        return [await _add(volume, "bank", t) for t in times]

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
        return [await _add(volume, "bank", t) for t in times]

    assert asyncio.run(run()) == [tracker.add(t) for t in times]


def test_no_two_routes_and_clients_share_a_key(prefix: str) -> None:
    """A client id may hold '/' (an address from a trusted X-Forwarded-For): the route's length keeps pairs apart."""
    async def run() -> list[int]:
        return [await _add(_volume(prefix, route="/a"), "ip:10.0.0.1/ip:10.0.0.2", T0),
                await _add(_volume(prefix, route="/a/ip:10.0.0.1"), "ip:10.0.0.2", T0)]

    assert asyncio.run(run()) == [1, 1]


def test_many_clients_in_one_batch_each_get_their_own_total(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More clients than one script call takes: every one counted once, with what it was given."""
    monkeypatch.setattr(shared_volume, "BATCH_KEYS", 7)
    volume = _volume(prefix)
    counts = {f"bank-{i}": 1 + i % 5 for i in range(30)}

    async def run() -> tuple[dict[str, int], dict[str, int]]:
        return await volume.add(counts, T0), await volume.add(dict.fromkeys(counts, 1), T0)

    first, second = asyncio.run(run())
    assert first == counts and second == {client: n + 1 for client, n in counts.items()}
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match="positive integer"):
            asyncio.run(volume.add({"bank": bad}, T0))  # type: ignore[dict-item]


def test_a_period_under_a_minute_is_refused_and_only_one_redis_server_fits() -> None:
    with pytest.raises(ValueError, match="at least 60"):
        _volume("unused", period=30.0)
    assert not SharedVolume.fits(RateLimiter("memory://").storage)
    assert SharedVolume.fits(RateLimiter(REDIS_URL).storage)


def test_a_count_is_the_last_total_read_plus_what_this_process_answered_since(prefix: str) -> None:
    """The request path never waits for Redis: a replica knows nothing of a client until its first batch, then
    the total that batch read plus its own answers since; what the other replica answers in between is seen at
    the next batch."""
    one, two = _volume(prefix), _volume(prefix)

    async def run() -> list[int | None]:
        seen = [one.count("bank"), one.count("bank")]  # nothing read yet: the caller's own count judges
        await one.sync()  # Redis 2
        seen += [one.count("bank"), two.count("bank")]  # 2 + 1; the other has read nothing yet
        await two.sync()  # Redis 3
        seen += [two.count("bank"), one.count("bank")]  # 3 + 1; 2 + 2: the other's query not seen yet
        await one.sync()  # Redis 5
        await two.sync()  # Redis 6
        seen += [one.count("bank"), two.count("bank")]  # 5 + 1: the other's last batch came after this read
        return seen

    assert asyncio.run(run()) == [None, None, 3, None, 4, 4, 6, 7]


def test_a_failed_batch_waits_for_the_next_and_nothing_is_lost(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = _volume(prefix)
    real_add = volume.add
    failing = [True]

    async def add(counts: dict[str, int], now: float | None = None) -> dict[str, int]:
        if failing[0]:
            raise ConnectionError("redis is down")
        return await real_add(counts, now)

    monkeypatch.setattr(volume, "add", add)
    sync = VolumeSync([volume])

    async def run() -> list[int | None]:
        volume.count("bank")
        await sync.sync()
        assert volume.failure == "ConnectionError"
        volume.count("bank")
        await sync.sync()
        failing[0] = False
        await sync.sync()
        assert volume.failure is None
        return [volume.count("bank")]

    assert asyncio.run(run()) == [3]  # the two queries Redis missed, then this one
    assert _in_redis(prefix) == 2


def test_a_batch_redis_does_not_answer_is_given_up_and_kept(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that accepts the connection and never replies: the batch times out and its queries wait."""
    import socket

    monkeypatch.setattr(shared_volume, "SYNC_TIMEOUT", 0.2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        volume = _volume(prefix, url=f"redis://127.0.0.1:{listener.getsockname()[1]}/0")

        async def run() -> None:
            volume.count("bank")
            await VolumeSync([volume]).sync()

        asyncio.run(run())
    finally:
        listener.close()
    assert volume.failure == "TimeoutError"
    assert volume._pending == {"bank": 1} and volume._sending == {}


def test_a_total_older_than_a_slot_is_not_used(prefix: str) -> None:
    """It may count a slot that has left the window since: the caller's own count judges until the next batch."""
    volume = _volume(prefix, period=60.0)  # slots of 0.625 s

    async def run() -> list[int | None]:
        volume.count("bank")
        await volume.sync()
        fresh = volume.count("bank")
        await asyncio.sleep(60.0 / BUCKETS + 0.1)
        return [fresh, volume.count("bank")]

    assert asyncio.run(run()) == [2, None]


def test_clients_waiting_for_a_batch_are_bounded(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_volume, "MAX_CLIENTS", 3)
    volume = _volume(prefix)
    for client in ("a", "b", "c", "d", "d"):
        volume.count(client)
    assert volume._pending == {"b": 1, "c": 1, "d": 2}  # the oldest went


def test_closing_sends_what_was_counted_since_the_last_batch(prefix: str) -> None:
    volume = _volume(prefix)
    sync = VolumeSync([volume], interval=3_600.0)  # no batch would go before the close

    async def run() -> None:
        sync.keep()
        for _ in range(5):
            volume.count("bank")
        await sync.aclose()

    asyncio.run(run())
    assert _in_redis(prefix) == 5


def test_batches_go_by_themselves_on_the_running_loop(prefix: str) -> None:
    volume = _volume(prefix)
    sync = VolumeSync([volume], interval=0.01)

    async def run() -> int | None:
        sync.keep()
        volume.count("bank")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if not volume._pending:
                break
        total = volume.count("bank")
        await sync.aclose()
        return total

    assert asyncio.run(run()) == 2


def _guard(storage: str, prefix: str) -> Guard:
    return replica(prefix, storage=storage)


async def _answer(guard: Guard, client: str, i: int) -> tuple[list[str], float]:
    review = await answer(guard, client, i)
    return review.reasons, review.scores["volume_ratio"]


def _answered(guards: list[Guard], client: str, *, sync: bool = True) -> list[tuple[list[str], float]]:
    """Query ``i`` through ``guards[i]``, all on one event loop (as a server runs them), each replica sending its
    batch after every query (``sync``)."""
    async def run() -> list[tuple[list[str], float]]:
        seen = []
        for i, guard in enumerate(guards):
            seen.append(await _answer(guard, client, i))
            if sync and guard.volume_sync is not None:
                await guard.volume_sync.sync()
        return seen

    return asyncio.run(run())


def test_guards_on_one_redis_judge_the_clients_total(prefix: str) -> None:
    """Two replicas answering a client in turn: each judges the total its last batch read plus its own answer,
    so the count trails the exact one by the other's query since; each process alone would see half."""
    one, two = _guard(REDIS_URL, prefix), _guard(REDIS_URL, prefix)
    seen = _answered([one, two] * 3, "copier")
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    assert seen[4][0] == ["extraction:volume"] and seen[3][0] == []
    local = [_guard("memory://", prefix), _guard("memory://", prefix)]  # each process its own count: half as much
    assert local[0].volume_routes == {"/v1/score": None} and local[0].volume_sync is None
    assert [ratio for _, ratio in _answered(local * 3, "copier")] == pytest.approx(
        [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])


def test_with_redis_out_of_reach_the_query_is_judged_on_this_processes_count(prefix: str) -> None:
    """The answer never waits for Redis: the local count judges, and once a batch failed the record says so."""
    guard = _guard("redis://127.0.0.1:1/0", prefix)  # nothing listens there; the route has no rate limit to hit
    seen = _answered([guard] * 4, "copier")
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3])
    assert seen[0][0] == []  # no batch has failed yet
    assert all(reasons[0] == "volume.unshared: ConnectionError" for reasons, _ in seen[1:])
    assert "extraction:volume" in seen[3][0]

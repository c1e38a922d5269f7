"""The volume count replicas share through a real Redis, against the in-process count it stands in for."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from types import SimpleNamespace

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


def _failing(volume: SharedVolume, monkeypatch: pytest.MonkeyPatch, fail: Callable[[int], bool]) -> list[int]:
    """Make ``volume``'s script calls fail while ``fail(call number)``; returns the calls made so far."""
    real_add, calls = volume.add, [0]

    async def add(counts: dict[str, int], now: float | None = None) -> dict[str, int]:
        calls[0] += 1
        if fail(calls[0]):
            raise ConnectionError("redis is down")
        return await real_add(counts, now)

    monkeypatch.setattr(volume, "add", add)
    return calls


def test_a_failed_batch_waits_for_the_next_and_nothing_is_lost(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = _volume(prefix)
    _failing(volume, monkeypatch, lambda n: n <= 2)
    sync = VolumeSync([volume])

    async def run() -> list[int | None]:
        volume.count("bank")
        await sync.sync()
        assert volume.failure == "ConnectionError"
        volume.count("bank")
        await sync.sync()
        await sync.sync()
        assert volume.failure is None
        return [volume.count("bank")]

    assert asyncio.run(run()) == [3]  # the two queries Redis missed, then this one
    assert _in_redis(prefix) == 2


def test_calls_of_a_batch_that_went_through_are_not_sent_again(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of several calls failing at its second: the first call's clients are in Redis once, the rest
    wait, first in line; before, the whole batch went back and the first call's clients were added again on
    every retry."""
    monkeypatch.setattr(shared_volume, "BATCH_KEYS", 2)
    volume = _volume(prefix)
    _failing(volume, monkeypatch, lambda n: n == 2)

    async def run() -> None:
        for client in ("a", "b", "c", "d", "e"):
            volume.count(client)
        with pytest.raises(ConnectionError):
            await volume.sync()
        assert list(volume._pending) == ["c", "d", "e"] and not volume._sending
        volume.count("a")
        await volume.sync()

    asyncio.run(run())
    client = redis.Redis.from_url(REDIS_URL)
    try:
        held = {key.decode().rsplit("/", 1)[1]: sum(map(int, client.hvals(key)))
                for key in client.scan_iter(f"{prefix}*volume*")}
    finally:
        client.close()
    assert held == {"a": 2, "b": 1, "c": 1, "d": 1, "e": 1}


def test_a_backlog_goes_out_over_several_batches(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_volume, "BATCH_KEYS", 2)
    monkeypatch.setattr(shared_volume, "MAX_CALLS", 2)
    volume = _volume(prefix)

    async def run() -> list[int]:
        for i in range(9):
            volume.count(f"c{i}")
        left = []
        for _ in range(3):
            await volume.sync()
            left.append(len(volume._pending))
        return left

    assert asyncio.run(run()) == [5, 1, 0]


def test_a_count_during_a_batch_includes_the_batch(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a batch is on its way: the last total read, plus the batch, plus what was answered since; and a
    second batch does not start over the first."""
    volume = _volume(prefix)
    real_add = volume.add
    gate = asyncio.Event()

    async def slow(counts: dict[str, int], now: float | None = None) -> dict[str, int]:
        await gate.wait()
        return await real_add(counts, now)

    async def run() -> list[int | None]:
        volume.count("bank")
        await volume.sync()  # Redis 1, read
        monkeypatch.setattr(volume, "add", slow)
        volume.count("bank")
        volume.count("bank")
        first = asyncio.create_task(volume.sync())  # 2 on their way
        await asyncio.sleep(0.01)
        during = [volume.count("bank")]  # 1 read + 2 on their way + this one
        await volume.sync()  # returns at once: the first is on its way
        gate.set()
        await first
        during.append(volume.count("bank"))  # 3 read + 2 answered since
        return during

    assert asyncio.run(run()) == [4, 5]
    assert _in_redis(prefix) == 3


def test_a_batch_redis_does_not_answer_is_given_up_and_kept(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that accepts the connection and never replies: the batch times out and its queries wait."""
    import socket

    monkeypatch.setattr(shared_volume, "CALL_TIMEOUT", 0.2)
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
        await _sent(volume)
        total = volume.count("bank")
        await sync.aclose()
        return total

    assert asyncio.run(run()) == 2


def test_closing_during_a_batch_lets_it_finish_and_counts_it_once(prefix: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelling the task mid-batch could hang the shutdown for good on 3.11 (redis-py swallowed the
    cancellation) and put a batch Redis had run back in line; now the task is told to stop between batches."""
    volume = _volume(prefix)
    real_add = volume.add
    started = asyncio.Event()

    async def slow(counts: dict[str, int], now: float | None = None) -> dict[str, int]:
        started.set()
        await asyncio.sleep(0.2)
        return await real_add(counts, now)

    monkeypatch.setattr(volume, "add", slow)
    sync = VolumeSync([volume], interval=0.01)

    async def run() -> float:
        sync.keep()
        for _ in range(5):
            volume.count("bank")
        await asyncio.wait_for(started.wait(), 5)
        volume.count("bank")  # answered while the batch is on its way: goes in the last one
        began = time.monotonic()
        await sync.aclose()
        return time.monotonic() - began

    assert asyncio.run(run()) < 2.0
    assert _in_redis(prefix) == 6


async def _sent(volume: SharedVolume) -> None:
    """Until a batch sent everything counted (up to 3 s)."""
    for _ in range(300):
        if not volume._pending and not volume._sending and volume.failure is None:
            return
        await asyncio.sleep(0.01)


def test_batches_resume_after_failures(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    volume = _volume(prefix)
    calls = _failing(volume, monkeypatch, lambda n: n <= 3)
    sync = VolumeSync([volume], interval=0.01)

    async def run() -> None:
        sync.keep()
        volume.count("bank")
        await _sent(volume)
        await sync.aclose()

    asyncio.run(run())
    assert calls[0] == 4 and _in_redis(prefix) == 1


def test_the_task_follows_the_event_loop(prefix: str) -> None:
    """A test client or a server restarted in the same process runs a new loop: batches go on there."""
    volume = _volume(prefix)
    sync = VolumeSync([volume], interval=0.01)

    async def one_loop() -> None:
        sync.keep()
        volume.count("bank")
        await _sent(volume)

    asyncio.run(one_loop())
    asyncio.run(one_loop())  # the first loop and its task are gone
    assert not volume._pending
    # the new loop's first call may fail on a pooled connection of the closed loop after Redis ran it (redis-py:
    # "Event loop is closed"); its query is then sent again, erring high
    assert _in_redis(prefix) in (2, 3)


def test_slots_follow_the_wall_clock_and_a_total_from_before_the_slot_turned_is_not_used(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A total read a second before the slot turned still held the slot leaving the window: a client that sent
    40 early in the hour and 10 at its end was judged at 51 a second later, where it had sent 11 within the
    hour (a false alarm at a volume of 50 an hour, with one replica)."""
    width = 3_600.0 / BUCKETS
    clock = [T0]
    monkeypatch.setattr(shared_volume, "time", SimpleNamespace(time=lambda: clock[0], monotonic=time.monotonic))
    volume = _volume(prefix, period=3_600.0)

    async def run() -> list[int | None]:
        for _ in range(40):
            volume.count("bank")
        await volume.sync()
        clock[0] = T0 + BUCKETS * width - 1  # the last second of the window that started with the 40
        for _ in range(10):
            volume.count("bank")
        await volume.sync()  # reads 50
        seen = [volume.count("bank")]
        clock[0] = T0 + BUCKETS * width + 1  # the 40 have left the window
        seen.append(volume.count("bank"))
        await volume.sync()
        seen.append(volume.count("bank"))
        return seen

    assert asyncio.run(run()) == [51, None, 13]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        (key,) = list(client.scan_iter(f"{prefix}*volume*"))
        assert sorted(map(int, client.hkeys(key))) == [int((T0 + (BUCKETS - 1) * width) // width),
                                                       int(T0 // width) + BUCKETS]  # slots of the wall clock
    finally:
        client.close()


def test_totals_remembered_are_bounded(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_volume, "MAX_CLIENTS", 3)
    volume = _volume(prefix)

    async def run() -> list[str]:
        for client in "abcde":
            volume.count(client)
            await volume.sync()
        return list(volume._known)

    assert asyncio.run(run()) == ["c", "d", "e"]


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


def test_a_shared_total_below_this_processes_count_does_not_lower_it(prefix: str) -> None:
    """Redis lost the client's hash (a flush, a failover): the replica still judges on its own count."""
    guard = _guard(REDIS_URL, prefix)
    seen = []

    async def run() -> None:
        assert guard.volume_sync is not None
        for i in range(3):
            seen.append(await _answer(guard, "copier", i))
        await guard.volume_sync.sync()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*volume*"):
            client.delete(key)
        client.close()
        seen.append(await _answer(guard, "copier", 3))
        await guard.volume_sync.sync()  # reads 1
        seen.append(await _answer(guard, "copier", 4))  # shared 1 + 1, its own 5

    asyncio.run(run())
    assert [ratio for _, ratio in seen] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])


def test_a_query_judged_without_an_event_loop_is_counted_for_the_next_one(prefix: str) -> None:
    """A script calling the guard by hand, outside any event loop: no task can start, the count still works."""
    guard = _guard(REDIS_URL, prefix)
    route = guard.policy.routes[0]
    admission = guard.inspect(route, b'{"features": [1.0, 2.0, 3.0]}')
    guard.count_answer(route, "copier", admission)
    assert admission.sent == 1
    assert guard.volume_routes["/v1/score"]._pending == {"copier": 1}  # type: ignore[union-attr]

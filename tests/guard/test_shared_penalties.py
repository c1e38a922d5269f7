"""Penalties announced between guard replicas through a real Redis channel."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import pytest
from replica_support import REDIS_URL, answer, replica

from clearsight.guard.engine import Guard
from clearsight.guard.inputs import Rejection


def _guard(prefix: str, actions: str = "[block]", storage: str = REDIS_URL) -> Guard:
    return replica(prefix, storage=storage, actions=actions)


async def _started(*guards: Guard) -> None:
    for guard in guards:
        await guard.start()
    for guard in guards:
        assert guard.shared_penalties is not None
        await asyncio.wait_for(guard.shared_penalties.ready.wait(), 5)


async def _eventually(condition: Callable[[], object], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _kinds(guard: Guard, client: str) -> set[str]:
    penalty = guard._penalty(guard.policy.routes[0], client)
    return set() if penalty is None else penalty.kinds


def test_a_block_on_one_replica_is_refused_at_the_others_door(prefix: str) -> None:
    one, two, other = _guard(prefix), _guard(prefix), _guard(f"{prefix}-x")  # other: another deployment's prefix
    route = one.policy.routes[0]

    async def run() -> None:
        await _started(one, two, other)
        try:
            for _ in range(4):  # the 4th is past the volume of 3: blocked on the first replica
                await answer(one, "copier")
            await _eventually(lambda: _kinds(two, "copier"))
            with pytest.raises(Rejection) as refused:
                await two.admit_client(route, "copier")
            assert refused.value.status == 403 and refused.value.reason == "extraction.blocked"
            await two.admit_client(route, "partner")  # only that client
            await asyncio.sleep(0.1)
            assert not _kinds(other, "copier")  # other deployments' channels are their own
            penalty = two._penalty(route, "copier")
            assert penalty is not None and 590 < penalty.until - time.monotonic() <= 600
        finally:
            for guard in (one, two, other):
                await guard.aclose()

    asyncio.run(run())


def test_malformed_or_foreign_messages_are_ignored_without_missing_a_beat(
        prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    """One bad message used to end the subscription (any error but three was taken for Redis going away), and
    what was published while the replica listened again was lost: nested JSON, a number too large for a float."""
    import redis.asyncio as aredis

    guard = _guard(prefix, actions="[throttle, degrade]")
    good = {"origin": "elsewhere", "route": "/v1/score", "client": "c", "kinds": ["throttle"],
            "until": time.time() + 60}
    bad = [b"not json", b"[]", b"[" * 2_000 + b"]" * 2_000, b"x" * 10_000,
           '{"origin": "o", "route": "/v1/score", "client": "c", "kinds": ["throttle"], "until": 1' + "0" * 400 + "}",
           *(json.dumps({**good, **change}) for change in [
               {"kinds": ["erase-everything"]}, {"kinds": []}, {"kinds": {"throttle": 1}}, {"until": time.time() - 1},
               {"until": True}, {"until": "never"}, {"route": "/other"}, {"client": 7}, {"kinds": ["block"]}])]

    async def run() -> None:
        await _started(guard)
        assert guard.shared_penalties is not None
        channel = guard.shared_penalties.channel
        client = aredis.Redis.from_url(REDIS_URL)
        try:
            for message in bad:
                await client.publish(channel, message)
            await client.publish(channel, json.dumps(good))
            await _eventually(lambda: _kinds(guard, "c"))
            penalty = guard._penalty(guard.policy.routes[0], "c")
            assert penalty is not None and penalty.kinds == {"throttle"}
            assert 55 < penalty.until - time.monotonic() <= 60
            assert [key[1] for key in guard._penalties] == ["c"]
            # "block" is not this route's to give: only the degrade of the two is applied, the end is this policy's
            await client.publish(channel, json.dumps({**good, "kinds": ["degrade", "block"],
                                                      "until": time.time() + 3_600}))
            await _eventually(lambda: _kinds(guard, "c") == {"throttle", "degrade"})
            assert guard._penalty(guard.policy.routes[0], "c").until - time.monotonic() <= 600  # type: ignore[union-attr]
        finally:
            await client.aclose()
            await guard.aclose()

    with caplog.at_level(logging.WARNING, logger="clearsight.guard"):
        asyncio.run(run())
    assert not [r for r in caplog.records if "not listening" in r.getMessage()]
    assert sum("ignored a malformed penalty" in r.getMessage() for r in caplog.records) == 11  # 3 are foreign


def test_a_received_penalty_short_of_this_policys_still_lets_the_detector_act(prefix: str) -> None:
    """Another replica's throttle must not hide this policy's degrade: the detector still alerts, degrades the
    answer and keeps both."""
    one, two = _guard(prefix, actions="[throttle]"), _guard(prefix, actions="[throttle, degrade]")

    async def run() -> list[str]:
        await _started(one, two)
        try:
            for _ in range(4):
                await answer(one, "copier")
            await _eventually(lambda: _kinds(two, "copier") == {"throttle"})
            assert one.volume_sync is not None and two.volume_sync is not None
            await one.volume_sync.sync()
            assert (await answer(two, "copier")).action == "allow"  # its first: judged on its own count
            await two.volume_sync.sync()  # reads the shared count, past the volume
            return (await answer(two, "copier")).action  # so it fires here too
        finally:
            await one.aclose()
            await two.aclose()

    assert asyncio.run(run()) == "degrade"
    assert _kinds(two, "copier") == {"throttle", "degrade"}  # before: the throttle alone, the answer not degraded


def test_the_listener_follows_the_event_loop_and_shutdown_delivers_what_is_on_its_way(prefix: str) -> None:
    """A guard driven from a second event loop (a test client, a restarted server) listened on the first one's,
    which was gone; and penalties announced just before shutdown were cancelled unsent."""
    one, two = _guard(prefix), _guard(prefix)

    async def first() -> None:
        await _started(one, two)

    async def second() -> None:
        await one.admit_client(one.policy.routes[0], "someone")  # listening again, on this loop
        await two.admit_client(two.policy.routes[0], "someone")
        for guard in (one, two):
            assert guard.shared_penalties is not None
            await asyncio.wait_for(guard.shared_penalties.ready.wait(), 5)
        assert one.shared_penalties is not None
        one.shared_penalties.announce("/v1/score", "late", frozenset({"block"}), time.time() + 60)
        await one.aclose()  # right away: the announcement still goes out
        await _eventually(lambda: _kinds(two, "late"))
        await two.aclose()

    asyncio.run(first())
    asyncio.run(second())
    assert _kinds(two, "late") == {"block"}


def test_a_replica_that_starts_later_learns_the_penalties_still_running(prefix: str) -> None:
    """A replica an autoscaler adds after a client was blocked used to let it in: it reads what is still running."""
    import redis.asyncio as aredis

    one, late = _guard(prefix), _guard(prefix)

    async def run() -> None:
        await _started(one)
        assert one.shared_penalties is not None
        client = aredis.Redis.from_url(REDIS_URL)
        try:
            for _ in range(4):
                await answer(one, "copier")
            one.shared_penalties.announce("/v1/score", "gone", frozenset({"block"}), time.time() + 0.2)
            await asyncio.sleep(0.3)  # that one has ended by the time the late replica starts
            await client.zadd(one.shared_penalties.running, {b"[" * 3_000 + b"]" * 3_000: time.time() + 60})
            await _started(late)
            assert _kinds(late, "copier") == {"block"} and not _kinds(late, "gone")
            assert await client.zcard(one.shared_penalties.running) == 2  # the ended one left the set
        finally:
            await client.aclose()
            await one.aclose()
            await late.aclose()

    asyncio.run(run())


def test_channels_are_per_database(prefix: str) -> None:
    """Redis channels ignore the database number: without it in the name, a deployment on database 14 blocked
    clients of one on database 15 with the same prefix."""
    here, there = _guard(prefix), _guard(prefix, storage=REDIS_URL.rsplit("/", 1)[0] + "/14")
    assert here.shared_penalties is not None and there.shared_penalties is not None
    assert here.shared_penalties.channel != there.shared_penalties.channel


def test_only_penalising_policies_on_redis_listen() -> None:
    assert _guard("p", actions="[alert]").shared_penalties is None  # nothing to announce
    assert _guard("p", storage="memory://").shared_penalties is None  # one process: nobody to tell
    assert _guard("p").shared_penalties is not None


def test_a_replica_that_cannot_reach_redis_still_penalises_locally(prefix: str) -> None:
    guard = _guard(prefix, storage="redis://127.0.0.1:1/0")
    route = guard.policy.routes[0]

    async def run() -> None:
        await guard.start()
        try:
            for _ in range(4):
                await answer(guard, "copier")
            with pytest.raises(Rejection):
                await guard.admit_client(route, "copier")
        finally:
            await guard.aclose()

    asyncio.run(run())


def test_a_penalty_redis_missed_is_announced_once_it_answers(prefix: str, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """Before, a penalty whose announcement failed stayed with its replica for good; now the listener announces
    it again as soon as Redis answers it, while it is still running, and only the newest of a client's."""
    from clearsight.guard import shared_penalties

    monkeypatch.setattr(shared_penalties, "IDLE_PING_SECONDS", 0.1)  # the listener's turn comes often
    one, two = _guard(prefix), _guard(prefix)
    assert one.shared_penalties is not None
    real_send, failures = one.shared_penalties._send, [2]  # both announcements below fail

    async def send(messages: dict[str, float]) -> None:
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("Redis went away")
        await real_send(messages)

    monkeypatch.setattr(one.shared_penalties, "_send", send)
    route = one.policy.routes[0]

    async def run() -> None:
        await _started(one, two)
        try:
            one.shared_penalties.announce(route.path, "gone", frozenset({"block"}), time.time() - 1)  # ended
            for _ in range(4):
                await answer(one, "copier")  # blocked here; the announcement fails
            await _eventually(lambda: _kinds(two, "copier") == {"block"})
            assert failures == [0] and not one.shared_penalties._unsent  # the ended one was dropped, not sent
            penalty = two._penalty(route, "copier")
            assert penalty is not None and 590 < penalty.until - time.monotonic() <= 600
            assert not _kinds(two, "gone")
        finally:
            await one.aclose()
            await two.aclose()

    with caplog.at_level(logging.WARNING, logger="clearsight.guard"):
        asyncio.run(run())
    assert sum("announced again once Redis answers" in r.getMessage() for r in caplog.records) == 1


def test_penalties_waiting_to_be_announced_are_bounded_and_replaced_by_newer_ones(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsight.guard import shared_penalties

    monkeypatch.setattr(shared_penalties, "MAX_UNSENT", 2)
    guard = _guard(prefix)
    penalties = guard.shared_penalties
    assert penalties is not None
    failing = [True]
    real_send = penalties._send

    async def send(messages: dict[str, float]) -> None:
        if failing[0]:
            raise ConnectionError("Redis went away")
        await real_send(messages)

    monkeypatch.setattr(penalties, "_send", send)
    block = frozenset({"block"})

    async def announced(client: str, until: float) -> None:
        penalties.announce("/v1/score", client, block, until)
        await asyncio.gather(*penalties._sending)

    async def run() -> list[list[str]]:
        end = time.time() + 60
        seen = []
        for client in ("a", "b", "c", "b"):
            await announced(client, end)
            seen.append([key[1] for key in penalties._unsent])
        failing[0] = False
        await announced("c", end + 1)  # a newer announcement of c got through: the one Redis missed is covered
        seen.append([key[1] for key in penalties._unsent])
        await announced("b", end - 1)  # an older end covers nothing
        seen.append([key[1] for key in penalties._unsent])
        return seen

    assert asyncio.run(run()) == [["a"], ["a", "b"], ["b", "c"], ["c", "b"], ["b"], ["b"]]

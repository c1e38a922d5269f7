"""Penalties announced between guard replicas through a real Redis channel."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from replica_support import REDIS_URL, answer, replica

from clearsight.guard.engine import Guard
from clearsight.guard.inputs import Rejection


def _guard(prefix: str, actions: str = "[block]", storage: str = REDIS_URL) -> Guard:
    return replica(prefix, storage=storage, actions=actions)


async def _answer(guard: Guard, client: str) -> None:
    await answer(guard, client)


async def _started(*guards: Guard) -> None:
    for guard in guards:
        await guard.start()
    for guard in guards:
        assert guard.shared_penalties is not None
        await asyncio.wait_for(guard.shared_penalties.ready.wait(), 5)


async def _eventually(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_block_on_one_replica_is_refused_at_the_others_door() -> None:
    prefix = f"cs-test-{uuid.uuid4().hex[:8]}"
    one, two, other = _guard(prefix), _guard(prefix), _guard(f"{prefix}-x")  # other: another deployment's prefix
    route = one.policy.routes[0]

    async def run() -> None:
        await _started(one, two, other)
        try:
            for _ in range(4):  # the 4th is past the volume of 3: blocked on the first replica
                await _answer(one, "copier")
            await _eventually(lambda: two._penalty(route, "copier") is not None)
            with pytest.raises(Rejection) as refused:
                await two.admit_client(route, "copier")
            assert refused.value.status == 403 and refused.value.reason == "extraction.blocked"
            await two.admit_client(route, "partner")  # only that client
            await asyncio.sleep(0.1)
            assert other._penalty(route, "copier") is None  # other deployments' channels are their own
            penalty = two._penalty(route, "copier")
            assert penalty is not None and 590 < penalty.until - time.monotonic() <= 600
        finally:
            for guard in (one, two, other):
                await guard.aclose()

    asyncio.run(run())


def test_malformed_or_foreign_messages_are_ignored_and_the_channel_keeps_working() -> None:
    import redis.asyncio as aredis

    prefix = f"cs-test-{uuid.uuid4().hex[:8]}"
    guard = _guard(prefix, actions="[throttle, degrade]")
    route = guard.policy.routes[0]
    channel = f"{prefix}:penalties"
    good = {"origin": "elsewhere", "route": "/v1/score", "client": "c", "kinds": ["throttle"],
            "until": time.time() + 60}

    async def run() -> None:
        await _started(guard)
        client = aredis.Redis.from_url(REDIS_URL)
        try:
            for bad in [b"not json", b"[]", json.dumps({**good, "kinds": ["erase-everything"]}),
                        json.dumps({**good, "until": time.time() - 1}), json.dumps({**good, "route": "/other"}),
                        json.dumps({**good, "client": 7}), json.dumps({**good, "until": "never"}),
                        b"x" * 10_000]:
                await client.publish(channel, bad)
            await client.publish(channel, json.dumps(good))
            await _eventually(lambda: guard._penalty(route, "c") is not None)
            penalty = guard._penalty(route, "c")
            assert penalty is not None and penalty.kinds == {"throttle"}
            assert 55 < penalty.until - time.monotonic() <= 60
            assert [key[1] for key in guard._penalties] == ["c"]
            await client.publish(channel, json.dumps({**good, "kinds": ["degrade"], "until": time.time() + 3_600}))
            await _eventually(lambda: guard._penalty(route, "c").kinds == {"throttle", "degrade"})  # type: ignore[union-attr]
            assert guard._penalty(route, "c").until - time.monotonic() <= 600  # type: ignore[union-attr]
        finally:
            await client.aclose()
            await guard.aclose()

    asyncio.run(run())


def test_only_penalising_policies_on_redis_listen() -> None:
    assert _guard("p", actions="[alert]").shared_penalties is None  # nothing to announce
    assert _guard("p", storage="memory://").shared_penalties is None  # one process: nobody to tell
    assert _guard("p").shared_penalties is not None


def test_a_replica_that_cannot_reach_redis_still_penalises_locally() -> None:
    guard = _guard(f"cs-test-{uuid.uuid4().hex[:8]}", storage="redis://127.0.0.1:1/0")
    route = guard.policy.routes[0]

    async def run() -> None:
        await guard.start()
        try:
            for _ in range(4):
                await _answer(guard, "copier")
            with pytest.raises(Rejection):
                await guard.admit_client(route, "copier")
        finally:
            await guard.aclose()

    asyncio.run(run())

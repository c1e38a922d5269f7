"""Two guard replicas share one budget through a real Redis; the audit log goes to a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from limits_support import clear_of_window_edges, replay
from live_server import LEGIT, policy_text, scoring_app, serve

from clearsight.guard import ModelGuard
from clearsight.guard.audit_summary import summarise
from clearsight.guard.engine import Guard
from clearsight.guard.identity import client_id
from clearsight.guard.policy import parse_policy

REDIS_URL = os.environ.get("CLEARSIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def test_two_replicas_share_one_redis_budget(tmp_path: Path) -> None:
    prefix = f"cs-test-{uuid.uuid4().hex[:8]}"
    text = policy_text(tmp_path / "a.jsonl", limits="['5/hour']").replace(
        "max_body_bytes", f"storage: {REDIS_URL}\nmax_body_bytes")
    policy = parse_policy(text)
    apps = [scoring_app(), scoring_app()]
    guards = [ModelGuard(app, policy, guard=Guard(policy, key_prefix=prefix)) for app in apps]
    try:
        with serve(guards[0]) as one, serve(guards[1]) as two:
            clear_of_window_edges(30, 3600)
            statuses = [httpx.post(url + "/v1/score", json={"features": LEGIT},
                                   headers={"X-Partner-Key": "shared"}).status_code
                        for url in (one, two, one, two, one, two, one, two)]
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
    assert statuses == [200, 200, 200, 200, 200, 429, 429, 429]
    assert apps[0].state.calls[0] + apps[1].state.calls[0] == 5
    assert apps[0].state.calls[0] == 3 and apps[1].state.calls[0] == 2


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_two_replicas_judge_one_clients_volume_together(tmp_path: Path) -> None:
    """Behind a load balancer without sticky routing each replica saw half the client's queries and let twice the
    stated volume through unseen; on one Redis the replicas' batches add up the client's total, and the block it
    earns reaches the other replica too (before, the client went on there until caught again). Answered in turn
    with each replica's batch sent in between, the count trails the exact one by the other replica's query
    since: the query past a volume of 6 is the 7th, and it fires at the 8th."""
    prefix = f"cs-test-{uuid.uuid4().hex[:8]}"
    audits = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    texts = [policy_text(audit, extraction="{actions: [block], volume: 6/hour, signals: [volume]}").replace(
        "max_body_bytes", f"storage: {REDIS_URL}\nmax_body_bytes") for audit in audits]
    apps = [scoring_app(), scoring_app()]
    guards = [ModelGuard(app, parse_policy(text), guard=Guard(parse_policy(text), key_prefix=prefix))
              for app, text in zip(apps, texts, strict=True)]
    volumes = []
    for guard in guards:
        assert guard.guard.volume_sync is not None
        guard.guard.volume_sync.interval = 0.02
        volumes += guard.guard.volume_sync.volumes

    def ask(url: str) -> int:
        status = httpx.post(url + "/v1/score", json={"features": LEGIT},
                            headers={"X-Partner-Key": "copier"}).status_code
        _until(lambda: not any(v._pending or v._sending for v in volumes))  # both batches went
        return status

    try:
        with serve(guards[0]) as one, serve(guards[1]) as two:
            _until(lambda: all(g.guard.shared_penalties and g.guard.shared_penalties.ready.is_set() for g in guards))
            statuses = [ask(url) for url in (one, two) * 4]  # the 8th, on the second replica, is blocked
            route = guards[0].guard.policy.routes[0]
            client = client_id({"x-partner-key": "copier"}, "127.0.0.1", guards[0].policy.client)
            _until(lambda: guards[0].guard._penalty(route, client) is not None)  # announced in milliseconds
            statuses += [ask(url) for url in (one, two, one)]
    finally:
        _drop_keys(prefix)
    assert statuses == [200] * 7 + [403] * 4  # the 8th refused as it leaves, the rest at the door of either
    records = [[json.loads(line) for line in audit.read_text().splitlines()] for audit in audits]
    caught = [[r["scores"]["volume_ratio"] for r in replica if "extraction:volume" in r["reasons"]]
              for replica in records]
    assert caught == [[], pytest.approx([7 / 6])]
    assert [r["reasons"] for r in records[0][4:]] == [["extraction.blocked"]] * 2
    assert apps[0].state.calls[0] == 4  # the model behind the first replica never saw the blocked client again


def test_a_burst_beyond_the_connection_pool_waits_instead_of_failing(tmp_path: Path) -> None:
    """redis-py's default pool refuses a command past its size: 300 requests released at once got 200 answers
    of 503 (``MaxConnectionsError``). Now they wait for a connection; every one is limited and counted."""
    prefix = f"cs-test-{uuid.uuid4().hex[:8]}"
    audit = tmp_path / "a.jsonl"
    text = policy_text(audit, limits="['100000/second']", extraction="{actions: [alert], volume: 100/day, "
                                                                     "signals: [volume]}")
    policy = parse_policy(text.replace("max_body_bytes", f"storage: {REDIS_URL}\nmax_body_bytes"))

    async def burst(url: str) -> list[int]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=300), timeout=60) as http:
            answers = await asyncio.gather(*(http.post(url + "/v1/score", json={"features": LEGIT},
                                                       headers={"X-Partner-Key": "busy"}) for _ in range(300)))
        return [a.status_code for a in answers]

    import redis

    def counted() -> int:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            return sum(sum(int(v) for v in client.hvals(key)) for key in client.scan_iter(f"{prefix}*volume*"))
        finally:
            client.close()

    try:
        with serve(ModelGuard(scoring_app(), policy, guard=Guard(policy, key_prefix=prefix))) as url:
            statuses = asyncio.run(burst(url))
            _until(lambda: counted() == 300)  # the running server's batches, not only the last one at shutdown
        assert counted() == 300
    finally:
        _drop_keys(prefix)
    assert statuses == [200] * 300
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert not [r for r in records if any(x.startswith(("guard.error", "volume.unshared")) for x in r["reasons"])]
    assert sum("extraction:volume" in r["reasons"] for r in records) == 200


def test_a_redis_that_stops_answering_does_not_hold_the_answers(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that accepts connections and never replies held every answer for the client's 5 s socket
    timeout; now no answer waits for the shared count, and once a batch timed out the records say so."""
    import socket

    from clearsight.guard import shared_volume

    monkeypatch.setattr(shared_volume, "CALL_TIMEOUT", 0.3)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepted by the kernel, never read: a stalled server
    port = listener.getsockname()[1]
    audit = tmp_path / "a.jsonl"
    text = policy_text(audit, extraction="{actions: [alert], volume: 100/day, signals: [volume]}")
    policy = parse_policy(text.replace("max_body_bytes", f"storage: redis://127.0.0.1:{port}/0\nmax_body_bytes"))
    guard = Guard(policy)
    assert guard.volume_sync is not None
    (volume,) = guard.volume_sync.volumes
    took = []

    def ask(http: httpx.Client) -> None:
        started = time.monotonic()
        assert http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "k"}).status_code == 200
        took.append(time.monotonic() - started)

    try:
        with serve(ModelGuard(scoring_app(), policy, guard=guard)) as url, \
                httpx.Client(base_url=url, timeout=30) as http:
            ask(http)
            _until(lambda: volume.failure == "TimeoutError")
            ask(http)
            ask(http)
    finally:
        listener.close()
    assert max(took) < 1.0, took
    reasons = [json.loads(line)["reasons"] for line in audit.read_text().splitlines()]
    assert reasons == [[], ["volume.unshared: TimeoutError"], ["volume.unshared: TimeoutError"]]


def test_audit_log_in_postgresql_counts_every_request(tmp_path: Path) -> None:
    table = f"guard_audit_{uuid.uuid4().hex[:8]}"
    text = policy_text(tmp_path / "unused.jsonl").replace(
        f"audit: {{target: '{tmp_path / 'unused.jsonl'}'}}", "audit: {target: 'POSTGRES'}")
    policy = parse_policy(text.replace("POSTGRES", POSTGRES_URL))
    from clearsight.guard.audit import AuditLog
    from clearsight.guard.audit_sql import SqlSink

    guard = Guard(policy, audit=AuditLog(SqlSink(POSTGRES_URL, table=table), queue_size=8))
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with serve(ModelGuard(scoring_app(), policy, guard=guard)) as url, httpx.Client(base_url=url) as http:
            for i in range(40):
                http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": f"bank-{i % 4}"})
            http.post("/v1/score", content=b"nope", headers={"X-Partner-Key": "bank-9"})
        with engine.connect() as connection:
            rows = connection.execute(sa.text(f"SELECT action, count(*) FROM {table} GROUP BY action")).all()
        summary = summarise(POSTGRES_URL, table=table)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    assert dict(rows) == {"allow": 40, "reject": 1}
    assert summary.total == 41 and summary.clients == 5


def _redis_prefix() -> str:
    return f"cs-test-{uuid.uuid4().hex[:8]}"


def _drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_one_script_for_all_limits_shares_its_budget_with_limits_own_calls() -> None:
    """A replica taking a route's limits in one script and one counting with ``limits`` itself use the same keys
    and counts: alternating between them, the budget is spent exactly once."""
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    from clearsight.guard.ratelimit import RateLimiter, RedisLimits, parse_limits

    prefix = _redis_prefix()
    items = parse_limits(["5/hour", "50/day"])
    clear_of_window_edges(30, 3600, 86400)

    async def run() -> tuple[list[bool], list[int]]:
        ours = RateLimiter(REDIS_URL, key_prefix=prefix)
        assert ours._redis is not None  # the one-script path is the one under test
        theirs = SlidingWindowCounterRateLimiter(RedisStorage(REDIS_URL, key_prefix=prefix, implementation="redispy"))
        allowed = []
        for i in range(10):
            if i % 2 == 0:
                allowed.append(await ours.hit("/score", "shared", items) is None)
            else:
                allowed.append(await theirs.hit(items[0], "/score", "shared")
                               and await theirs.hit(items[1], "/score", "shared"))
        remaining = [(await theirs.get_window_stats(item, "/score", "shared")).remaining for item in items]
        assert RedisLimits.fits(ours.storage)
        return allowed, remaining

    try:
        allowed, remaining = asyncio.run(run())
    finally:
        _drop_keys(prefix)
    assert allowed == [True] * 5 + [False] * 5
    # the hourly limit refused the last five before the daily one was asked, as one call per limit would
    assert remaining == [0, 45]


def test_one_script_for_all_limits_decides_like_one_call_per_limit() -> None:
    """Random clients and random subsets of a route's limits (windows long enough that none rolls over during the
    test, so both runs see the same counters): every answer from the one script equals what ``limits`` gives
    with one call per limit, refusals and the limit that refused included."""
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    from clearsight.guard.ratelimit import RateLimiter, parse_limits

    ours_prefix, theirs_prefix = _redis_prefix(), _redis_prefix()
    items = parse_limits(["4/hour", "9/day", "6/2 hours"])
    rng = random.Random(5)
    clear_of_window_edges(60, 3600, 7200, 86400)

    async def run() -> tuple[list[float | None], list[float | None]]:
        theirs = SlidingWindowCounterRateLimiter(
            RedisStorage(REDIS_URL, key_prefix=theirs_prefix, implementation="redispy"))
        return await replay(RateLimiter(REDIS_URL, key_prefix=ours_prefix), theirs, items, rng, 120)

    try:
        got, want = asyncio.run(run())
    finally:
        _drop_keys(ours_prefix)
        _drop_keys(theirs_prefix)
    assert [g is None for g in got] == [w is None for w in want]
    # the retry time names the refusing limit: within a second of limits' own (the clock moves between calls)
    assert all(g is None or abs(g - w) <= 1 for g, w in zip(got, want, strict=True) if w is not None)
    assert sum(g is None for g in got) > 20 and sum(g is not None for g in got) > 20


def test_one_script_rolls_a_window_over_like_limits() -> None:
    """The window roll-over (the current count becomes the previous one, weighted by the time it has left) in
    both: hits at moments well away from the points where the weighted count changes."""
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    from clearsight.guard.ratelimit import RateLimiter, parse_limits

    ours_prefix, theirs_prefix = _redis_prefix(), _redis_prefix()
    items = parse_limits(["4/second"])
    # start within 20 ms of a second's edge, so every hit below falls at least 0.1 s from the moments (a
    # quarter, a half, three quarters into a window) where the weighted count of four changes
    clear_of_window_edges(0.98, 1)

    async def run() -> list[tuple[bool, bool]]:
        ours = RateLimiter(REDIS_URL, key_prefix=ours_prefix)
        theirs = SlidingWindowCounterRateLimiter(
            RedisStorage(REDIS_URL, key_prefix=theirs_prefix, implementation="redispy"))
        answers = []
        for pause, hits in ((0.0, 5), (1.1, 3), (0.5, 3)):
            await asyncio.sleep(pause)
            for _ in range(hits):
                answers.append((await ours.hit("/score", "c", items) is None,
                                await theirs.hit(items[0], "/score", "c")))
        return answers

    try:
        answers = asyncio.run(run())
    finally:
        _drop_keys(ours_prefix)
        _drop_keys(theirs_prefix)
    assert [ours for ours, _ in answers] == [theirs for _, theirs in answers]
    # the fifth is refused; a window later the old count has rolled over and weighs at most three: room again
    assert [ours for ours, _ in answers][:6] == [True] * 4 + [False] + [True]

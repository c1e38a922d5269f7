"""Two guard replicas share one budget through a real Redis; the audit log goes to a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from live_server import LEGIT, policy_text, scoring_app, serve

from clearsight.guard import ModelGuard
from clearsight.guard.audit import summarise
from clearsight.guard.engine import Guard
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

"""The audit log against a real PostgreSQL (``CLEARSIGHT_TEST_POSTGRES_URL``).

These tests never skip: without the database they fail, because an audit sink nobody ran against PostgreSQL is
not known to work. Each test uses its own table and drops it afterwards.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa
from audit_support import RECORDS, T0, day_of_traffic, make_record, run_tasks, run_threads, volume_reasons

from clearsight.guard.audit import AuditLog, AuditRecord, AuditSink, SqlSink, open_sink
from clearsight.guard.audit_summary import summarise

PG_URL = os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def table() -> Iterator[str]:
    name = f"cs_audit_test_{uuid.uuid4().hex[:12]}"
    yield name
    engine = sa.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


def query(sql: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def count_rows(table: str) -> tuple[int, int]:
    [(total, distinct)] = query(f'SELECT count(*), count(DISTINCT request_id) FROM "{table}"')
    assert isinstance(total, int) and isinstance(distinct, int)
    return total, distinct


def test_schema_index_and_types(table: str) -> None:
    sink = open_sink(PG_URL, table=table)
    assert isinstance(sink, SqlSink)
    sink.write_batch([make_record(1, action="allow"), make_record(2, action="allow")])
    sink.close()
    engine = sa.create_engine(PG_URL)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        assert set(columns) == {"id", "time", "request_id", "client", "route", "method", "status", "action",
                                "reasons", "input_fingerprint", "scores", "latency_ms"}
        assert columns["time"]["type"].timezone is True  # type: ignore[attr-defined]
        assert columns["id"]["autoincrement"] is True
        assert [ix["column_names"] for ix in inspector.get_indexes(table)] == [["client", "time"]]
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f'SELECT id, time, reasons, scores FROM "{table}" ORDER BY id')).all()
    finally:
        engine.dispose()
    assert rows[0][1] == T0 + timedelta(milliseconds=1)
    assert rows[0][1].tzinfo is not None
    assert json.loads(rows[0][2]) == ["rate:100/minute", "prada: shapiro p=0.01"]
    assert rows[0][3] == {"prada": 0.01, "entropy": 0.5}
    assert rows[1][0] > rows[0][0]


@pytest.mark.parametrize("producers", ["threads", "asyncio"])
def test_no_record_lost_under_contention(table: str, producers: str) -> None:
    log = AuditLog(SqlSink(PG_URL, table), queue_size=64, batch_size=500, flush_interval=0.01)
    (run_threads if producers == "threads" else run_tasks)(log)
    log.close()
    assert count_rows(table) == (RECORDS, RECORDS)
    [(low, high)] = query(f'SELECT min(request_id), max(request_id) FROM "{table}"')
    assert (low, high) == ("req-000000", f"req-{RECORDS - 1:06d}")
    stats = log.stats()
    assert (stats.written, stats.queued, stats.unwritten) == (RECORDS, 0, 0)


def test_database_outage_loses_nothing(table: str) -> None:
    class Outage:
        """The real PostgreSQL sink behind a connection that drops for the first few batches."""

        def __init__(self, inner: AuditSink, failures: int) -> None:
            self.inner = inner
            self.failures = failures

        def write_batch(self, records: Sequence[AuditRecord]) -> None:
            if self.failures:
                self.failures -= 1
                raise sa.exc.OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
            self.inner.write_batch(records)

        def close(self) -> None:
            self.inner.close()

    log = AuditLog(Outage(SqlSink(PG_URL, table), failures=4), queue_size=16, batch_size=50, retry_backoff=0.001,
                   max_backoff=0.002)
    for i in range(2_000):
        log.submit(make_record(i))
    log.close()
    assert count_rows(table) == (2_000, 2_000)
    assert log.stats().failed == 4


def test_strings_postgres_cannot_store_do_not_stall_the_log(table: str) -> None:
    odd = AuditRecord(T0, "id-\x00-\udcff", "ip:\x00", "/v1/score", "POST", 200, "allow", ("nul \x00 here",), None,
                      {"nan": math.nan, "inf": math.inf, "ok": 0.5}, 1.0)
    log = AuditLog(SqlSink(PG_URL, table), close_retries=0)
    log.submit(odd)
    log.submit(make_record(1))
    log.close()  # would raise AuditFlushError if PostgreSQL had rejected the batch
    rows = query(f'SELECT request_id, client, scores FROM "{table}" ORDER BY id')
    assert rows[0][0] == "id-\ufffd-?"
    assert rows[0][1] == "ip:\ufffd"
    assert rows[0][2] == {"nan": None, "inf": None, "ok": 0.5}
    assert len(rows) == 2


def test_summarise_a_postgres_table(table: str) -> None:
    sink = SqlSink(PG_URL, table)
    records = [make_record(i, client="key:aaaa", action="block") for i in range(4)]
    records += [make_record(10 + i, client="key:bbbb", action="alert") for i in range(2)]
    records += [make_record(20 + i, client=f"ip:10.0.0.{i}", action="allow") for i in range(3)]
    sink.write_batch(records)
    sink.close()
    summary = summarise(PG_URL, table=table)
    assert summary.total == 9
    assert summary.actions == {"allow": 3, "block": 4, "alert": 2}
    assert summary.clients == 5
    assert summary.first == T0
    assert summary.last == T0 + timedelta(milliseconds=22)
    assert [(t.client, t.blocks, t.alerts) for t in summary.top_clients] == [("key:aaaa", 4, 0), ("key:bbbb", 0, 2)]
    assert table in summary.source
    assert summary.unshared == 0


def test_summarise_counts_answers_judged_without_the_shared_volume_in_postgres(table: str) -> None:
    sink = SqlSink(PG_URL, table)
    sink.write_batch(volume_reasons())
    sink.close()
    assert summarise(PG_URL, table=table).unshared == 2


def test_the_busiest_client_day_from_a_postgres_table(table: str) -> None:
    sink = SqlSink(PG_URL, table)
    sink.write_batch(day_of_traffic())
    sink.close()
    busiest = summarise(PG_URL, table=table).busiest
    assert [(b.route, b.client, b.queries, b.at) for b in busiest] == [
        ("/v1/explain", "key:other", 3, T0 + timedelta(hours=2)),
        ("/v1/score", "key:busy", 48, T0 + timedelta(hours=24.75))]

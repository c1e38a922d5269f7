"""The guard's audit log: records survive concurrency, back-pressure, failing sinks and shutdown.

Every test asserts on counts and bounds, never on how long something took; waits on conditions have generous
deadlines only so that a bug fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from audit_support import RECORDS, T0, make_record, run_tasks, run_threads
from hypothesis import example, given
from hypothesis import strategies as st

from clearsight.core.errors import InputError
from clearsight.guard.audit import (
    AuditClosedError,
    AuditFlushError,
    AuditLog,
    AuditQueueFullError,
    AuditRecord,
    AuditSink,
    JsonlSink,
    SqlSink,
    open_sink,
)
from clearsight.guard.audit_summary import summarise


def wait_for(condition: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    """Poll until ``condition`` holds; the deadline only turns a hang into a failure."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def jsonl_ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["request_id"] for line in handle]


def sqlite_ids(url: str, table: str = "clearsight_guard_audit") -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.text(f"SELECT request_id FROM {table}"))]
    finally:
        engine.dispose()


class GatedSink:
    """Blocks inside ``write_batch`` until the test opens the gate, to hold the writer at a known point."""

    def __init__(self, inner: AuditSink) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        self.entered.set()
        if not self.gate.wait(60):
            raise AssertionError("gate never opened")
        self.inner.write_batch(records)

    def close(self) -> None:
        self.inner.close()


class FlakySink:
    """Fails the first ``failures`` batches, then delegates."""

    def __init__(self, inner: AuditSink, failures: int) -> None:
        self.inner = inner
        self.remaining = failures
        self.calls = 0

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        self.calls += 1
        if self.remaining > 0:
            self.remaining -= 1
            raise ConnectionError("database went away")
        self.inner.write_batch(records)

    def close(self) -> None:
        self.inner.close()


class BrokenSink:
    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        self.calls += 1
        raise OSError("disk on fire")

    def close(self) -> None:
        self.closed = True


class ListSink:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.closed = 0

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        self.closed += 1


# -- records ---------------------------------------------------------------------------------------------------


def test_record_round_trips_through_json() -> None:
    record = make_record(7)
    data = record.to_json()
    assert data["time"] == "2026-11-26T12:00:00.007000+00:00"
    assert json.loads(json.dumps(data)) == data
    assert AuditRecord.from_json(data) == record


_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(['"', "\\", "\n", "\x00", "\u2028", "é", "\U0001f600"]),
                max_size=12)


def test_a_time_with_no_utc_equivalent_is_refused_when_the_record_is_built() -> None:
    """Found by the property test below: 0001-01-01 at +05:30 is before year 1 in UTC, and every writer stores UTC,
    so the record could be queued but never written."""
    with pytest.raises(ValueError, match="no UTC equivalent"):
        AuditRecord(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))), "r", "c", "/", "GET", 200,
                    "allow", (), None, {}, 0.0)


@given(
    when=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])),
    texts=st.lists(_TEXT, min_size=5, max_size=5),
    status=st.integers(-1000, 1000),
    reasons=st.lists(_TEXT, max_size=3),
    fingerprint=st.none() | _TEXT,
    scores=st.dictionaries(_TEXT, st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5), max_size=4),
    latency=st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 10),
)
@example(when=T0, texts=["r", "c", "/", "GET", "allow"], status=200, reasons=[], fingerprint=None,
         scores={"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "int": 1}, latency=0)
def test_the_json_line_is_json_dumps_of_the_dict(when: datetime, texts: list[str], status: int,
                                                  reasons: list[str], fingerprint: str | None,
                                                  scores: dict[str, float], latency: float) -> None:
    record = AuditRecord(when, texts[0], texts[1], texts[2], texts[3], status, texts[4], tuple(reasons), fingerprint,
                         scores, latency)
    expected = json.dumps(record.to_json(), separators=(",", ":"))
    # the direct way writes exactly that text
    assert record._direct_json_line(when.astimezone(UTC)) == expected
    # the line written (through orjson when it can) is ASCII and the same JSON values, number types included
    line = record.to_json_line()
    assert line.isascii()
    assert _typed(json.loads(line)) == _typed(json.loads(expected))


def _typed(value: object) -> object:
    """A JSON value with each number's type beside it, so 1 and 1.0 compare unequal."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def test_record_rejects_naive_time_and_copies_mutable_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditRecord(datetime(2026, 1, 1), "r", "c", "/", "GET", 200, "allow", (), None, {}, 1.0)
    with pytest.raises(ValueError, match="finite"):
        AuditRecord(T0, "r", "c", "/", "GET", 200, "allow", (), None, {}, math.nan)
    scores = {"a": 0.1}
    reasons = ["x"]
    record = AuditRecord(T0, "r", "c", "/", "GET", 200, "allow", reasons, None, scores, 1.0)
    scores["a"] = 0.9
    reasons.append("y")
    assert record.scores == {"a": 0.1} and record.reasons == ("x",)
    with pytest.raises(AttributeError):
        record.action = "block"  # type: ignore[misc]  # evidence does not change once recorded
    keyword = AuditRecord(time=T0, request_id="r", client="c", route="/", method="GET", status=200, action="allow",
                          reasons=("x",), input_fingerprint=None, scores={"a": 0.1}, latency_ms=1.0)
    assert keyword == record


def test_non_finite_scores_become_null_in_json() -> None:
    record = AuditRecord(T0, "r", "c", "/", "GET", 200, "allow", (), None, {"bad": math.nan, "ok": 0.5}, 1.0)
    text = json.dumps(record.to_json(), allow_nan=False)  # would raise on NaN
    assert json.loads(text)["scores"] == {"bad": None, "ok": 0.5}


# -- sinks -----------------------------------------------------------------------------------------------------


def test_jsonl_sink_creates_folders_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "audit.jsonl"
    sink = JsonlSink(path)
    sink.write_batch([make_record(1), make_record(2)])
    sink.close()
    sink.close()  # idempotent
    again = JsonlSink(path, fsync_each_batch=True)
    again.write_batch([make_record(3)])
    again.close()
    assert jsonl_ids(path) == ["req-000001", "req-000002", "req-000003"]


def test_jsonl_sink_refuses_a_directory_at_construction(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory") as info:
        JsonlSink(tmp_path)
    assert info.value.path == str(tmp_path)


def test_jsonl_sink_refuses_an_unwritable_path_at_construction(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(InputError, match="cannot open the audit log") as info:
        JsonlSink(blocker / "audit.jsonl")
    assert info.value.hint


def test_jsonl_sink_escapes_strings_that_cannot_be_encoded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonlSink(path)
    odd = AuditRecord(T0, "id-\x00-\udcff-é", "ip:1", "/", "GET", 200, "allow", ("ünïcode",), None, {}, 1.0)
    sink.write_batch([odd])
    sink.close()
    assert AuditRecord.from_json(json.loads(path.read_text(encoding="ascii"))).request_id == "id-\x00-\udcff-é"


def test_jsonl_sink_leaves_no_partial_batch_after_a_failed_write(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonlSink(path, fsync_each_batch=True)
    sink.write_batch([make_record(1)])
    real_fsync = os.fsync
    failures = iter([True])

    def fsync(fd: int) -> None:
        if next(failures, False):
            raise OSError(5, "simulated I/O error")  # after the bytes went out: the batch must be rolled back
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="simulated"):
        sink.write_batch([make_record(2), make_record(3)])
    sink.write_batch([make_record(2), make_record(3)])  # the writer's retry of the same batch
    sink.close()
    assert jsonl_ids(path) == ["req-000001", "req-000002", "req-000003"]


def test_sqlite_sink_schema_index_and_timezone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'audit.db'}"
    sink = SqlSink(url, table="audit_t")
    sink.write_batch([make_record(1), make_record(2)])
    sink.close()
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("audit_t")}
        assert columns == {"id", "time", "request_id", "client", "route", "method", "status", "action", "reasons",
                           "input_fingerprint", "scores", "latency_ms"}
        assert [ix["column_names"] for ix in inspector.get_indexes("audit_t")] == [["client", "time"]]
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT request_id, reasons, scores FROM audit_t ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [r[0] for r in rows] == ["req-000001", "req-000002"]
    assert json.loads(rows[0][1]) == ["rate:100/minute", "prada: shapiro p=0.01"]
    assert json.loads(rows[0][2]) == {"prada": 0.01, "entropy": 0.5}
    summary = summarise(url, table="audit_t")
    assert summary.first == T0 + timedelta(milliseconds=1)
    assert summary.first is not None and summary.first.tzinfo is not None


def test_sql_sink_refuses_a_table_of_another_shape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE clearsight_guard_audit (id INTEGER PRIMARY KEY, note TEXT)"))
    engine.dispose()
    with pytest.raises(InputError, match="lacks audit columns"):
        SqlSink(url)


@pytest.mark.parametrize("target", ["sqlite://", "sqlite:///:memory:", "nosuchdb://x/y", "postgresql+psycopg://"
                                    "postgres@127.0.0.1:1/none", "audit.txt", "jsonl:", "clearsight"])
def test_open_sink_rejects_unusable_targets(target: str) -> None:
    with pytest.raises(InputError) as info:
        open_sink(target)
    assert info.value.diagnostic()


def test_open_sink_picks_the_sink_by_target(tmp_path: Path) -> None:
    chosen = [open_sink(f"jsonl:{tmp_path / 'a.log'}"), open_sink(str(tmp_path / "b.jsonl")),
              open_sink(f"sqlite:///{tmp_path / 'c.db'}")]
    try:
        assert [type(s) for s in chosen] == [JsonlSink, JsonlSink, SqlSink]
        assert isinstance(chosen[0], AuditSink)
    finally:
        for sink in chosen:
            sink.close()


def test_unknown_target_error_has_a_hint() -> None:
    with pytest.raises(InputError) as info:
        open_sink("audit.txt")
    assert "jsonl:PATH" in (info.value.hint or "")


# -- no record lost --------------------------------------------------------------------------------------------

class BoundCheckingSink:
    """Checks, at every batch, that the queue respects its bound and producers cannot run ahead of the writer."""

    def __init__(self, inner: AuditSink, bound: int, batch_size: int) -> None:
        self.inner = inner
        self.bound = bound
        self.batch_size = batch_size
        self.log: AuditLog | None = None
        self.max_depth = 0
        self.max_batch = 0

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        assert self.log is not None
        depth = self.log.depth()
        self.max_depth = max(self.max_depth, depth)
        self.max_batch = max(self.max_batch, len(records))
        assert depth <= self.bound
        assert len(records) <= self.batch_size
        self.inner.write_batch(records)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("producers", ["threads", "asyncio"])
@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_no_record_lost_under_contention(tmp_path: Path, kind: str, producers: str) -> None:
    target = str(tmp_path / "audit.jsonl") if kind == "jsonl" else f"sqlite:///{tmp_path / 'audit.db'}"
    sink = BoundCheckingSink(open_sink(target), bound=64, batch_size=500)
    log = AuditLog(sink, queue_size=64, batch_size=500, flush_interval=0.01)
    sink.log = log
    (run_threads if producers == "threads" else run_tasks)(log)
    log.close()
    ids = jsonl_ids(tmp_path / "audit.jsonl") if kind == "jsonl" else sqlite_ids(target)
    assert len(ids) == RECORDS
    assert set(ids) == {f"req-{i:06d}" for i in range(RECORDS)}
    stats = log.stats()
    assert (stats.written, stats.queued, stats.failed, stats.unwritten) == (RECORDS, 0, 0, 0)
    assert sink.max_depth <= 64
    assert summarise(target).total == RECORDS


def test_back_pressure_blocks_sync_producers_at_the_bound(tmp_path: Path) -> None:
    sink = GatedSink(ListSink())
    log = AuditLog(sink, queue_size=8, batch_size=1)
    returned = 0

    def produce() -> None:
        nonlocal returned
        for i in range(30):
            log.submit(make_record(i))
            returned += 1

    producer = threading.Thread(target=produce)
    producer.start()
    # The writer holds one record inside the gated sink; the queue holds eight; the producer waits on the tenth.
    wait_for(lambda: sink.entered.is_set() and returned == 9, "the queue to fill")
    assert log.depth() == 8
    assert log.stats().queued == 9
    assert producer.is_alive()
    with pytest.raises(AuditQueueFullError):
        log.submit(make_record(999), timeout=0.01)
    assert returned == 9  # still held back
    sink.gate.set()
    producer.join()
    log.close()
    assert [r.request_id for r in sink.inner.records] == [f"req-{i:06d}" for i in range(30)]  # type: ignore[attr-defined]


def test_back_pressure_waits_without_blocking_the_event_loop() -> None:
    sink = GatedSink(ListSink())
    log = AuditLog(sink, queue_size=8, batch_size=1)

    async def main() -> None:
        returned = 0

        async def produce() -> None:
            nonlocal returned
            for i in range(30):
                await log.asubmit(make_record(i))
                returned += 1

        task = asyncio.create_task(produce())
        end = time.monotonic() + 30
        # This coroutine keeps running while the producer waits: the loop is not blocked.
        while not (sink.entered.is_set() and returned == 9):
            assert time.monotonic() < end, "the queue never filled"
            await asyncio.sleep(0.001)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        assert returned == 9
        assert log.depth() == 8
        sink.gate.set()
        await task
        await log.aclose()

    asyncio.run(main())
    assert len(sink.inner.records) == 30  # type: ignore[attr-defined]


def test_slow_sink_holds_producers_back(tmp_path: Path) -> None:
    written = 0
    accepted = 0
    lock = threading.Lock()
    worst_backlog = 0

    class SlowSink(ListSink):
        def write_batch(self, records: Sequence[AuditRecord]) -> None:
            nonlocal written, worst_backlog
            with lock:
                # Records accepted but not yet written: at most the queue plus this batch.
                worst_backlog = max(worst_backlog, accepted - written)
            time.sleep(0.002)
            super().write_batch(records)
            with lock:
                written += len(records)

    sink = SlowSink()
    log = AuditLog(sink, queue_size=16, batch_size=4, flush_interval=0.01)

    def produce(k: int) -> None:
        nonlocal accepted
        for j in range(250):
            log.submit(make_record(k * 250 + j))
            with lock:
                accepted += 1

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert len(sink.records) == 2000
    assert len({r.request_id for r in sink.records}) == 2000
    assert worst_backlog <= 16 + 4
    assert worst_backlog >= 16  # the producers did reach the bound, so they were held back by it


def test_failing_sink_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = FlakySink(JsonlSink(path), failures=5)
    log = AuditLog(sink, queue_size=32, batch_size=50, retry_backoff=0.001, max_backoff=0.005)
    for i in range(1000):
        log.submit(make_record(i))
    log.close()
    ids = jsonl_ids(path)
    assert sorted(ids) == [f"req-{i:06d}" for i in range(1000)]
    assert log.stats().failed == 5
    assert log.stats().written == 1000


def test_failing_sink_holds_records_until_it_recovers() -> None:
    gate = threading.Event()
    calls = 0

    class DownUntilGate(ListSink):
        def write_batch(self, records: Sequence[AuditRecord]) -> None:
            nonlocal calls
            calls += 1
            if not gate.is_set():
                raise ConnectionError("down")
            super().write_batch(records)

    sink = DownUntilGate()
    log = AuditLog(sink, queue_size=16, batch_size=4, retry_backoff=0.001, max_backoff=0.002)
    for i in range(10):
        log.submit(make_record(i))
    wait_for(lambda: calls >= 20, "many failed attempts")  # far beyond the quick retries: still holding on
    assert log.stats().written == 0
    assert log.stats().queued == 10
    gate.set()
    log.close()
    assert len(sink.records) == 10


def test_close_raises_with_the_records_a_dead_sink_could_not_take() -> None:
    sink = BrokenSink()
    log = AuditLog(sink, queue_size=100, batch_size=4, retry_backoff=0.001, max_backoff=0.001, close_retries=2)
    for i in range(10):
        log.submit(make_record(i))
    with pytest.raises(AuditFlushError) as info:
        log.close()
    assert sorted(r.request_id for r in info.value.records) == [f"req-{i:06d}" for i in range(10)]
    assert log.stats().unwritten == 10
    assert sink.closed
    log.close()  # idempotent: the error is reported once


def test_close_with_timeout_reports_what_a_stuck_sink_holds() -> None:
    sink = GatedSink(ListSink())
    log = AuditLog(sink, queue_size=100, batch_size=5)
    for i in range(12):
        log.submit(make_record(i))
    wait_for(sink.entered.is_set, "the writer to enter the sink")
    try:
        with pytest.raises(AuditFlushError) as info:
            log.close(timeout=0.01)
        assert len(info.value.records) == 12
    finally:
        sink.gate.set()


def test_close_flushes_what_is_queued() -> None:
    sink = ListSink()
    log = AuditLog(sink, queue_size=1000, batch_size=10_000, flush_interval=60.0)
    for i in range(300):
        log.submit(make_record(i))
    log.close()
    assert len(sink.records) == 300
    assert sink.closed == 1
    log.close()
    assert sink.closed == 1


def test_submit_after_close_is_an_error() -> None:
    log = AuditLog(ListSink())
    log.close()
    assert log.closed
    with pytest.raises(AuditClosedError, match="closed"):
        log.submit(make_record(1))
    with pytest.raises(AuditClosedError):
        asyncio.run(log.asubmit(make_record(1)))


def test_blocked_submitters_are_written_when_close_starts() -> None:
    sink = GatedSink(ListSink())
    log = AuditLog(sink, queue_size=2, batch_size=1)
    producers = [threading.Thread(target=log.submit, args=(make_record(i),)) for i in range(6)]
    for thread in producers:
        thread.start()
    # One record in the sink, two queued, three submitters blocked inside submit() (the log's own count).
    wait_for(lambda: sink.entered.is_set() and log.depth() == 2 and log._inflight == 3, "three blocked submitters")
    closer = threading.Thread(target=log.close)
    closer.start()
    sink.gate.set()
    closer.join()
    for thread in producers:
        thread.join()
    assert len(sink.inner.records) == 6  # type: ignore[attr-defined]


def test_context_manager_closes() -> None:
    sink = ListSink()
    with AuditLog(sink) as log:
        log.submit(make_record(1))
    assert len(sink.records) == 1
    assert sink.closed == 1


def test_opt_in_atexit_flushes_a_log_the_owner_forgot(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    script = textwrap.dedent(f"""
        import datetime as dt
        from clearsight.guard.audit import AuditLog, AuditRecord, JsonlSink
        log = AuditLog(JsonlSink({str(path)!r}), queue_size=8, flush_interval=60.0, close_at_exit=True)
        for i in range(500):
            log.submit(AuditRecord(dt.datetime.now(dt.UTC), f"r{{i}}", "ip:1", "/", "GET", 200, "allow", (), None,
                                   {{}}, 0.1))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(path.read_text().splitlines()) == 500


def test_several_processes_can_share_one_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    script = textwrap.dedent(f"""
        import datetime as dt, sys
        from clearsight.guard.audit import AuditLog, AuditRecord, JsonlSink
        worker = sys.argv[1]
        with AuditLog(JsonlSink({str(path)!r}), queue_size=16, batch_size=64) as log:
            for i in range(2000):
                log.submit(AuditRecord(dt.datetime.now(dt.UTC), f"{{worker}}-{{i}}", "ip:1", "/", "GET", 200,
                                       "allow", ("x" * 200,), None, {{}}, 0.1))
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script, str(k)]) for k in range(4)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
    ids = jsonl_ids(path)  # every line parses: no two batches interleaved
    assert len(ids) == len(set(ids)) == 8000


def test_a_typical_record_is_written_by_orjson_and_a_non_ascii_one_the_direct_way() -> None:
    from clearsight.guard import json_codec

    if json_codec.orjson is None:
        pytest.skip("orjson is not installed")
    record = AuditRecord(T0, "r", "c", "/", "POST", 200, "allow", (), "ab", {"prada": 1e-05}, 1e-05)
    assert '"latency_ms":0.00001' in record.to_json_line()  # orjson's spelling; json writes 1e-05
    accented = AuditRecord(T0, "r", "clïent", "/", "POST", 200, "allow", (), None, {"prada": 1e-05}, 1e-05)
    assert '"client":"cl\\u00efent"' in accented.to_json_line() and '"latency_ms":1e-05' in accented.to_json_line()


def test_the_record_queue_keeps_its_bound_order_and_timeouts_under_contention() -> None:
    """The audit log's own queue (a deque, not queue.Queue): eight threads put 2,000 records through a queue
    of 16 that a slow consumer drains; it never holds more than 16, each producer's records come out in order,
    none is lost, and a put that finds no room within its timeout says so."""
    import queue as stdlib_queue
    import threading
    import time

    from clearsight.guard.audit import _RecordQueue

    bound, producers, each = 16, 8, 250
    records = _RecordQueue(bound)
    seen: list[AuditRecord] = []
    largest = 0
    done = threading.Event()

    def consume() -> None:
        nonlocal largest
        while not done.is_set() or not records.empty():
            largest = max(largest, records.qsize())
            try:
                seen.append(records.get_nowait())
            except stdlib_queue.Empty:
                time.sleep(0.0005)

    def produce(p: int) -> None:
        for i in range(each):
            made = make_record(i)._replace(request_id=f"{p}-{i}")
            if i % 2:
                records.put(made)
            else:
                while True:
                    try:
                        records.put_nowait(made)
                        break
                    except stdlib_queue.Full:
                        time.sleep(0.0001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    consumer.join()
    assert len(seen) == producers * each and largest <= bound
    for p in range(producers):
        order = [int(r.request_id.split("-")[1]) for r in seen if r.request_id.startswith(f"{p}-")]
        assert order == list(range(each))
    full = _RecordQueue(1)
    full.put(make_record(1))
    started = time.monotonic()
    with pytest.raises(stdlib_queue.Full):
        full.put(make_record(2), timeout=0.05)
    assert time.monotonic() - started >= 0.05
    with pytest.raises(stdlib_queue.Full):
        full.put_nowait(make_record(3))
    assert full.get_nowait().request_id == make_record(1).request_id
    with pytest.raises(stdlib_queue.Empty):
        full.get(timeout=0.01)


def test_replace_and_make_go_through_the_records_checks() -> None:
    record = make_record(1)
    assert record._replace(action="block").action == "block"
    with pytest.raises(ValueError, match="finite"):
        record._replace(latency_ms=math.nan)  # a line audit-summary would later refuse to read
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditRecord._make([datetime(2026, 1, 1), *record[1:]])
    assert AuditRecord._make(record) == record


def test_a_negative_submit_timeout_is_refused_as_queue_queue_refuses_it() -> None:
    log = AuditLog(ListSink(), queue_size=4)
    try:
        with pytest.raises(ValueError, match="non-negative"):
            log.submit(make_record(1), timeout=-1)
    finally:
        log.close()


def test_the_guards_own_record_still_refuses_a_latency_that_is_not_finite() -> None:
    from datetime import UTC, datetime

    from clearsight.guard.audit import AuditRecord

    with pytest.raises(ValueError, match="finite"):
        AuditRecord.of_guard(datetime.now(UTC), "r", "c", "/v1", "POST", 200, "allow", [], None, {}, float("nan"))
    record = AuditRecord.of_guard(datetime.now(UTC), "r", "c", "/v1", "POST", 200, "allow", ["x"], None, {}, 1.5)
    assert record == AuditRecord(record.time, "r", "c", "/v1", "POST", 200, "allow", ("x",), None, {}, 1.5)

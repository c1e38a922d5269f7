"""The guard's audit trail: one record per decision, written off the request path, never silently lost.

Requests must not wait for disk or a database, yet an audit log that drops records under load is worthless as
evidence. :class:`AuditLog` resolves that with a bounded queue and one writer thread: callers only pay for a
queue put, and when the sink falls behind the bounded queue pushes back on the callers (``submit`` blocks,
``asubmit`` yields to the event loop) instead of growing without limit or discarding records. A sink that fails
is retried with backoff while the batch stays in memory; only ``close`` gives up, and it does so loudly by raising
:class:`AuditFlushError` carrying the records it could not write.

Nothing here registers global state at import time; the owner (the guard's lifespan or the proxy) closes the log.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import math
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote  # C: a str as a quoted ASCII JSON string
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, runtime_checkable

from clearsight.core.errors import ClearsightError, InputError
from clearsight.guard.audit_sinks import DEFAULT_TABLE, JsonlSink, check_table_name
from clearsight.guard.json_codec import orjson

if TYPE_CHECKING:
    from clearsight.guard.audit_sql import SqlSink
    from clearsight.guard.extraction.volume import VolumeTracker

__all__ = [
    "DEFAULT_TABLE",
    "AuditClosedError",
    "AuditFlushError",
    "AuditLog",
    "AuditQueueFullError",
    "AuditRecord",
    "AuditSink",
    "AuditStats",
    "AuditSummary",
    "ClientTally",
    "JsonlSink",
    "RoutePeak",
    "SqlSink",
    "check_target",
    "open_sink",
    "summarise",
]

log = logging.getLogger("clearsight.guard.audit")


def __getattr__(name: str) -> Any:
    """``SqlSink`` stays importable from here without importing SQLAlchemy for every guard that writes JSONL."""
    if name == "SqlSink":
        from clearsight.guard.audit_sql import SqlSink

        return SqlSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_POLL = 0.05  # longest the writer waits on the queue before looking at the stop flag again

_TARGET_HINT = "use jsonl:PATH, a path ending in .jsonl, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


class _AuditFields(NamedTuple):
    time: datetime
    request_id: str
    client: str
    route: str
    method: str
    status: int
    action: str
    reasons: tuple[str, ...]
    input_fingerprint: str | None
    scores: Mapping[str, float]
    latency_ms: float


class AuditRecord(_AuditFields):
    """One guard decision. Holds a fingerprint of the model input, never the input: the log must not leak data.

    A named tuple, as immutable as the frozen dataclass it was and built in a third of the instructions (a
    frozen dataclass sets each field through ``object.__setattr__``, ~1,500 instructions a field); one is
    built for every guarded request. ``_replace`` and ``_make`` go through the same checks as the constructor.
    Unlike the dataclass it compares equal to a plain tuple of the same values, and ``dataclasses.replace``
    does not apply to it.
    """

    __slots__ = ()

    def __new__(cls, time: datetime, request_id: str, client: str, route: str, method: str, status: int,
                action: str, reasons: Sequence[str], input_fingerprint: str | None, scores: Mapping[str, float],
                latency_ms: float) -> AuditRecord:
        if time.tzinfo is None or time.utcoffset() is None:
            raise ValueError("AuditRecord.time must be timezone-aware (UTC); naive times are ambiguous evidence")
        try:
            time.astimezone(UTC)  # every writer stores UTC: a time that has none could never be written
        except OverflowError:
            raise ValueError(f"AuditRecord.time {time.isoformat()} has no UTC equivalent (before year 1 or "
                             "after 9999)") from None
        return cls.of_guard(time, request_id, client, route, method, status, action, reasons, input_fingerprint,
                            scores, latency_ms)

    @classmethod
    def of_guard(cls, time: datetime, request_id: str, client: str, route: str, method: str, status: int,
                 action: str, reasons: Sequence[str], input_fingerprint: str | None, scores: Mapping[str, float],
                 latency_ms: float) -> AuditRecord:
        """The guard's own record of a request, built on every request: its time is always ``datetime.now(UTC)``,
        so the time zone is not checked; the latency still is (``Guard.record`` is public), and the copies are
        still made."""
        if not math.isfinite(latency_ms):
            raise ValueError("AuditRecord.latency_ms must be a finite number")
        # Copies, so a caller reusing its list/dict for the next request cannot change a record already queued.
        return tuple.__new__(cls, (time, request_id, client, route, method, status, action, tuple(reasons),
                                   input_fingerprint, dict(scores), latency_ms))

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> AuditRecord:  # type: ignore[override]  # typeshed's generic self
        return cls(*iterable)  # through the checks, unlike the named tuple's own

    def _replace(self, **changes: Any) -> AuditRecord:
        return type(self)(**{**self._asdict(), **changes})  # through the checks, unlike the named tuple's own

    def to_json(self) -> dict[str, object]:
        when = self.time if self.time.tzinfo is UTC else self.time.astimezone(UTC)
        return {
            "time": when.isoformat(),
            "request_id": self.request_id,
            "client": self.client,
            "route": self.route,
            "method": self.method,
            "status": self.status,
            "action": self.action,
            "reasons": list(self.reasons),
            "input_fingerprint": self.input_fingerprint,
            # JSON has no NaN/Infinity (PostgreSQL and jq reject them), so a broken detector's score becomes null.
            "scores": {k: _json_score(v) for k, v in self.scores.items()},
            "latency_ms": float(self.latency_ms),
        }

    def to_json_line(self) -> str:
        """``json.dumps(self.to_json(), separators=(",", ":"))`` as JSON values, ASCII only, built directly.

        The audit writer thread serialises every record while holding the GIL, so its cost comes out of the
        request path. orjson writes the line in a third of the time the direct f-string takes (numbers may be
        spelt differently, ``1e-05`` as ``0.00001``, and integer scores as integers, for the same values). Text
        it would write as UTF-8, or values it does not take (a lone surrogate, a float subclass, a non-string
        key), go the direct way, which escapes everything to ASCII. Property tests check both against
        ``json.dumps``.
        """
        when = self.time if self.time.tzinfo is UTC else self.time.astimezone(UTC)
        if orjson is not None:
            try:
                line = orjson.dumps({
                    "time": when, "request_id": self.request_id, "client": self.client, "route": self.route,
                    "method": self.method, "status": self.status, "action": self.action, "reasons": self.reasons,
                    "input_fingerprint": self.input_fingerprint, "scores": self.scores,  # NaN and inf as null
                    "latency_ms": self.latency_ms,
                })
            except TypeError:
                pass
            else:
                if line.isascii() and type(self.status) is int and type(self.latency_ms) is float and (
                        not self.scores or all(type(v) is float for v in self.scores.values())):
                    return line.decode("ascii")
        return self._direct_json_line(when)

    def _direct_json_line(self, when: datetime) -> str:
        fingerprint = "null" if self.input_fingerprint is None else _quote(self.input_fingerprint)
        scores = ",".join(f"{_quote(str(k))}:{_json_number(v)}" for k, v in self.scores.items())
        return (f'{{"time":"{when.isoformat()}","request_id":{_quote(self.request_id)},'
                f'"client":{_quote(self.client)},"route":{_quote(self.route)},"method":{_quote(self.method)},'
                f'"status":{int(self.status)!r},"action":{_quote(self.action)},'
                f'"reasons":[{",".join(map(_quote, self.reasons))}],"input_fingerprint":{fingerprint},'
                f'"scores":{{{scores}}},"latency_ms":{float(self.latency_ms)!r}}}')

    @classmethod
    def from_json(cls, data: object) -> AuditRecord:
        """Strict inverse of :meth:`to_json`; raises ``ValueError`` naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")

        def text(name: str, *, optional: bool = False) -> str | None:
            value = data.get(name)
            if value is None and optional:
                return None
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected a string")
            return value

        def number(name: str) -> float:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name}: expected a number")
            return float(value)

        raw_time = text("time")
        assert raw_time is not None
        try:
            when = datetime.fromisoformat(raw_time)
        except ValueError as exc:
            raise ValueError(f"time: {exc}") from None
        reasons = data.get("reasons")
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise ValueError("reasons: expected a list of strings")
        scores = data.get("scores")
        if not isinstance(scores, dict) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in scores.values()
        ):
            raise ValueError("scores: expected an object of numbers")
        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int):
            raise ValueError("status: expected an integer")
        return cls(
            time=when,
            request_id=text("request_id") or "",
            client=text("client") or "",
            route=text("route") or "",
            method=text("method") or "",
            status=status,
            action=text("action") or "",
            reasons=tuple(reasons),
            input_fingerprint=text("input_fingerprint", optional=True),
            scores={str(k): math.nan if v is None else float(v) for k, v in scores.items()},
            latency_ms=number("latency_ms"),
        )


def _json_score(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _json_number(value: float) -> str:
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


@runtime_checkable
class AuditSink(Protocol):
    """Where batches go. Called from one thread only; a failed ``write_batch`` must leave nothing behind."""

    def write_batch(self, records: Sequence[AuditRecord]) -> None: ...

    def close(self) -> None: ...


def _parse_target(target: str) -> tuple[Literal["jsonl", "sql"], str]:
    spec = target.strip()
    if spec.startswith("jsonl:"):
        path = spec[len("jsonl:"):]
        if not path:
            raise InputError("jsonl: needs a path after the colon", hint=_TARGET_HINT)
        return "jsonl", path
    if "://" in spec:
        return "sql", spec
    if spec.lower().endswith(".jsonl"):
        return "jsonl", spec
    raise InputError(f"unknown audit target {target!r}", hint=_TARGET_HINT)


def check_target(target: str) -> None:
    """Raise the :class:`InputError` ``open_sink`` would, without touching a file or a database.

    An engine is built (that neither connects nor creates anything), so an unknown dialect or a missing driver
    is found by ``clearsight guard check`` and not only when the guard starts.
    """
    kind, where = _parse_target(target)
    if kind == "sql":
        from clearsight.guard.audit_sql import create_audit_engine

        create_audit_engine(where).dispose()


def open_sink(target: str, *, table: str = DEFAULT_TABLE) -> AuditSink:
    """The sink a configuration string names: ``jsonl:PATH`` / ``*.jsonl`` or a database URL."""
    kind, where = _parse_target(target)
    if kind == "jsonl":
        return JsonlSink(where)
    from clearsight.guard.audit_sql import SqlSink

    return SqlSink(where, table)


class AuditClosedError(ClearsightError, RuntimeError):
    """A record was submitted after ``close()``; it was not accepted."""


class AuditQueueFullError(ClearsightError):
    """``submit(..., timeout=...)`` gave up waiting for room; the record was not accepted."""


class AuditFlushError(ClearsightError):
    """``close()`` could not write everything it had accepted; the records are attached, not lost."""

    def __init__(self, message: str, records: Sequence[AuditRecord]) -> None:
        super().__init__(message)
        self.records: tuple[AuditRecord, ...] = tuple(records)


@dataclass(frozen=True, slots=True)
class AuditStats:
    """``written``: handed to the sink successfully. ``queued``: accepted, not yet written (queue plus the batch
    in hand). ``failed``: failed ``write_batch`` attempts (each is retried). ``unwritten``: records ``close``
    gave up on."""

    written: int
    queued: int
    failed: int
    unwritten: int = 0


class _RecordQueue:
    """The bounded FIFO between the producers and the one writer thread, with ``queue.Queue``'s methods.

    ``queue.Queue`` takes its lock and notifies a condition on every put and every get: about 2.5 us a record,
    paid on the request path. Here a put with room is an append under one plain lock, and a get is a
    ``popleft`` (atomic under the GIL; the writer is the only consumer). Only producers blocked on a full
    queue wait on a condition, and a get wakes one of them when any is waiting.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[AuditRecord] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._blocked = 0  # producers waiting for room (counted under the lock, before they check)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: AuditRecord) -> None:
        with self._lock:
            if len(self._items) >= self.maxsize:
                raise queue.Full
            self._items.append(item)

    def put(self, item: AuditRecord, timeout: float | None = None) -> None:
        if timeout is not None and timeout < 0:  # as queue.Queue says it
            raise ValueError("'timeout' must be a non-negative number")
        with self._lock:
            if len(self._items) >= self.maxsize:
                deadline = None if timeout is None else time.monotonic() + timeout
                self._blocked += 1
                try:
                    while len(self._items) >= self.maxsize:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise queue.Full
                        self._room.wait(remaining)
                finally:
                    self._blocked -= 1
            self._items.append(item)

    def get_nowait(self) -> AuditRecord:
        try:
            item = self._items.popleft()
        except IndexError:
            raise queue.Empty from None
        if self._blocked:  # read after the pop: a producer counted itself before it saw the queue full
            with self._lock:
                self._room.notify()
        return item

    def get(self, timeout: float) -> AuditRecord:
        """Wait up to ``timeout`` for a record (only the close path waits, for producers still landing)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.get_nowait()
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.001)


class AuditLog:
    """Bounded queue plus one writer thread draining it into an :class:`AuditSink` in batches.

    Back-pressure rather than loss: when the queue is full, ``submit`` blocks and ``asubmit`` waits without
    blocking the event loop. If the sink keeps failing, the writer holds its batch and retries with backoff (the
    queue then fills and producers wait); the guard stalls rather than serving requests it cannot audit.

    ``close(timeout)`` stops accepting, writes out everything accepted so far and closes the sink. It raises
    :class:`AuditFlushError` (with the records) when something could not be written: because the sink still
    failed after ``close_retries`` further attempts, or because ``timeout`` expired first. A return value could
    be ignored; an exception cannot, and "never silently drop" is the point of this class.

    The writer thread is a daemon, so a forgotten log never hangs interpreter exit; pass ``close_at_exit=True``
    for an ``atexit`` safety net that flushes (bounded by ``exit_timeout``) when the owner did not close it.
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        queue_size: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retry_backoff: float = 0.05,
        max_backoff: float = 5.0,
        close_retries: int = 3,
        close_at_exit: bool = False,
        exit_timeout: float = 10.0,
    ) -> None:
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be at least 1")
        if flush_interval <= 0 or retry_backoff < 0 or max_backoff < 0 or close_retries < 0:
            raise ValueError("flush_interval must be positive; backoff and retries cannot be negative")
        self._sink = sink
        self._queue = _RecordQueue(queue_size)
        self.queue_size = queue_size
        self._batch_size = batch_size
        self._wake_at = min(batch_size, queue_size)  # a full queue must wake the writer too, or producers wait
        self._flush_interval = flush_interval
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self._close_retries = close_retries
        self._exit_timeout = exit_timeout

        self._lock = threading.Lock()  # guards the counters below and the closed flag
        self._closed = False
        self._inflight = 0  # sync submitters currently inside a blocking put
        self._written = 0
        self._failed = 0
        self._in_hand: list[AuditRecord] = []  # the batch the writer is trying to write
        self._unwritten = 0

        self._stop = threading.Event()  # close() asked the writer to drain and finish
        self._wakeup = threading.Event()  # a full batch is waiting (or close() started)
        self._abort = threading.Event()  # close() timed out: finish now, leave the rest to close()
        self._close_lock = threading.Lock()
        self._close_done = False

        self._thread = threading.Thread(target=self._run, name="clearsight-audit-writer", daemon=True)
        self._thread.start()
        self._at_exit = close_at_exit
        if close_at_exit:
            atexit.register(self._close_at_exit)

    # -- producers ---------------------------------------------------------------------------------------------

    def submit(self, record: AuditRecord, *, timeout: float | None = None) -> None:
        """Queue ``record``, blocking while the queue is full (back-pressure for synchronous callers).

        With ``timeout``, raise :class:`AuditQueueFullError` instead of waiting longer; the record is then not
        accepted and the caller decides (for example to fail the request).
        """
        with self._lock:
            if self._closed:
                raise AuditClosedError("the audit log is closed; the record was not accepted")
            self._inflight += 1
        try:
            self._queue.put(record, timeout=timeout)
            if self._queue.qsize() >= self._wake_at:
                self._wakeup.set()
        except queue.Full:
            raise AuditQueueFullError(f"the audit queue stayed full for {timeout}s; the record was not accepted") \
                from None
        finally:
            with self._lock:
                self._inflight -= 1

    async def asubmit(self, record: AuditRecord) -> None:
        """Queue ``record`` without ever blocking the event loop.

        Polls with a short, growing sleep while the queue is full rather than parking a thread per waiting request
        in the default executor (which the application may need for other work). If ``close()`` starts while this
        is waiting, it raises :class:`AuditClosedError`: the record was not accepted, and the caller knows.
        """
        delay = 0.0005
        while not self.offer(record):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    def offer(self, record: AuditRecord) -> bool:
        """Queue ``record`` if there is room now; False when the queue is full (nothing was queued).

        What :meth:`asubmit` tries first, callable without a coroutine: async callers on a hot path try this and
        await ``asubmit`` only when it says no. Raises :class:`AuditClosedError` once the log is closed.
        """
        with self._lock:
            if self._closed:
                raise AuditClosedError("the audit log is closed; the record was not accepted")
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                return False
            if self._queue.qsize() >= self._wake_at:
                self._wakeup.set()
            return True

    # -- introspection -----------------------------------------------------------------------------------------

    def depth(self) -> int:
        """Records waiting in the queue (what the ``audit_queue_depth`` gauge shows)."""
        return self._queue.qsize()

    def stats(self) -> AuditStats:
        with self._lock:
            return AuditStats(
                written=self._written,
                queued=self._queue.qsize() + len(self._in_hand),
                failed=self._failed,
                unwritten=self._unwritten,
            )

    @property
    def closed(self) -> bool:
        return self._closed

    # -- shutdown ----------------------------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, write out everything accepted, close the sink. Idempotent.

        Raises :class:`AuditFlushError` with the records that could not be written (see the class docstring).
        ``timeout`` bounds the wait for the writer; ``None`` waits until the queue is written or the sink has
        failed ``close_retries`` more times.
        """
        with self._close_lock:
            if self._close_done:
                return
            self._close_done = True
            with self._lock:
                self._closed = True
            self._stop.set()
            self._wakeup.set()
            self._thread.join(timeout)
            writer_alive = self._thread.is_alive()
            if writer_alive:
                log.error("audit writer did not finish within %ss; abandoning what is still queued", timeout)
                self._abort.set()
                # Let a write in progress finish (it may succeed); a sink that hangs forever is not waited for.
                self._thread.join(max(self._flush_interval * 5, 1.0))
                writer_alive = self._thread.is_alive()
            with self._lock:
                leftover = list(self._in_hand)
            leftover.extend(self._drain_for_close())
            problem: BaseException | None = None
            if writer_alive:
                log.error("audit writer is stuck inside the sink; not closing the sink under it")
            else:
                try:
                    self._sink.close()
                except Exception as exc:
                    log.exception("closing the audit sink failed")
                    problem = exc
            with self._lock:
                self._unwritten = len(leftover)
            if self._at_exit:
                atexit.unregister(self._close_at_exit)
            if leftover:
                log.error("audit log closed with %d unwritten records", len(leftover))
                raise AuditFlushError(
                    f"{len(leftover)} audit records could not be written before close; they are attached to "
                    "this error (.records)",
                    leftover,
                ) from problem
            if problem is not None:
                raise AuditFlushError(f"closing the audit sink failed: {problem}", []) from problem

    async def aclose(self, timeout: float | None = None) -> None:
        """``close`` from async code (an ASGI lifespan) without blocking the event loop while it flushes."""
        await asyncio.to_thread(self.close, timeout)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _close_at_exit(self) -> None:
        try:
            self.close(self._exit_timeout)
        except AuditFlushError as exc:
            log.error("at exit: %s", exc)

    def _drain_for_close(self) -> list[AuditRecord]:
        """Take what the writer left behind, waiting for submitters still inside a blocking put to land."""
        drained: list[AuditRecord] = []
        while True:
            with self._lock:  # closed is set, so once both hold nothing more can arrive
                if self._inflight == 0 and self._queue.empty():
                    return drained
            with contextlib.suppress(queue.Empty):
                drained.append(self._queue.get(timeout=0.01))

    # -- writer thread -----------------------------------------------------------------------------------------

    def _finished(self) -> bool:
        with self._lock:
            # Read inflight first: once it is 0 after close, nobody can add to the queue any more.
            return self._inflight == 0 and self._queue.empty()

    def _collect(self) -> list[AuditRecord]:
        """Up to ``batch_size`` records once a batch is full, ``flush_interval`` passed or close() started.

        The writer sleeps on its own event instead of waiting inside ``queue.get``: a waiter on the queue would be
        woken by every single ``put`` and fight the event loop for the GIL once per request. Producers wake it
        only when a whole batch is ready. Waits in short slices so ``close()`` is noticed promptly.
        """
        deadline = time.monotonic() + self._flush_interval
        while self._queue.qsize() < self._wake_at and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wakeup.wait(min(remaining, _POLL))
            self._wakeup.clear()
        batch: list[AuditRecord] = []
        with contextlib.suppress(queue.Empty):
            while len(batch) < self._batch_size:
                batch.append(self._queue.get_nowait())
        if not batch and not self._stop.is_set():
            self._wakeup.wait(_POLL)  # nothing yet: do not spin
            self._wakeup.clear()
        return batch

    def _run(self) -> None:
        pending: list[AuditRecord] = []
        failures = 0
        failures_while_stopping = 0
        try:
            while not self._abort.is_set():
                if not pending:
                    pending = self._collect()
                    if not pending:
                        if self._stop.is_set() and self._finished():
                            return
                        continue
                    with self._lock:
                        self._in_hand = pending
                if self._abort.is_set():
                    return
                try:
                    self._sink.write_batch(pending)
                except Exception as exc:
                    failures += 1
                    with self._lock:
                        self._failed += 1
                    if self._stop.is_set():
                        failures_while_stopping += 1
                        if failures_while_stopping > self._close_retries:
                            log.error("audit sink still failing while closing (%s); giving up on %d records",
                                      exc, len(pending))
                            return
                    delay = min(self._retry_backoff * 2 ** min(failures - 1, 30), self._max_backoff)
                    log.log(logging.WARNING if failures <= 3 else logging.ERROR,
                            "audit sink failed to write %d records (attempt %d): %s; keeping them and retrying in "
                            "%.3fs", len(pending), failures, exc, delay, exc_info=failures == 1)
                    self._abort.wait(delay)
                    continue
                with self._lock:
                    self._written += len(pending)
                    self._in_hand = []
                if failures:
                    log.warning("audit sink recovered after %d failed attempts", failures)
                pending = []
                failures = 0
                failures_while_stopping = 0
        except BaseException:  # a bug here must not strand records silently: close() still collects them
            log.exception("audit writer crashed")
            raise


# -- reading the trail back -------------------------------------------------------------------------------------

FLAGGED_ACTIONS = ("block", "alert")


@dataclass(frozen=True, slots=True)
class ClientTally:
    client: str
    blocks: int
    alerts: int


@dataclass(frozen=True, slots=True)
class RoutePeak:
    """A route's busiest client: the most answered (2xx) queries it sent within a day, counted as the extraction
    monitor's ``volume`` signal counts them, so a route's ``volume`` can be set from what its clients did."""

    route: str
    client: str
    queries: int
    at: datetime  # when the peak was reached


VOLUME_PERIOD = 86_400.0  # a day: the volume signal's default period


class _Peaks:
    """Each route's busiest client-day, fed records in time order; about a kilobyte per (route, client)."""

    def __init__(self) -> None:
        from clearsight.guard.extraction.volume import VolumeTracker  # here: the request path never needs it

        self._tracker = VolumeTracker
        self._counts: dict[tuple[str, str], VolumeTracker] = {}
        self._best: dict[str, RoutePeak] = {}

    def add(self, route: str, client: str, status: int, when: datetime) -> None:
        if not 200 <= status < 300:  # refused requests were never answered: no copy learns from them
            return
        tracker = self._counts.get((route, client))
        if tracker is None:
            tracker = self._counts[(route, client)] = self._tracker(VOLUME_PERIOD)
        queries = tracker.add(when.timestamp())
        best = self._best.get(route)
        if best is None or queries > best.queries:
            self._best[route] = RoutePeak(route, client, queries, when)

    def peaks(self) -> tuple[RoutePeak, ...]:
        return tuple(self._best[route] for route in sorted(self._best))


@dataclass(frozen=True)
class AuditSummary:
    """What an assessment cites as evidence that the guard runs and acts.

    ``clients`` is the number of distinct (pseudonymised) clients; ``first``/``last`` the earliest and latest
    decision (UTC); ``top_clients`` ranks clients by blocks plus alerts; ``busiest`` gives each route's busiest
    client-day (:class:`RoutePeak`), the evidence to set a route's extraction ``volume`` from. Records are read in
    the order they were written (JSONL) or by time (SQL); several replicas' logs concatenated out of order count
    a little high.

    ``malformed`` counts JSONL lines that are not valid audit records (a crash can leave a torn last line);
    ``malformed_examples`` names the first few as ``file:line: reason``. ``summarise(strict=True)`` raises at the
    first one instead. SQL tables cannot hold malformed rows, so both stay empty there.
    """

    source: str
    total: int
    actions: dict[str, int]
    clients: int
    first: datetime | None
    last: datetime | None
    top_clients: tuple[ClientTally, ...]
    malformed: int = 0
    malformed_examples: tuple[str, ...] = field(default=())
    busiest: tuple[RoutePeak, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; typed loosely (``Any``) so callers can read nested counts without casts."""
        return {
            "source": self.source,
            "total": self.total,
            "actions": dict(sorted(self.actions.items())),
            "clients": self.clients,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "top_clients": [{"client": t.client, "blocks": t.blocks, "alerts": t.alerts} for t in self.top_clients],
            "malformed": self.malformed,
            "malformed_examples": list(self.malformed_examples),
            "busiest": [{"route": b.route, "client": b.client, "queries_in_a_day": b.queries,
                         "at": b.at.isoformat()} for b in self.busiest],
        }


def summarise(source: str, *, table: str = DEFAULT_TABLE, top: int = 10, strict: bool = False,
              max_examples: int = 5) -> AuditSummary:
    """Summarise a JSONL audit file (streamed line by line) or an audit table (aggregated in SQL).

    ``source`` uses the same forms as :func:`open_sink`. Malformed JSONL lines are counted (see
    :class:`AuditSummary`), or raise :class:`InputError` with file and line when ``strict``.
    """
    kind, where = _parse_target(source)
    if kind == "jsonl":
        return _summarise_jsonl(Path(where), top=top, strict=strict, max_examples=max_examples)
    return _summarise_sql(where, table=table, top=top)


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    if not path.is_file():
        raise InputError("audit log not found" if not path.exists() else "audit log is not a file", path=str(path))
    try:
        with path.open("rb") as handle:
            yield from enumerate(handle, start=1)
    except OSError as exc:
        raise InputError(f"cannot read the audit log: {exc.strerror or exc}", path=str(path)) from exc


def _summarise_jsonl(path: Path, *, top: int, strict: bool, max_examples: int) -> AuditSummary:
    total = 0
    actions: Counter[str] = Counter()
    clients: set[str] = set()
    flagged: dict[str, list[int]] = {}
    first: datetime | None = None
    last: datetime | None = None
    malformed = 0
    examples: list[str] = []
    peaks = _Peaks()
    for lineno, raw in _iter_lines(path):
        if not raw.strip():
            continue
        try:
            record = AuditRecord.from_json(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            reason = f"not an audit record: {exc}"
            if strict:
                raise InputError(reason, path=str(path), line=lineno) from exc
            malformed += 1
            if len(examples) < max_examples:
                examples.append(f"{path}:{lineno}: {reason}")
            continue
        total += 1
        actions[record.action] += 1
        clients.add(record.client)
        when = record.time.astimezone(UTC)
        first = when if first is None or when < first else first
        last = when if last is None or when > last else last
        peaks.add(record.route, record.client, record.status, when)
        if record.action in FLAGGED_ACTIONS:
            tally = flagged.setdefault(record.client, [0, 0])
            tally[FLAGGED_ACTIONS.index(record.action)] += 1
    ranked = sorted(flagged.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0]))[:top]
    return AuditSummary(
        source=str(path),
        total=total,
        actions=dict(actions),
        clients=len(clients),
        first=first,
        last=last,
        top_clients=tuple(ClientTally(client, blocks, alerts) for client, (blocks, alerts) in ranked),
        malformed=malformed,
        malformed_examples=tuple(examples),
        busiest=peaks.peaks(),
    )


def _summarise_sql(url: str, *, table: str, top: int) -> AuditSummary:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    from clearsight.guard.audit_sql import as_utc, audit_table, create_audit_engine

    check_table_name(table)
    engine = create_audit_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        if not sa.inspect(engine).has_table(table):
            raise InputError(f"no audit table {table!r} in {shown}", field="table",
                             hint="pass the table the guard writes to")
        t = audit_table(sa.MetaData(), table)
        blocks = sa.func.sum(sa.case((t.c.action == FLAGGED_ACTIONS[0], 1), else_=0))
        alerts = sa.func.sum(sa.case((t.c.action == FLAGGED_ACTIONS[1], 1), else_=0))
        with engine.connect() as conn:
            total, first, last, distinct = conn.execute(
                sa.select(sa.func.count(), sa.func.min(t.c.time), sa.func.max(t.c.time),
                          sa.func.count(sa.distinct(t.c.client)))
            ).one()
            actions = {str(a): int(n) for a, n in conn.execute(
                sa.select(t.c.action, sa.func.count()).group_by(t.c.action))}
            ranked = conn.execute(
                sa.select(t.c.client, blocks, alerts)
                .where(t.c.action.in_(FLAGGED_ACTIONS))
                .group_by(t.c.client)
                .order_by((blocks + alerts).desc(), t.c.client)
                .limit(top)
            ).all()
            peaks = _Peaks()
            answered = (sa.select(t.c.route, t.c.client, t.c.status, t.c.time)
                        .where(t.c.status >= 200, t.c.status < 300).order_by(t.c.time, t.c.id))
            for route, client, status, when in conn.execution_options(yield_per=10_000).execute(answered):
                peaks.add(str(route), str(client), int(status), as_utc(when))
    except sa_exc.SQLAlchemyError as exc:
        raise InputError(f"cannot read the audit table {table!r} in {shown}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return AuditSummary(
        source=f"{shown}#{table}",
        total=int(total),
        actions=actions,
        clients=int(distinct),
        first=as_utc(first) if first is not None else None,
        last=as_utc(last) if last is not None else None,
        top_clients=tuple(ClientTally(str(c), int(b), int(a)) for c, b, a in ranked),
        busiest=peaks.peaks(),
    )


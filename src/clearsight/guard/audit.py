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
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote  # C: a str as a quoted ASCII JSON string
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, runtime_checkable

from clearsight.core.errors import ClearsightError, InputError
from clearsight.guard.audit_sinks import DEFAULT_TABLE, JsonlSink
from clearsight.guard.json_codec import orjson

if TYPE_CHECKING:
    from clearsight.guard.audit_sql import SqlSink

__all__ = [
    "DEFAULT_TABLE",
    "AuditClosedError",
    "AuditFlushError",
    "AuditLog",
    "AuditQueueFullError",
    "AuditRecord",
    "AuditSink",
    "AuditStats",
    "JsonlSink",
    "SqlSink",
    "check_target",
    "open_sink",
]

log = logging.getLogger("clearsight.guard.audit")


def __getattr__(name: str) -> Any:
    """``SqlSink`` stays importable from here without importing SQLAlchemy for every guard that writes JSONL."""
    if name == "SqlSink":
        from clearsight.guard.audit_sql import SqlSink

        return SqlSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_FLOAT_ONLY = frozenset({float})
# The reason the guard gives when it judged a query's volume on its own count, the replicas' shared one (Redis)
# being out of reach; the audit summary counts these.
VOLUME_UNSHARED = "volume.unshared"
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
        # one unpacking instead of a descriptor call per field, and the score check as one C loop: this runs
        # once per request in the writer thread, with the GIL
        at, request_id, client, route, method, status, action, reasons, fingerprint, scores, latency_ms = self
        when = at if at.tzinfo is UTC else at.astimezone(UTC)
        if orjson is not None:
            try:
                line = orjson.dumps({
                    "time": when, "request_id": request_id, "client": client, "route": route, "method": method,
                    "status": status, "action": action, "reasons": reasons, "input_fingerprint": fingerprint,
                    "scores": scores, "latency_ms": latency_ms,  # NaN and inf as null
                })
            except TypeError:
                pass
            else:
                if line.isascii() and type(status) is int and type(latency_ms) is float and (
                        not scores or _FLOAT_ONLY.issuperset(map(type, scores.values()))):
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


def parse_target(target: str) -> tuple[Literal["jsonl", "sql"], str]:
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
    kind, where = parse_target(target)
    if kind == "sql":
        from clearsight.guard.audit_sql import create_audit_engine

        create_audit_engine(where).dispose()


def open_sink(target: str, *, table: str = DEFAULT_TABLE) -> AuditSink:
    """The sink a configuration string names: ``jsonl:PATH`` / ``*.jsonl`` or a database URL."""
    kind, where = parse_target(target)
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

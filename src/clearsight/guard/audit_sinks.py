"""Where audit records end up: an append-only JSONL file here, a SQL table in :mod:`clearsight.guard.audit_sql`.

The SQL sink lives in its own module so that a guard writing JSONL never imports SQLAlchemy: a service that
adds the middleware should not pay a quarter of a second of start-up and tens of thousands of objects for a
database it does not use.

Both sinks are written by exactly one thread (the :class:`~clearsight.guard.audit.AuditLog` writer), so they
keep no queue of their own. What they do promise is that a failed ``write_batch`` leaves nothing half-written
behind, because the writer retries the same batch and a retry must not duplicate rows: the file sink truncates
back to where the batch started, the SQL sink writes each batch in one transaction.

Misconfiguration (a directory where a file should be, an unwritable path, a bad URL, an unreachable database) is
reported as :class:`~clearsight.core.errors.InputError` when the sink is constructed, so the guard refuses to
start instead of discovering at the first request that it cannot keep its audit trail.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from clearsight.core.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per file is then the operator's job
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from clearsight.guard.audit import AuditRecord

DEFAULT_TABLE = "clearsight_guard_audit"

# Short enough that "ix_<table>_client_time" stays within PostgreSQL's 63-byte identifier limit.
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")

AUDIT_COLUMNS = (
    "id", "time", "request_id", "client", "route", "method", "status", "action", "reasons",
    "input_fingerprint", "scores", "latency_ms",
)


class JsonlSink:
    """One JSON object per line, appended; the format ``summarise`` and ``jq`` read back."""

    def __init__(self, path: str | os.PathLike[str], *, fsync_each_batch: bool = False) -> None:
        self.path = Path(path)
        self._fsync_each_batch = fsync_each_batch
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise InputError("the audit log path is a directory, not a file", path=str(self.path),
                             hint="give a file name such as audit.jsonl")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered binary append: every write goes straight to the kernel, so after a failed write the
            # file can be truncated back to the batch's start and a retry never leaves a half line behind.
            self._file: io.FileIO | None = open(self.path, "ab", buffering=0)  # noqa: SIM115 - lives until close()
        except OSError as exc:
            raise InputError(f"cannot open the audit log for appending: {exc.strerror or exc}", path=str(self.path),
                             hint="check that the directory exists or can be created and is writable") from exc

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        # ASCII-only JSON: a lone surrogate or control character in a request-derived string is escaped instead
        # of making the batch unencodable, which would otherwise fail every retry and stall the log.
        data = "".join(r.to_json_line() + "\n" for r in records).encode("ascii")
        with self._lock:
            handle = self._file
            if handle is None:
                raise RuntimeError(f"audit log {self.path} is closed")
            fd = handle.fileno()
            # Several worker processes may append to one file; the lock keeps their batches whole and makes sure
            # a rollback below only ever cuts off this batch, never another process's records.
            _lock_file(fd)
            try:
                start = os.fstat(fd).st_size
                try:
                    view = memoryview(data)
                    while view:
                        written = handle.write(view)
                        if not written:  # a regular file never does this; refuse to spin if it ever does
                            raise OSError(f"no progress writing to {self.path}")
                        view = view[written:]
                    if self._fsync_each_batch:
                        os.fsync(fd)
                except BaseException:
                    with contextlib.suppress(OSError):  # the original error is the one worth reporting
                        os.ftruncate(fd, start)
                    raise
            finally:
                _unlock_file(fd)

    def close(self) -> None:
        with self._lock:
            handle, self._file = self._file, None
        if handle is None:
            return
        try:
            os.fsync(handle.fileno())
        finally:
            handle.close()


def _lock_file(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock_file(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def check_table_name(name: str) -> None:
    if not _TABLE_NAME.match(name):
        raise InputError(f"invalid audit table name {name!r}", field="table",
                         hint="use letters, digits and underscores, at most 48 characters, not starting with a digit")

"""Audit rows in a SQL table (SQLite or PostgreSQL) through SQLAlchemy, imported only for a database target.

The sink writes each batch in one transaction, so a retried batch never duplicates rows; a bad URL, a missing
driver or an unreachable database is an :class:`~clearsight.core.errors.InputError` when the sink is built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from clearsight.core.errors import InputError
from clearsight.guard.audit_sinks import AUDIT_COLUMNS, DEFAULT_TABLE, check_table_name

if TYPE_CHECKING:
    from clearsight.guard.audit import AuditRecord


def audit_table(metadata: sa.MetaData, name: str = DEFAULT_TABLE) -> sa.Table:
    """The audit table's shape; shared by the sink (which creates it) and ``summarise`` (which reads it)."""
    check_table_name(name)
    table = sa.Table(
        name,
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("input_fingerprint", sa.Text(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    sa.Index(f"ix_{name}_client_time", table.c.client, table.c.time)
    return table



def create_audit_engine(url: str) -> sa.Engine:
    """An engine for ``url``, with every way a URL can be unusable turned into an ``InputError``."""
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as exc:
        raise InputError(f"not a database URL: {url!r}",
                         hint="use sqlite:///path/to/audit.db or postgresql+psycopg://user@host/db") from exc
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise InputError(f"an in-memory SQLite audit log would vanish with the process: {shown}",
                         hint="give a file, e.g. sqlite:///var/clearsight/audit.db")
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError, ImportError) as exc:
        raise InputError(f"unsupported database URL {shown}: {exc}",
                         hint="supported: sqlite:///PATH and postgresql+psycopg://USER@HOST/DB") from exc


class SqlSink:
    """Audit rows in a SQL table (SQLite or PostgreSQL), one transaction per batch."""

    def __init__(self, url: str, table: str = DEFAULT_TABLE) -> None:
        self._engine = create_audit_engine(url)
        shown = self._engine.url.render_as_string(hide_password=True)
        self.url = shown
        database = self._engine.url.database
        if self._engine.url.get_backend_name() == "sqlite" and database and not database.startswith("file:"):
            try:  # like the JSONL sink: a fresh deployment should not fail because the folder is not there yet
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self._engine.dispose()
                raise InputError(f"cannot create the folder for the audit database: {exc.strerror or exc}",
                                 path=database) from exc
        self._table = audit_table(sa.MetaData(), table)
        self._closed = False
        try:
            self._table.metadata.create_all(self._engine, checkfirst=True)
            present = {c["name"] for c in sa.inspect(self._engine).get_columns(table)}
        except sa_exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise InputError(f"cannot prepare the audit table {table!r} in {shown}: {_first_line(exc)}",
                             hint="is the database running and may this user create tables?") from exc
        missing = [c for c in AUDIT_COLUMNS if c not in present]
        if missing:
            self._engine.dispose()
            raise InputError(f"table {table!r} in {shown} exists but lacks audit columns: {', '.join(missing)}",
                             field="table", hint="choose another table name or drop the old table")

    @property
    def table(self) -> sa.Table:
        return self._table

    def write_batch(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        if self._closed:
            raise RuntimeError(f"audit sink {self.url} is closed")
        rows = [
            {
                "time": r.time.astimezone(UTC),
                "request_id": _clean(r.request_id),
                "client": _clean(r.client),
                "route": _clean(r.route),
                "method": _clean(r.method),
                "status": r.status,
                "action": _clean(r.action),
                "reasons": json.dumps(list(r.reasons)),
                "input_fingerprint": None if r.input_fingerprint is None else _clean(r.input_fingerprint),
                "scores": {_clean(k): v for k, v in _scores(r).items()},
                "latency_ms": float(r.latency_ms),
            }
            for r in records
        ]
        with self._engine.begin() as conn:
            conn.execute(self._table.insert(), rows)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC, so naive means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean(text: str) -> str:
    """Strings PostgreSQL cannot store (NUL, lone surrogates) would fail every retry of their batch and stall the
    log; request-derived fields (request ids, routes) can contain them, so they are replaced, not rejected."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _scores(record: AuditRecord) -> dict[str, float | None]:
    """JSON has no NaN or Infinity (PostgreSQL rejects them), so such a score is stored as null."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in record.scores.items()}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


"""Reading the guard's audit trail back: what it decided, from whom, and each route's busiest client-day.

What ``clearsight guard audit-summary`` prints and what an assessment cites as evidence that the guard runs
and acts. A JSONL file is streamed line by line; a database table is aggregated in SQL, and its answered
requests are streamed in time order for the busiest client-day.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearsight.core.errors import InputError
from clearsight.guard.audit import VOLUME_UNSHARED as UNSHARED
from clearsight.guard.audit import AuditRecord, parse_target
from clearsight.guard.audit_sinks import DEFAULT_TABLE, check_table_name

if TYPE_CHECKING:
    from clearsight.guard.extraction.volume import VolumeTracker

__all__ = ["AuditSummary", "ClientTally", "RoutePeak", "summarise"]

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
    """Each route's busiest client-day, fed records in time order.

    About a kilobyte per (route, client) seen within the last day: a client silent for a whole period has an
    empty window, so its counter is dropped (a long log of many clients streams in bounded memory), and a new
    one starts when it comes back, as the tracker itself would restart."""

    def __init__(self) -> None:
        from clearsight.guard.extraction.volume import VolumeTracker  # here: the package loads NumPy

        self._tracker = VolumeTracker
        self._counts: dict[tuple[str, str], tuple[VolumeTracker, float]] = {}  # with the last query's time
        self._prune_at = 1_024
        self._best: dict[str, RoutePeak] = {}

    def add(self, route: str, client: str, status: int, when: datetime) -> None:
        if not 200 <= status < 300:  # refused requests were never answered: no copy learns from them
            return
        now = when.timestamp()
        known = self._counts.get((route, client))
        tracker = known[0] if known is not None else self._tracker(VOLUME_PERIOD)
        self._counts[(route, client)] = (tracker, now)
        if len(self._counts) >= self._prune_at:
            self._counts = {k: v for k, v in self._counts.items() if now - v[1] < VOLUME_PERIOD}
            self._prune_at = max(1_024, 2 * len(self._counts))
        queries = tracker.add(now)
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

    ``unshared`` counts answers the guard judged on its own volume count because the replicas' shared one (in
    Redis) could not be reached (a reason starting ``volume.unshared``): a deployment that relies on replicas
    counting together sees how often it did not.

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
    unshared: int = 0

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
            "volume_unshared": self.unshared,
        }


def summarise(source: str, *, table: str = DEFAULT_TABLE, top: int = 10, strict: bool = False,
              max_examples: int = 5) -> AuditSummary:
    """Summarise a JSONL audit file (streamed line by line) or an audit table (aggregated in SQL).

    ``source`` uses the same forms as :func:`open_sink`. Malformed JSONL lines are counted (see
    :class:`AuditSummary`), or raise :class:`InputError` with file and line when ``strict``.
    """
    kind, where = parse_target(source)
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
    unshared = 0
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
        unshared += any(reason.startswith(UNSHARED) for reason in record.reasons)
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
        unshared=unshared,
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
            total, first, last, distinct, unshared = conn.execute(
                sa.select(sa.func.count(), sa.func.min(t.c.time), sa.func.max(t.c.time),
                          sa.func.count(sa.distinct(t.c.client)),
                          # reasons are stored as a JSON list: each one starts after a quote
                          sa.func.sum(sa.case((t.c.reasons.contains(f'"{UNSHARED}', autoescape=True), 1), else_=0)))
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
        unshared=int(unshared or 0),
    )


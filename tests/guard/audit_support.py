"""Records and producers shared by the audit-log tests (plain module, not a test file)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from clearsight.guard.audit import AuditLog, AuditRecord

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACTIONS = ("allow", "allow", "throttle", "block", "alert")


def make_record(i: int, *, client: str | None = None, action: str | None = None) -> AuditRecord:
    return AuditRecord(
        time=T0 + timedelta(milliseconds=i),
        request_id=f"req-{i:06d}",
        client=client or f"key:{i % 13:04x}",
        route="/v1/score",
        method="POST",
        status=200 if (action or ACTIONS[i % len(ACTIONS)]) == "allow" else 429,
        action=action or ACTIONS[i % len(ACTIONS)],
        reasons=("rate:100/minute", "prada: shapiro p=0.01"),
        input_fingerprint=f"{i:064x}",
        scores={"prada": (i % 100) / 100, "entropy": 0.5},
        latency_ms=0.25,
    )


RECORDS = 20_000
PRODUCERS = 50


def run_threads(log: AuditLog) -> None:
    per = RECORDS // PRODUCERS

    def produce(k: int) -> None:
        for j in range(per):
            log.submit(make_record(k * per + j))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(PRODUCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_tasks(log: AuditLog) -> None:
    per = RECORDS // PRODUCERS

    async def produce(k: int) -> None:
        for j in range(per):
            await log.asubmit(make_record(k * per + j))

    async def main() -> None:
        await asyncio.gather(*(produce(k) for k in range(PRODUCERS)))

    asyncio.run(main())


def day_of_traffic() -> list[AuditRecord]:
    """Two clients on one route over two days, one on another route; refusals are not answers."""
    def at(hours: float, client: str, route: str = "/v1/score", status: int = 200) -> AuditRecord:
        return AuditRecord(T0 + timedelta(hours=hours), f"r{hours}-{client}", client, route, "POST", status,
                           "allow" if status == 200 else "throttle", (), None, {}, 0.1)
    records = [at(h * 0.5, "key:busy") for h in range(30)]  # 30 from 0 to 14.5 h
    records += [at(20 + h * 0.25, "key:busy") for h in range(20)]  # 20 from 20 to 24.75 h: by then 0 and 0.5 h
    # have left the day (counted in quarter-hours: from 1 h on), so 28 + 20 = 48
    records += [at(h, "key:calm") for h in range(48)]  # one an hour: 24 in any day
    records += [at(1 + h * 0.01, "key:busy", status=429) for h in range(100)]  # refused: not counted
    records += [at(h, "key:other", route="/v1/explain") for h in range(3)]
    return sorted(records, key=lambda r: r.time)


def volume_reasons() -> list[AuditRecord]:
    """Five answers, two of them judged without the replicas' shared volume count (``volume.unshared``)."""
    reasons = [("volume.unshared: TimeoutError",), ("volume.unshared: ConnectionError", "extraction:volume"),
               ("a volume.unshared mention, not the reason",), ("extraction:volume",), ()]
    return [AuditRecord(T0 + timedelta(seconds=i), f"v{i}", "key:v", "/v1/score", "POST", 200, "allow", r, None, {},
                        0.1) for i, r in enumerate(reasons)]

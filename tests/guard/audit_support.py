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

"""The guard's own CPU per request, feature by feature, in-process (issue #5).

    python benchmarks/bench_guard_cpu.py [--requests 5000] [--rounds 4] [--clients 50]
                                         [--app trivial|fastapi] [--concurrency 1]

Why in-process: over HTTP on a 2-core VM the bare app's throughput moves by 10-30 % between runs (a no-op
middleware measured 0.91-1.05x of it), which hides differences of tens of microseconds. Here ``ModelGuard``
wraps a trivial ASGI app that answers a fixed JSON score, and the same request is driven through it by the
event loop with no socket, so the time per request is the guard's (plus ~2 us for the app). Each variant
switches one feature off the full policy of ``bench_guard_latency.py``; the best of ``--rounds`` is quoted.
Background tasks the guard starts (the audit writer thread) run as they would in a server, but the loop never
idles, so periodic work is under-counted here: compare with the HTTP benchmark for the whole picture.

``--app fastapi`` wraps the FastAPI scoring app of ``guard_bench_app.py`` (the app of the HTTP benchmark, its
endpoint run in a worker thread) instead, still without sockets, and reports the process's CPU time per
request (all threads; wall time would count the loop waiting for the worker thread). ``--concurrency N`` keeps
N requests in flight. This shows what the same guard costs interleaved with a real framework's work, which is
what the HTTP benchmark sees.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from extraction_sim import natural_bodies
from guard_bench_app import make_app

from clearsight.guard import ModelGuard
from clearsight.guard.policy import GuardPolicy

# natural payments, one per request in turn; enough that no client is sent the same one twice in a run (a repeat
# is what replaying clients do, and PRADA rightly flags it)
BODIES = natural_bodies(30_000)
ANSWER = json.dumps({"fraud_probability": 0.1234567, "label": "legit", "model_version": "bench"}).encode()
VARIANTS = ("full", "no limits", "no audit", "no metrics", "no output review", "none of them", "full + extraction")


def policy(variant: str, audit: Path) -> GuardPolicy:
    data: dict[str, Any] = {"storage": "memory://", "audit": {"target": str(audit)}, "routes": [{
        "path": "/v1/score", "input": {"paths": "$.features"},
        "output": {"scores": "$.fraud_probability", "label": "$.label", "threshold": 0.3},
        "limits": ["100000/second", "10000000/day"], "hardening": {"round": 2}}]}
    route = data["routes"][0]
    off = {"no limits": {"limits"}, "no audit": {"audit"}, "no metrics": {"metrics"},
           "no output review": {"output"}, "none of them": {"limits", "audit", "metrics", "output"}}.get(variant, set())
    if "limits" in off:
        route["limits"] = []
    if "audit" in off:
        data["audit"] = {"enabled": False}
    if "metrics" in off:
        data["metrics"] = {"enabled": False}
    if "output" in off:
        del route["output"], route["hardening"]
    if variant == "full + extraction":
        route["extraction"] = {"actions": ["alert"]}
    return GuardPolicy.model_validate(copy.deepcopy(data))


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": ANSWER})


async def request(target: Any, client: int, body: bytes) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"x-api-key", f"client-{client}".encode()),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000), "state": {}}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(_message: dict[str, Any]) -> None:
        return None

    await target(scope, receive, send)


WARM_UP = 3000  # past the extraction monitor's calibration (its first 2,000 queries build the reference)


async def drive(target: Any, first: int, count: int, clients: int, concurrency: int) -> None:
    """Requests ``first`` .. ``first + count - 1``, ``concurrency`` of them in flight."""
    numbers = iter(range(first, first + count))

    async def one_after_another() -> None:
        for i in numbers:
            await request(target, i % clients, BODIES[i % len(BODIES)])

    await asyncio.gather(*(one_after_another() for _ in range(concurrency)))


async def per_request_us(target: Any, requests: int, clients: int, concurrency: int = 1,
                         clock: Any = time.perf_counter) -> float:
    await drive(target, 0, WARM_UP, clients, concurrency)
    started = clock()
    await drive(target, WARM_UP, requests, clients, concurrency)
    return float(clock() - started) / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--app", choices=("trivial", "fastapi"), default="trivial",
                        help="trivial: a fixed answer (the guard's own cost); fastapi: the HTTP benchmark's app")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    args = parser.parse_args()
    fastapi = args.app == "fastapi"
    clock = time.process_time if fastapi else time.perf_counter  # the endpoint runs in a worker thread
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as work:
        for round_ in range(args.rounds):
            for variant in ("bare app", *VARIANTS):
                inner: Any = make_app() if fastapi else app
                target: Any = inner if variant == "bare app" else ModelGuard(
                    inner, policy=policy(variant, Path(work) / f"audit-{round_}-{len(best)}.jsonl"))
                us = await per_request_us(target, args.requests, args.clients, args.concurrency, clock)
                best[variant] = min(best.get(variant, us), us)
    print(f"{args.app} app, {args.requests} requests per variant, {args.clients} clients, {args.concurrency} in "
          f"flight, {'CPU' if fastapi else 'wall'} time, best of {args.rounds} rounds\n")
    print("| variant | µs per request | guard's share (µs) |\n|---|---:|---:|")
    for variant, us in best.items():
        print(f"| {variant} | {us:.1f} | {us - best['bare app']:+.1f} |")


if __name__ == "__main__":
    asyncio.run(main())

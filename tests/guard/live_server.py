"""Real uvicorn servers on 127.0.0.1 for the guard's integration tests (plain module, not a test file)."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

WEIGHTS = (0.002, 0.0, -0.05, 1.2, -1.0, 0.001, 0.3, 0.05, -0.001, 2.0)
FEATURES = ["amount", "merchant_category", "hour", "is_foreign", "card_present", "distance_from_home_km",
            "velocity_1h", "velocity_24h", "avg_amount_30d", "device_risk_score"]


def fraud_probability(values: list[float]) -> float:
    """The stand-in model: a fixed logistic score over the ten features."""
    z = sum(w * float(v) for w, v in zip(WEIGHTS, values, strict=False)) - 3.0
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def scoring_app() -> Starlette:
    """A stand-in scoring API shaped like the fraud example's: it counts every request that reaches it."""
    calls: list[int] = [0]

    async def score(request: Request) -> JSONResponse:
        calls[0] += 1
        body: dict[str, Any] = await request.json()
        values = body.get("features") or [body["transaction"][name] for name in FEATURES]
        p = fraud_probability(values)
        return JSONResponse({"fraud_probability": p, "label": "fraud" if p >= 0.3 else "legit",
                             "model_version": "test-1"})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/v1/score", score, methods=["POST"]), Route("/health", health)])
    app.state.calls = calls
    return app


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on an ephemeral port; stop it (lifespan shutdown) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Keep-alive longer than any test: with uvicorn's 5 s, a server closing an idle connection just as the
    # client reuses it for a POST (which httpx does not retry) fails a test at random. The concurrent-load
    # test hit it in 3 of 9 runs of the code before this session and once in CI; 0 of 10 with 60 s.
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, timeout_keep_alive=60)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


LEGIT = [25.0, 5411, 14, 0, 1, 3.0, 1, 3, 40.0, 0.05]


def policy_text(audit: Path, **route_extra: str) -> str:
    extra = "".join(f"    {k}: {v}\n" for k, v in route_extra.items())
    return (
        "client: {api_key_header: X-Partner-Key, require_api_key: true}\n"
        "max_body_bytes: 4096\n"
        f"audit: {{target: '{audit}'}}\n"
        "routes:\n"
        "  - path: /v1/score\n"
        "    input: {paths: [$.features, $.transaction], feature_names: [" + ", ".join(FEATURES) + "]}\n"
        "    output: {scores: $.fraud_probability, label: $.label, threshold: 0.3}\n"
        "    hardening: {round: 2}\n" + extra
    )


def audit_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]

"""Apps for ``bench_guard_latency.py``: one FastAPI scoring app, bare and behind each protection.

Selected with ``uvicorn guard_bench_app:<name> --app-dir benchmarks``; the guard's policy comes from
``$GUARD_BENCH_POLICY``. The model is a fixed logistic function over the fraud example's ten features, so
the app's own cost is FastAPI's request handling, the same as the ANCHORS measurement. ``example`` and
``example_guarded`` are the fraud example's real scoring service (``examples/fraud-detection/service``: its
scikit-learn model and its per-request log line), bare and behind the guard.
"""

from __future__ import annotations

import math
import os
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

WEIGHTS = (0.002, 0.0, -0.05, 1.2, -1.0, 0.001, 0.3, 0.05, -0.001, 2.0)


class ScoreRequest(BaseModel):
    features: list[float]


def _score(values: list[float]) -> dict[str, Any]:
    z = sum(w * v for w, v in zip(WEIGHTS, values, strict=False)) - 3.0
    p = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
    return {"fraud_probability": p, "label": "fraud" if p >= 0.3 else "legit", "model_version": "bench"}


def make_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/score")
    def score(body: ScoreRequest) -> dict[str, Any]:
        return _score(body.features)

    return app


bare = make_app()


class NoOp:
    """A pure-ASGI middleware that does nothing: the floor any middleware pays."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


noop = NoOp(make_app())


def _guarded() -> Any:
    from clearsight.guard import ModelGuard

    return ModelGuard(make_app(), policy=os.environ["GUARD_BENCH_POLICY"])


def _slowapi() -> Any:
    from slowapi import Limiter, _rate_limit_exceeded_handler  # type: ignore[import-not-found]
    from slowapi.errors import RateLimitExceeded  # type: ignore[import-not-found]
    from slowapi.util import get_remote_address  # type: ignore[import-not-found]

    limiter = Limiter(key_func=get_remote_address, storage_uri=os.environ.get("SLOWAPI_STORAGE", "memory://"))
    app = FastAPI()
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)

    @app.post("/v1/score")
    @limiter.limit("1000000/minute")
    def score(request: Request, body: ScoreRequest) -> dict[str, Any]:
        return _score(body.features)

    return app


def _example() -> Any:
    """The fraud example's own scoring service (its model, validation and request logging), unchanged."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "fraud-detection" / "service"))
    from app import app  # type: ignore[import-not-found]

    return app


def __getattr__(name: str) -> Any:
    if name == "guarded":
        return _guarded()
    if name == "example":
        return _example()
    if name == "example_guarded":
        from clearsight.guard import ModelGuard

        return ModelGuard(_example(), policy=os.environ["GUARD_BENCH_POLICY"])
    if name == "slowapi_app":
        return _slowapi()
    raise AttributeError(name)

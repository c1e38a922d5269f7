"""Card-fraud scoring API that Kestrel Bank exposes to its partner banks.

Partner banks send one card payment and get back the model's fraud probability. The model is
loaded once at startup from a joblib file (``MODEL_PATH``), next to its ``features.json``.

Deliberately insecure, because this example exists to be assessed:

* no rate limiting or query budget, so a partner (or anyone who finds the endpoint) can query
  the model as often as they like and train a copy of it;
* the raw, unrounded probability is returned, which makes that extraction cheap;
* the ``X-Partner-Key`` header is logged, never checked;
* ``joblib.load`` unpickles the model file, so whoever can replace that file runs code here.

Run locally::

    uvicorn app:app --app-dir service --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import joblib
import numpy as np
from fastapi import FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, model_validator

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "model" / "fraud_model.joblib"

logger = logging.getLogger("fraud_scoring")


@dataclass(frozen=True)
class LoadedModel:
    """The fitted pipeline plus the metadata needed to build its input row."""

    pipeline: Any
    features: list[str]
    threshold: float
    version: str


def load_model() -> LoadedModel:
    """Load the model and its feature list from ``MODEL_PATH`` / ``FEATURES_PATH``."""
    model_path = Path(os.environ.get("MODEL_PATH", DEFAULT_MODEL_PATH))
    features_path = Path(os.environ.get("FEATURES_PATH", model_path.with_name("features.json")))
    if not model_path.is_file():
        raise RuntimeError(f"model file not found: {model_path} (run training/train.py first)")
    spec = json.loads(features_path.read_text(encoding="utf-8"))
    pipeline = joblib.load(model_path)  # unpickles: trusts whatever file sits at MODEL_PATH
    logger.info("loaded %s v%s from %s", spec["model_name"], spec["model_version"], model_path)
    return LoadedModel(
        pipeline=pipeline,
        features=list(spec["features"]),
        threshold=float(spec["decision_threshold"]),
        version=f"{spec['model_name']}-{spec['model_version']}",
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model when the server starts, not when the module is imported."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app.state.model = load_model()
    yield


app = FastAPI(title="Kestrel Bank card-fraud scoring API", version="2.3.0", lifespan=lifespan)


class ScoreRequest(BaseModel):
    """One payment, either as named features or as a list in ``features.json`` order."""

    transaction: dict[str, float] | None = None
    features: list[float] | None = None

    @model_validator(mode="after")
    def exactly_one_form(self) -> ScoreRequest:
        if (self.transaction is None) == (self.features is None):
            raise ValueError('send exactly one of "transaction" or "features"')
        return self


class ScoreResponse(BaseModel):
    """The raw model output, passed through without rounding or banding."""

    fraud_probability: float
    label: Literal["fraud", "legit"]
    model_version: str


def to_row(body: ScoreRequest, features: list[str]) -> np.ndarray:
    """Turn the request into a 1 x n feature matrix in the order the model was trained on."""
    if body.transaction is not None:
        missing = [name for name in features if name not in body.transaction]
        if missing:
            raise HTTPException(422, f"transaction is missing features: {missing}")
        return np.array([[body.transaction[name] for name in features]], dtype=np.float64)
    values = body.features or []
    if len(values) != len(features):
        raise HTTPException(422, f"expected {len(features)} features in this order: {features}")
    return np.array([values], dtype=np.float64)


@app.get("/health")
def health(request: Request) -> dict[str, str]:
    """Liveness/readiness probe used by Kubernetes."""
    model: LoadedModel = request.app.state.model
    return {"status": "ok", "model_version": model.version}


@app.post("/v1/score", response_model=ScoreResponse)
def score(
    body: ScoreRequest,
    request: Request,
    x_partner_key: Annotated[str | None, Header()] = None,
) -> ScoreResponse:
    """Score one payment for a partner bank. No quota, no authentication, raw probability."""
    model: LoadedModel = request.app.state.model
    logger.info("score request partner_key=%s client=%s", x_partner_key, request.client)
    probability = float(model.pipeline.predict_proba(to_row(body, model.features))[0, 1])
    return ScoreResponse(
        fraud_probability=probability,
        label="fraud" if probability >= model.threshold else "legit",
        model_version=model.version,
    )

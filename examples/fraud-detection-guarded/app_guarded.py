"""The fraud-detection example's scoring API with Clearsight's guard in front: the same app, two more lines.

Rate limits per partner key, model-extraction detection, rounded scores, an audit log of every decision
and Prometheus metrics on ``/metrics`` all come from ``guard.yaml``; ``../fraud-detection/service/app.py``
is unchanged (it is imported from there, so this folder holds only what the fix adds).

Run from the repository root::

    uvicorn app_guarded:app --app-dir examples/fraud-detection-guarded --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fraud-detection" / "service"))

from app import app as scoring_app  # noqa: E402  (the unguarded service, imported from its own folder)

from clearsight.guard import ModelGuard  # noqa: E402

app = ModelGuard(scoring_app, policy=HERE / "guard.yaml")

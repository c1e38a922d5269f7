"""Boundary share: answers near the decision threshold, measured in logits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
from clearsight.guard.extraction.boundary import logit, near_boundary


def test_near_means_the_same_in_logits_at_any_threshold() -> None:
    for threshold in (0.05, 0.3, 0.5):
        t = logit(threshold)
        assert near_boundary(threshold, t, 1.0)
        inside = 1 / (1 + math.exp(-(t + 0.9)))
        outside = 1 / (1 + math.exp(-(t + 1.1)))
        assert near_boundary(inside, t, 1.0) and not near_boundary(outside, t, 1.0)


def test_certain_answers_stay_finite() -> None:
    assert math.isfinite(logit(0.0)) and math.isfinite(logit(1.0))
    assert not near_boundary(0.0, logit(0.3), 1.0) and not near_boundary(1.0, logit(0.3), 1.0)


def _monitor() -> ExtractionMonitor:
    return ExtractionMonitor(ExtractionSettings(signals=("boundary",), decision_threshold=0.3), 3)


def test_probing_the_threshold_fires() -> None:
    monitor = _monitor()
    rng = np.random.default_rng(0)
    verdicts = [monitor.observe("prober", rng.normal(size=3), float(rng.uniform(0.25, 0.35))) for _ in range(20)]
    first = next(i for i, v in enumerate(verdicts, start=1) if v.fired)
    assert first == ExtractionSettings().min_queries  # every answer borderline: as soon as verdicts are allowed
    assert verdicts[-1].fired == ("boundary",)
    assert "decision threshold" in verdicts[-1].reason


def test_natural_answers_do_not_fire() -> None:
    monitor = _monitor()
    rng = np.random.default_rng(1)
    for _ in range(3000):
        p = float(rng.beta(0.3, 30)) if rng.random() > 0.02 else float(rng.random())  # mostly confident legit
        verdict = monitor.observe("bank", rng.normal(size=3), p)
        assert not verdict.fired
    assert verdict.scores["boundary_share"] == pytest.approx(0.01, abs=0.02)


def test_without_answers_there_is_no_boundary_evidence() -> None:
    monitor = _monitor()
    for _ in range(50):
        verdict = monitor.observe("c", np.zeros(3), None)
    assert "boundary_share" not in verdict.scores and not verdict.fired

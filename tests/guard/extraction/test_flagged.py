"""Flagged share: class-balanced answers from a client of a rare-event model."""

from __future__ import annotations

import numpy as np

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
from clearsight.guard.extraction.flagged import is_flagged


def _monitor(rate: float = 0.08) -> ExtractionMonitor:
    return ExtractionMonitor(ExtractionSettings(signals=("flagged",), decision_threshold=0.3, flagged_rate=rate), 2)


def test_flagged_means_at_or_above_the_threshold() -> None:
    assert is_flagged(0.3, 0.3) and is_flagged(0.9, 0.3) and not is_flagged(0.299, 0.3)


def test_balanced_classes_fire_within_a_few_dozen_queries() -> None:
    monitor = _monitor()
    rng = np.random.default_rng(0)
    fired_at = None
    for i in range(1, 200):
        verdict = monitor.observe("seed-set", rng.normal(size=2), 0.9 if i % 2 else 0.01)
        if verdict.fired:
            fired_at = i
            break
    assert fired_at is not None and fired_at <= 30
    assert verdict.fired == ("flagged",) and "positive" in verdict.reason


def test_a_high_fraud_bank_stays_quiet() -> None:
    monitor = _monitor()
    rng = np.random.default_rng(1)
    for _ in range(5000):
        verdict = monitor.observe("risky-bank", rng.normal(size=2), 0.8 if rng.random() < 0.06 else 0.01)
        assert not verdict.fired


def test_balanced_models_can_raise_the_rate() -> None:
    monitor = _monitor(rate=0.8)  # uniform answers with a 0.3 threshold: 70 % positive
    rng = np.random.default_rng(2)
    for _ in range(2000):
        assert not monitor.observe("c", rng.normal(size=2), float(rng.random())).fired

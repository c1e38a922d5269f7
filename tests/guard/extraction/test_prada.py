"""PRADA's per-client state: natural spacing passes, synthetic spacing fails, memory stays bounded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.guard.extraction import PradaDetector


def _sq(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    diff = points - t
    return np.einsum("ij,ij->i", diff, diff)


def _detector(window: int = 2000, max_distances: int = 1000, every: int = 10) -> PradaDetector:
    return PradaDetector(4, _sq, window=window, max_distances=max_distances, every=every)


def test_independent_natural_queries_look_normal() -> None:
    rng = np.random.default_rng(0)
    detector = _detector()
    for x in rng.normal(size=(600, 4)):
        detector.observe(x, 0, min_distances=100)
    assert detector.w is not None and detector.w > 0.9


def test_small_steps_from_earlier_queries_fire() -> None:
    """Augmentation-style traffic: real-looking seeds, each followed by a small synthetic step from it."""
    rng = np.random.default_rng(1)
    detector = _detector()
    for seed in rng.normal(size=(200, 4)):
        detector.observe(seed, 0, min_distances=100)
        for _ in range(2):
            detector.observe(seed + 0.02 * np.sign(rng.normal(size=4)), 0, min_distances=100)
    assert detector.w is not None and detector.w < 0.8


def test_bisection_spacing_fires() -> None:
    rng = np.random.default_rng(2)
    detector = _detector()
    for _ in range(40):
        a, b = rng.normal(size=4), rng.normal(size=4)
        lo, hi = 0.0, 1.0
        for _ in range(12):
            mid = (lo + hi) / 2
            detector.observe(a + mid * (b - a), 0, min_distances=100)
            lo, hi = (mid, hi) if rng.random() < 0.5 else (lo, mid)
    assert detector.w is not None and detector.w < 0.8


def test_no_statistic_before_enough_distances() -> None:
    detector = _detector()
    for x in np.random.default_rng(3).normal(size=(100, 4)):
        detector.observe(x, 0, min_distances=100)
    assert detector.distances == 99  # the first query of a class has nothing to be compared with
    assert detector.w is None


def test_classes_are_compared_only_with_themselves() -> None:
    detector = _detector()
    detector.observe(np.zeros(4), 0, min_distances=100)
    detector.observe(np.zeros(4), 1, min_distances=100)  # first of class 1: no distance recorded
    assert detector.distances == 0
    detector.observe(np.ones(4), 1, min_distances=100)
    assert detector.distances == 1


def test_identical_queries_do_not_crash_and_say_nothing() -> None:
    detector = _detector()
    for _ in range(200):
        detector.observe(np.ones(4), 0, min_distances=100)
    assert detector.w == 1.0


@settings(max_examples=25, deadline=None)
@given(
    window=st.integers(min_value=2, max_value=300),
    max_distances=st.integers(min_value=3, max_value=100),
    n=st.integers(min_value=1, max_value=700),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_memory_is_bounded(window: int, max_distances: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    detector = _detector(window=window, max_distances=max_distances, every=5)
    for x in rng.normal(size=(n, 4)) * rng.choice([0.001, 1.0, 100.0], size=(n, 1)):
        detector.observe(x, int(rng.integers(0, 2)), min_distances=10)
        assert detector.stored <= window
    assert detector.capacity <= window
    assert detector._distances.size == max_distances


def test_determinism() -> None:
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(400, 4))
    labels = rng.integers(0, 2, 400)
    ws = []
    for _ in range(2):
        detector = _detector(window=100, max_distances=200)
        for x, label in zip(xs, labels, strict=True):
            detector.observe(x, int(label), min_distances=50)
        ws.append(detector.w)
    assert ws[0] is not None and ws[0] == pytest.approx(ws[1], abs=0)

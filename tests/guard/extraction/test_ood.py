"""Out-of-distribution share: queries that natural traffic would never send."""

from __future__ import annotations

import numpy as np

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings, Reference
from clearsight.guard.extraction.ood import is_out_of_distribution


def _natural(n: int, seed: int) -> np.ndarray:
    """Payments with joint structure: 24h velocity >= 1h velocity, amount near the card's average."""
    rng = np.random.default_rng(seed)
    avg = rng.lognormal(3.8, 0.6, n)
    amount = avg * rng.lognormal(0, 0.2, n)
    v1 = rng.poisson(0.3, n)
    v24 = v1 + rng.poisson(2.5, n)
    mcc = rng.choice([5411.0, 5812.0, 5999.0], n, p=[0.5, 0.3, 0.2])
    return np.column_stack([amount, mcc, v1, v24, avg]).astype(float)


def _reference() -> Reference:
    return Reference.build(5, _natural(1500, 0), categorical=(1,))


def test_natural_queries_are_rarely_odd() -> None:
    ref = _reference()
    queries = _natural(2000, 1)
    odd = np.mean([is_out_of_distribution(ref, x, ref.transform(x)) for x in queries])
    assert odd < 0.02


def test_unknown_codes_fractions_and_far_points_are_odd() -> None:
    ref = _reference()
    base = _natural(1, 2)[0]
    for j, value in ((1, 4829.0), (2, 0.5), (0, 9000.0)):
        x = base.copy()
        x[j] = value
        assert is_out_of_distribution(ref, x, ref.transform(x)), (j, value)


def test_independently_drawn_features_are_odd_together() -> None:
    """Every value is real, the combination is not: each column sampled from a different payment."""
    ref = _reference()
    pool = _natural(5000, 3)
    rng = np.random.default_rng(4)
    shuffled = np.column_stack([pool[rng.permutation(len(pool)), j] for j in range(pool.shape[1])])
    odd = np.mean([is_out_of_distribution(ref, x, ref.transform(x)) for x in shuffled[:1000]])
    assert odd > 0.04


def test_random_queries_fire_and_natural_ones_do_not() -> None:
    reference = tuple(map(tuple, _natural(1000, 5)))
    settings = ExtractionSettings(signals=("ood",), reference=reference, categorical=(1,))
    monitor = ExtractionMonitor(settings, 5)
    rng = np.random.default_rng(6)
    random = np.column_stack([rng.uniform(0.5, 15_000, 50), rng.choice([5411.0, 5812.0], 50),
                              rng.integers(0, 10, 50), rng.integers(0, 30, 50), rng.uniform(1, 1000, 50)])
    fired = [monitor.observe("random", x).fired for x in random]
    assert ("ood",) in fired[:10]
    for x in _natural(3000, 7):
        assert not monitor.observe("bank", x).fired

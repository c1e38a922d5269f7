"""The detector geometry: robust scaling, categorical equality, the learned envelope, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.guard.extraction import Reference
from clearsight.guard.extraction.calibration import Calibration
from clearsight.guard.extraction.reference import robust_scale


def _sample(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([
        rng.lognormal(3.8, 0.9, n),  # amount: heavy tail
        rng.choice([5411.0, 5812.0, 7995.0], n),  # merchant code: categorical
        rng.integers(0, 24, n).astype(float),  # hour: whole
        rng.random(n),  # score in [0, 1]
    ])


def test_robust_scale_ignores_a_few_extremes_and_is_never_zero() -> None:
    column = np.concatenate([np.random.default_rng(1).normal(0, 1, 1000), [1e9] * 5])
    assert 0.8 < robust_scale(column) < 1.2
    assert robust_scale(np.zeros(10)) == 1.0
    assert robust_scale(np.array([0.0] * 95 + [1.0] * 5)) > 0


def test_categorical_codes_are_compared_by_equality() -> None:
    ref = Reference.build(4, _sample(), categorical=(1,), categorical_weight=1.5)
    a, b, c = (np.array([40.0, code, 12.0, 0.5]) for code in (5411.0, 5812.0, 7995.0))
    pa, pb, pc = (ref.transform(v) for v in (a, b, c))
    d_ab = ref.sq_distances(pb.reshape(1, -1), pa)[0]
    d_ac = ref.sq_distances(pc.reshape(1, -1), pa)[0]
    assert d_ab == pytest.approx(1.5**2) and d_ac == pytest.approx(1.5**2)


def test_heavy_tails_are_compressed() -> None:
    ref = Reference.build(4, _sample(), categorical=(1,))
    base = np.array([45.0, 5411.0, 12.0, 0.5])
    huge = base.copy()
    huge[0] = 15_000.0
    d = ref.sq_distances(ref.transform(huge).reshape(1, -1), ref.transform(base))[0]
    assert 10 < d < 100  # far, but not (15000 / scale)^2 ~ 10^5 that would swamp every other feature


def test_learned_envelope() -> None:
    ref = Reference.build(4, _sample(), categorical=(1,))
    assert ref.categories == (frozenset({5411.0, 5812.0, 7995.0}),)
    assert ref.whole == (2,)
    assert np.isfinite(ref.ood_cut) and ref.ood_cut > 0


def test_given_scale_and_center_win_over_the_sample() -> None:
    ref = Reference.build(2, None, scale=(2.0, 4.0), center=(1.0, 1.0))
    assert not ref.has_sample
    np.testing.assert_allclose(ref.transform(np.array([3.0, 5.0])), np.arcsinh([1.0, 1.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample": None}, "both scale and center"),
        ({"sample": np.ones((10, 2))}, "at least 50 rows"),
        ({"sample": np.ones((60, 3))}, "shape"),
        ({"sample": np.full((60, 2), np.nan)}, "NaN"),
        ({"sample": np.ones((60, 2)), "scale": (1.0, 0.0)}, "positive"),
        ({"sample": np.ones((60, 2)), "center": (1.0,)}, "2 features"),
        ({"sample": np.ones((60, 2)), "categorical": (5,)}, "categorical"),
    ],
)
def test_invalid_references_are_rejected(kwargs: dict[str, object], message: str) -> None:
    sample = kwargs.pop("sample")
    with pytest.raises(ValueError, match=message):
        Reference.build(2, sample, **kwargs)  # type: ignore[arg-type]


def test_calibration_caps_every_client() -> None:
    calibration = Calibration(size=100, share=0.1)
    for _ in range(500):
        assert calibration.offer("eager", np.zeros(3)) is None
    assert calibration.collected == 10
    sample = None
    for i in range(9):
        for _ in range(10):
            sample = calibration.offer(f"c{i}", np.ones(3))
    assert sample is not None and sample.shape == (100, 3)
    assert (sample == 0).all(axis=1).sum() == 10


def test_cached_norm_scan_matches_the_plain_one() -> None:
    ref = Reference.build(4, _sample(), categorical=(1,))
    rng = np.random.default_rng(5)
    for x in _sample(200, seed=6) * rng.lognormal(0, 0.3, (200, 1)) ** np.array([1, 0, 0, 0]):
        t = ref.transform(x)
        assert ref.nearest_sample_sq(t) == pytest.approx(float(ref.sq_distances(ref.points, t).min()), abs=1e-9)

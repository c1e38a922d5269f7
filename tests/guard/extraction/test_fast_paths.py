"""The per-request fast paths give what the straightforward computations give, bit for bit.

``ExtractionMonitor.observe`` runs on every request, so its detectors use buffers, BLAS scans that only
screen candidates, and direct kernels (reference.py, prada.py, normality.py). These tests hold each fast path
to the plain computation it replaces: the transformed query, the squared distances, the out-of-distribution
decision, PRADA's recorded distances, thresholds and W, the Shapiro-Wilk statistic and the rate windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from clearsight.guard.extraction import (
    ExtractionMonitor,
    ExtractionSettings,
    PradaDetector,
    RateTracker,
    Reference,
    normality,
)
from clearsight.guard.extraction.monitor import _vector
from clearsight.guard.extraction.ood import is_out_of_distribution, is_out_of_distribution_fast
from clearsight.guard.extraction.rates import critical_counts


def _sample(n: int, d: int, seed: int, codes: int = 6) -> np.ndarray:
    """Mixed features: heavy-tailed, whole-numbered and categorical columns, as payments have."""
    rng = np.random.default_rng(seed)
    columns = []
    for j in range(d):
        kind = j % 4
        if kind == 0:
            columns.append(rng.lognormal(3.5, 1.2, n))
        elif kind == 1:
            columns.append(rng.integers(0, codes, n).astype(float) * 7 + 5400)
        elif kind == 2:
            columns.append(rng.integers(0, 24, n).astype(float))
        else:
            columns.append(rng.normal(0.0, 3.0, n))
    return np.column_stack(columns)


def _queries(sample: np.ndarray, n: int, seed: int, keep: tuple[int, ...] = ()) -> np.ndarray:
    """Exact copies of sample rows, tiny steps from them, and uniform random points (``keep``: real codes)."""
    rng = np.random.default_rng(seed)
    picks = sample[rng.integers(0, len(sample), n)]
    out = picks.copy()
    kind = rng.integers(0, 4, n)
    steps = 10.0 ** rng.integers(-12, 0, (n, 1)) * rng.normal(size=picks.shape)
    out[kind == 1] = picks[kind == 1] + steps[kind == 1]
    low, high = sample.min(axis=0), sample.max(axis=0)
    out[kind == 2] = low + rng.random(((kind == 2).sum(), sample.shape[1])) * (high - low) * 1.5
    for j in keep:
        out[kind == 2, j] = picks[kind == 2, j]
    return out  # kind 0 and 3: exact sample rows


CASES = [(5, ()), (5, (1,)), (10, (1,)), (10, (1, 5)), (3, (0, 1, 2)), (1, ())]


@pytest.mark.parametrize(("d", "categorical"), CASES)
def test_transform_into_is_transform(d: int, categorical: tuple[int, ...]) -> None:
    sample = _sample(400, d, seed=d)
    ref = Reference.build(d, sample, categorical=categorical)
    work = ref.workspace()
    for x in np.vstack([_queries(sample, 300, 1), sample[:50] * 1e6, -sample[:50]]):
        ref.transform_into(x, x.tolist(), work)
        expected = ref.transform(x)
        assert np.array_equal(work.t(), expected)
        k = len(ref.numeric)
        assert work.norm_sq == pytest.approx(float(expected[:k] @ expected[:k]), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(("d", "categorical"), CASES)
def test_one_row_distance_is_the_batch_distance_bit_for_bit(d: int, categorical: tuple[int, ...]) -> None:
    sample = _sample(300, d, seed=10 + d)
    ref = Reference.build(d, sample, categorical=categorical, categorical_weight=1.7)
    work = ref.workspace()
    k = len(ref.numeric)
    for x in _queries(sample, 200, 2):
        t = ref.transform(x)
        work.load(t)
        batch = ref.sq_distances(ref.points, t)
        rows = [ref.sq_distance_to(p[:k], p[k:].tolist(), work) for p in ref.points]
        assert np.array_equal(np.array(rows), batch)


@pytest.mark.parametrize(("d", "categorical"), CASES)
def test_ood_scan_decides_as_the_plain_scan(d: int, categorical: tuple[int, ...]) -> None:
    sample = _sample(500, d, seed=20 + d)
    ref = Reference.build(d, sample, categorical=categorical, categorical_weight=0.8)
    work = ref.workspace()
    decided = set()
    rng = np.random.default_rng(5)
    mixed = np.column_stack([sample[rng.permutation(len(sample)), j] for j in range(d)])  # real values, odd mixes
    for x in np.vstack([_queries(sample, 600, 3, keep=categorical), mixed]):
        t = ref.transform(x)
        if any(float(x[j]) not in seen for seen, j in zip(ref.categories, ref.categorical, strict=True)):
            continue  # the scan is only asked about codes the sample holds
        work.load(t)
        expected = ref.nearest_sample_sq(t) > ref.ood_cut
        assert ref.exceeds_ood_cut(work) == expected
        assert is_out_of_distribution_fast(ref, x.tolist(), work) == is_out_of_distribution(ref, x, t)
        decided.add(expected)
    if ref.numeric:  # all-categorical: every code combination here is within the cut
        assert decided == {True, False}


def test_ood_scan_falls_back_to_the_plain_scan_at_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries whose nearest distance is within rounding of the cut: the screen defers to the original scan."""
    sample = _sample(200, 4, seed=30)
    sample = np.vstack([sample, sample])  # every row has a twin: leave-one-out distances ~0, so the cut is ~0
    ref = Reference.build(4, sample, categorical=(1,))
    assert 0.0 <= ref.ood_cut < 1e-12
    plain = Reference.nearest_sample_sq
    calls = []

    def counted(self: Reference, t: np.ndarray) -> float:
        calls.append(1)
        return plain(self, t)

    monkeypatch.setattr(Reference, "nearest_sample_sq", counted)
    work = ref.workspace()
    for x in sample[:50]:
        t = ref.transform(x)
        work.load(t)
        expected = plain(ref, t) > ref.ood_cut
        assert ref.exceeds_ood_cut(work) == expected
    assert len(calls) == 50


def _both_detectors(ref: Reference, window: int) -> tuple[PradaDetector, PradaDetector]:
    plain = PradaDetector(ref.n_features, ref.sq_distances, window=window, max_distances=150, every=5)
    fast = PradaDetector.for_reference(ref, window=window, max_distances=150, every=5)
    return plain, fast


@pytest.mark.parametrize(("d", "categorical"), CASES)
@pytest.mark.parametrize("window", [2, 37, 300])
def test_screened_prada_is_plain_prada(d: int, categorical: tuple[int, ...], window: int) -> None:
    sample = _sample(300, d, seed=40 + d, codes=3)
    ref = Reference.build(d, sample, categorical=categorical, categorical_weight=1.3)
    plain, fast = _both_detectors(ref, window)
    rng = np.random.default_rng(window)
    queries = _queries(sample, 700, 4)
    for i, x in enumerate(queries):
        if i % 7 == 3:  # exact repeats and near-repeats of the previous query: ties for the nearest vector
            x = queries[i - 1] + (0.0 if i % 2 else 1e-9)
        t = ref.transform(x)
        label = int(rng.random() < 0.3)
        plain.observe(t, label, min_distances=20)
        fast.observe(t, label, min_distances=20)
        assert fast.distances == plain.distances and fast.stored == plain.stored
        assert fast.w == plain.w
    n = min(plain.distances, 150)
    assert np.array_equal(fast._distances[:n], plain._distances[:n])
    assert fast._thresholds == plain._thresholds
    assert fast.capacity == plain.capacity <= window


def test_screened_prada_takes_classes_0_and_1_only() -> None:
    ref = Reference.build(2, _sample(100, 2, seed=50))
    fast = PradaDetector.for_reference(ref, window=10, max_distances=10, every=5)
    fast.observe(np.zeros(2), 0, min_distances=5)
    with pytest.raises(ValueError, match="0 and 1"):
        fast.observe(np.zeros(2), 2, min_distances=5)
    plain = PradaDetector(2, ref.sq_distances, window=10, max_distances=10, every=5)
    with pytest.raises(TypeError):
        plain.observe_query(ref.workspace(), 0, min_distances=5)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 600), seed=st.integers(0, 2**16), scale=st.sampled_from([1e-6, 1.0, 1e6]))
def test_shapiro_w_is_scipys_statistic(n: int, seed: int, scale: float) -> None:
    values = np.random.default_rng(seed).lognormal(size=n) * scale
    expected = float(stats.shapiro(values).statistic)
    assert normality.shapiro_w(values) == expected
    assert normality.shapiro_w(values, np.sort(values)) == expected  # again: cached coefficients, given order
    assert normality._shapiro_direct(values) == expected  # the shortcut itself, whichever this SciPy uses


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 1500), offset=st.integers(0, 7), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1e-9, 1.0, 1e9]))
def test_spread_is_numpys_mean_and_std(n: int, offset: int, seed: int, scale: float) -> None:
    values = (np.random.default_rng(seed).lognormal(size=n + offset) * scale)[offset:]
    std, centered = normality.spread(values)
    assert std == float(values.std())
    assert np.array_equal(centered, values - values.mean())
    assert normality._spread_direct(values)[0] == float(values.std())


@settings(max_examples=30, deadline=None)
@given(window=st.integers(1, 40), events=st.lists(st.booleans(), max_size=120))
def test_rate_tracker_takes_a_list_or_an_array(window: int, events: list[bool]) -> None:
    table = critical_counts(window, 0.1, 1e-6)
    trackers = [RateTracker(table), RateTracker(table.tolist())]
    for hit in events:
        for tracker in trackers:
            tracker.add(hit)
        assert len({(t.n, t.count, t.share, t.alarming) for t in trackers}) == 1


def test_vector_fast_path_accepts_what_the_checked_path_accepts() -> None:
    finite_but_huge = np.full(4, 1e308)  # its sum overflows; every value is finite
    vector, values = _vector(finite_but_huge, 4)
    assert values == [1e308] * 4 and np.array_equal(vector, finite_but_huge)
    for bad in (np.array([1.0, np.nan, 2.0, 3.0]), np.array([1.0, np.inf, -np.inf, 3.0])):
        with pytest.raises(ValueError, match="NaN or infinite"):
            _vector(bad, 4)
    swapped = np.arange(4.0).astype(">f8")  # not native float64: the checked path converts it
    vector, values = _vector(swapped, 4)
    assert vector.dtype == np.float64 and values == [0.0, 1.0, 2.0, 3.0]
    vector, values = _vector([1, 2, 3, 4], 4)
    assert vector.dtype == np.float64 and values == [1.0, 2.0, 3.0, 4.0]


def _plain_verdicts(config: ExtractionSettings, d: int, stream: list[tuple[str, Any, float | None]]) -> list[Any]:
    """The monitor's verdicts with every detector on its straightforward path (what observe did before)."""
    monitor = ExtractionMonitor(config, d)
    out = []
    for client, x, output in stream:
        with monitor._lock:
            state = monitor._client(client)
            state.queries += 1
            vector = np.asarray(x, dtype=np.float64)
            if monitor._calibration is not None:
                monitor._calibrate(client, vector)
            _plain_update(monitor, state, vector, output)
            out.append(monitor._verdict(client, state))
    return out


def _plain_update(monitor: ExtractionMonitor, state: Any, x: np.ndarray, output: float | None) -> None:
    from clearsight.guard.extraction.boundary import near_boundary

    s = monitor.settings
    if output is not None:
        if state.boundary is not None:
            state.boundary.add(near_boundary(output, monitor._threshold_logit, s.boundary_margin))
        if state.flagged is not None:
            state.flagged.add(output >= s.decision_threshold)
    reference = monitor.reference
    if reference is None:
        return
    t = reference.transform(x)
    if state.prada is None:
        state.prada = PradaDetector(reference.n_features, reference.sq_distances, window=s.window,
                                    max_distances=s.prada_distances, every=s.prada_every)
    state.prada.observe(t, int(output is not None and output >= s.decision_threshold), s.prada_min_distances)
    if monitor._ood_table is not None and reference.has_sample:
        if state.ood is None:
            state.ood = RateTracker(monitor._ood_table)
        state.ood.add(is_out_of_distribution(reference, x, t))


@pytest.mark.parametrize("categorical", [(), (1,), (1, 3)])
def test_monitor_fast_path_matches_the_plain_detectors(categorical: tuple[int, ...]) -> None:
    d = 6
    sample = _sample(400, d, seed=60)
    config = ExtractionSettings(reference=tuple(map(tuple, sample)), categorical=categorical, window=60,
                                prada_distances=80, prada_min_distances=20, prada_every=4, max_clients=4,
                                rate_window=40)
    rng = np.random.default_rng(61)
    queries = _queries(sample, 1500, 62)
    clients = [f"c{int(rng.integers(0, 3))}" if rng.random() < 0.9 else f"once-{i}" for i in range(len(queries))]
    stream = [(client, x if i % 3 else x.tolist(), None if i % 11 == 0 else float(rng.random()))
              for i, (client, x) in enumerate(zip(clients, queries, strict=True))]  # max_clients 4: evictions
    monitor = ExtractionMonitor(config, d)
    fast = [monitor.observe(client, x, output) for client, x, output in stream]
    plain = _plain_verdicts(config, d, stream)
    assert fast == plain
    assert any(v.fired for v in fast) and any("prada_w" in v.scores for v in fast)

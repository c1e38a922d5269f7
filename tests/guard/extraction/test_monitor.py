"""ExtractionMonitor: the interface the guard codes against, input checks, bounded state, threads."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.guard.extraction import SIGNALS, ExtractionMonitor, ExtractionSettings, ExtractionVerdict

D = 4


def _reference(n: int = 300, seed: int = 0) -> tuple[tuple[float, ...], ...]:
    return tuple(map(tuple, np.random.default_rng(seed).normal(size=(n, D))))


def _monitor(**overrides: Any) -> ExtractionMonitor:
    values: dict[str, Any] = {"reference": _reference(), "decision_threshold": 0.3}
    values.update(overrides)
    return ExtractionMonitor(ExtractionSettings(**values), D)


# ---------------------------------------------------------------- interface
def test_defaults_run_every_signal_with_prada_first() -> None:
    s = ExtractionSettings()
    assert s.signals == SIGNALS and s.signals[0] == "prada"
    assert 0 < s.prada_threshold < 1 and s.min_queries >= 1 and s.window >= 2 and s.max_clients >= 1
    assert s.scale is None


def test_verdict_shape() -> None:
    monitor = _monitor()
    verdict = monitor.observe("bank", np.zeros(D), 0.01)
    assert isinstance(verdict, ExtractionVerdict)
    assert verdict.queries == 1 and verdict.fired == () and verdict.reason == ""
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in verdict.scores.items())


def test_a_firing_verdict_explains_itself() -> None:
    monitor = _monitor()
    for _ in range(20):
        verdict = monitor.observe("prober", np.random.default_rng().normal(size=D), 0.3)
    assert verdict.fired and "boundary" in verdict.fired
    assert "'prober'" in verdict.reason and "20 queries" in verdict.reason and verdict.reason.endswith(".")


def test_no_verdict_before_min_queries() -> None:
    monitor = _monitor(min_queries=15)
    fired = [bool(monitor.observe("prober", np.full(D, 9.0), 0.3).fired) for _ in range(20)]
    assert not any(fired[:14]) and all(fired[14:])


def test_policy_tuning_numbers_are_accepted() -> None:
    """The guard passes tuning values as floats; whole floats are fine for integer settings."""
    s = ExtractionSettings(**{"window": 500.0, "prada_every": 5.0, "boundary_rate": 0.1})  # type: ignore[arg-type]
    assert s.window == 500 and isinstance(s.window, int) and s.prada_every == 5


@pytest.mark.parametrize(
    "overrides",
    [
        {"signals": ("prada", "telepathy")},
        {"prada_threshold": 1.5},
        {"prada_threshold": 0.0},
        {"min_queries": 0},
        {"window": 10.5},
        {"window": True},
        {"max_clients": 0},
        {"boundary_rate": 1.0},
        {"alarm_probability": 0.0},
        {"boundary_margin": -1.0},
        {"decision_threshold": float("nan")},
        {"calibration_queries": 10},
    ],
)
def test_bad_settings_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ExtractionSettings(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [{"scale": (1.0,) * (D + 1)}, {"scale": (1.0, 0.0, 1.0, 1.0)}, {"center": (0.0, np.inf, 0.0, 0.0)},
     {"categorical": (D,)}, {"reference": ((1.0, 2.0),) * 100}],
)
def test_settings_that_do_not_fit_the_features_fail_at_construction(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ExtractionMonitor(ExtractionSettings(**overrides), D)


@pytest.mark.parametrize("n_features", [0, -1, 2.5, True])
def test_bad_feature_counts(n_features: Any) -> None:
    with pytest.raises(ValueError):
        ExtractionMonitor(ExtractionSettings(), n_features)


# ---------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "x",
    [np.zeros(D + 1), np.zeros((1, D)), np.array([0.0, np.nan, 0.0, 0.0]), np.array([np.inf, 0, 0, 0]),
     np.array(["a", "b", "c", "d"]), [1.0, 2.0, 3.0], "1,2,3,4", None, np.array([1 + 2j, 0, 0, 0])],
)
def test_bad_vectors_raise_a_clear_value_error(x: Any) -> None:
    monitor = _monitor()
    with pytest.raises(ValueError, match="x "):
        monitor.observe("c", x, 0.1)
    assert monitor.clients() == 0


@pytest.mark.parametrize("output", [float("nan"), 1.5, -0.1, True, "0.3", float("inf")])
def test_bad_outputs_raise(output: Any) -> None:
    monitor = _monitor()
    with pytest.raises(ValueError, match="output"):
        monitor.observe("c", np.zeros(D), output)
    assert monitor.clients() == 0


def test_bad_client_raises() -> None:
    with pytest.raises(ValueError, match="client"):
        _monitor().observe(42, np.zeros(D))  # type: ignore[arg-type]


def test_lists_and_integers_are_accepted() -> None:
    verdict = _monitor().observe("c", [1, 2, 3, 4], np.float32(0.2))  # type: ignore[arg-type]
    assert verdict.queries == 1


# ---------------------------------------------------------------- bounded state
def test_least_recently_seen_client_is_dropped() -> None:
    monitor = _monitor(max_clients=3)
    for name in ("a", "b", "c"):
        monitor.observe(name, np.zeros(D))
    monitor.observe("a", np.zeros(D))  # a is now the most recent
    monitor.observe("d", np.zeros(D))  # b goes
    assert monitor.clients() == 3
    assert monitor.observe("a", np.zeros(D)).queries == 3
    assert monitor.observe("b", np.zeros(D)).queries == 1  # forgotten, starts over (and evicts c)
    assert monitor.observe("d", np.zeros(D)).queries == 2


def test_forget() -> None:
    monitor = _monitor()
    monitor.observe("a", np.zeros(D))
    monitor.forget("a")
    monitor.forget("never-seen")
    assert monitor.clients() == 0
    assert monitor.observe("a", np.zeros(D)).queries == 1


@settings(max_examples=20, deadline=None)
@given(
    window=st.integers(2, 40),
    rate_window=st.integers(1, 40),
    max_clients=st.integers(1, 4),
    stream=st.lists(st.tuples(st.integers(0, 6), st.floats(0, 1)), min_size=1, max_size=150),
)
def test_memory_stays_bounded(window: int, rate_window: int, max_clients: int, stream: list[tuple[int, float]]
                              ) -> None:
    monitor = _monitor(window=window, rate_window=rate_window, max_clients=max_clients, prada_distances=10,
                       prada_min_distances=5)
    rng = np.random.default_rng(len(stream))
    for client, p in stream:
        monitor.observe(f"c{client}", rng.normal(size=D) * 10, p)
        assert monitor.clients() <= max_clients
        for state in monitor._clients.values():
            assert state.prada is None or state.prada.stored <= window
            for tracker in (state.boundary, state.ood, state.flagged):
                assert tracker is None or tracker.n <= rate_window


# ---------------------------------------------------------------- determinism and threads
def _stream(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)), rng.beta(0.5, 5, n)


def test_same_stream_same_verdicts() -> None:
    x, p = _stream(1)
    runs = []
    for _ in range(2):
        monitor = _monitor()
        runs.append([monitor.observe("c", row, float(a)) for row, a in zip(x, p, strict=True)])
    assert runs[0] == runs[1]


def test_many_threads_observing() -> None:
    monitor = _monitor(max_clients=100)
    x, p = _stream(2, 300)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i, (row, a) in enumerate(zip(x, p, strict=True)):
                monitor.observe(f"client-{(t + i) % 5}", row, float(a))
                if i % 50 == 0:
                    monitor.clients()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert monitor.clients() == 5
    assert sum(state.queries for state in monitor._clients.values()) == 8 * 300


# ---------------------------------------------------------------- learning the reference from traffic
def test_reference_is_learned_from_early_traffic_with_every_client_capped() -> None:
    monitor = ExtractionMonitor(ExtractionSettings(calibration_queries=100, calibration_share=0.2), D)
    rng = np.random.default_rng(3)
    for _ in range(500):  # one eager client cannot complete (or dominate) the calibration
        monitor.observe("eager", rng.normal(size=D) + 100)
    assert monitor.reference is None
    for client in range(4):
        for _ in range(20):
            monitor.observe(f"bank-{client}", rng.normal(size=D))
    reference = monitor.reference
    assert reference is not None and reference.points.shape == (100, D)
    assert float(np.median(reference.center)) < 5  # the eager client's 20 % did not move the medians to 100


def test_known_scale_and_center_need_no_sample_for_prada() -> None:
    settings = ExtractionSettings(signals=("prada",), scale=(1.0,) * D, center=(0.0,) * D)
    monitor = ExtractionMonitor(settings, D)
    assert monitor.reference is not None and not monitor.reference.has_sample

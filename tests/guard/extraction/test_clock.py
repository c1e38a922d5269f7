"""The clock signal: whether the hour of day a client's queries carry follows the clock they arrive by."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
from clearsight.guard.extraction.clock import ClockTracker, hour_offset

HOUR = 3_600.0
DAY = 24 * HOUR


def test_the_offset_is_the_feature_hour_less_the_clock_hour_around_the_day() -> None:
    assert hour_offset(14, 14 * HOUR + 59) == 0
    assert hour_offset(15.0, 14 * HOUR) == 1  # one time zone east
    assert hour_offset(0, 23 * HOUR + 3 * DAY) == 1  # past midnight, days later
    assert hour_offset(23, 0.0) == 23
    assert hour_offset(23.9, 23 * HOUR) == 0  # a fractional hour is the hour it is in
    assert [hour_offset(h, 0.0) for h in (-1.0, 24.0, 1e9)] == [-1, -1, -1]  # no hour of day


def test_the_share_is_the_best_two_neighbouring_hours_and_the_window_forgets() -> None:
    tracker = ClockTracker(4)
    assert tracker.share == 1.0 and tracker.n == 0
    for offset in (23, 0, 0, 5):  # 23 and 0 are neighbours across midnight
        tracker.add(offset)
    assert tracker.share == 0.75 and tracker.n == 4
    tracker.add(-1)  # the first 23 leaves; a value that is no hour counts against every pair
    assert tracker.share == 0.5
    for offset in (7, 7, 7, 7):
        tracker.add(offset)
    assert tracker.share == 1.0 and tracker.n == 4


def _monitor(**overrides: object) -> ExtractionMonitor:
    values: dict[str, object] = {"signals": ("clock",), "clock_feature": 1, "scale": (1.0, 1.0),
                                 "center": (0.0, 0.0), **overrides}
    return ExtractionMonitor(ExtractionSettings(**values), 2)  # type: ignore[arg-type]


def _send(monitor: ExtractionMonitor, client: str, hours: list[float], times: list[float]) -> list[tuple[str, ...]]:
    return [monitor.observe(client, np.array([10.0, h]), 0.1, at=t).fired for h, t in zip(hours, times, strict=True)]


def test_a_client_scoring_in_real_time_never_fires_whatever_its_time_zone() -> None:
    """Payments scored as they happen, an hour ahead of the clock, some crossing the hour on their way."""
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0, 5 * DAY, 600))
    hours = [(t // HOUR + 1) % 24 for t in times]
    late = times + rng.exponential(20.0, len(times))  # scored seconds after: the hour may have turned
    monitor = _monitor()
    assert not any(_send(monitor, "bank", hours, list(late)))


def test_a_replay_of_held_payments_fires_at_its_first_judgement() -> None:
    rng = np.random.default_rng(2)
    hours = list(rng.integers(0, 24, 60).astype(float))
    monitor = _monitor(clock_min_queries=30)
    fired = _send(monitor, "copier", hours, [float(i) for i in range(60)])  # a query a second
    assert fired.index(("clock",)) == 29 and not any(fired[:29])
    verdict = monitor.observe("copier", np.array([1.0, 3.0]), 0.1, at=60.0)
    assert verdict.scores["clock_share"] < 0.5
    assert "do not follow the clock" in verdict.reason and "real-time clients: at least 50%" in verdict.reason


def test_the_wall_clock_is_read_when_no_time_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wall clock an hour on at each query: the partner's hours follow it, a constant hour does not."""
    from clearsight.guard.extraction import monitor as monitor_module

    wall = iter(1.7e9 + HOUR * np.arange(100))
    monkeypatch.setattr(monitor_module, "time", SimpleNamespace(time=lambda: float(next(wall)),
                                                                monotonic=time.monotonic))
    monitor = _monitor(clock_min_queries=5)
    start = int(1.7e9 // HOUR)
    assert not any(monitor.observe("bank", np.array([1.0, float((start + i) % 24)]), 0.1).fired for i in range(8))
    fired = [monitor.observe("copier", np.array([1.0, 3.0]), 0.1).fired for _ in range(5)]
    assert fired == [(), (), (), (), ("clock",)]


def test_without_a_clock_feature_the_signal_is_silent() -> None:
    monitor = _monitor(clock_feature=None, signals=("clock", "volume"), volume_limit=10_000)
    verdicts = [monitor.observe("c", np.array([1.0, float(i % 24)]), 0.1, at=0.0) for i in range(60)]
    assert not any(v.fired for v in verdicts) and "clock_share" not in verdicts[-1].scores


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"clock_feature": 2}, r"clock_feature must be a feature index in \[0, 2\)"),
     ({"signals": ("ood",)}, "clock_feature is set but 'clock' is not among the signals"),
     ({"clock_min_queries": 300}, r"clock_min_queries \(300\) cannot exceed clock_window \(200\)"),
     ({"clock_share": 0.0}, r"clock_share must lie in \(0.0, 1.0\]"),
     ({"clock_window": 1}, "clock_window must be at least 2")],
)
def test_settings_that_cannot_work_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _monitor(**overrides)

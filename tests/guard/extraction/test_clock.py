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


def test_a_bad_wall_time_is_refused_before_anything_is_counted() -> None:
    monitor = _monitor(signals=("clock", "volume"), volume_limit=100)
    for bad in ("x", float("nan"), True, 10**400):
        with pytest.raises(ValueError, match="at must be a finite number of seconds"):
            monitor.observe("c", np.array([1.0, 3.0]), 0.1, at=bad)  # type: ignore[arg-type]
    assert monitor.clients() == 0


def test_the_threshold_is_strict_the_reason_exact_and_no_score_is_needed() -> None:
    """Fewer than ``clock_share`` fires, exactly that does not; the input side alone judges (no score read)."""
    monitor = _monitor(clock_window=8, clock_min_queries=8)
    assert not any(_send(monitor, "half", [0.0, 0.0, 1.0, 1.0, 5.0, 10.0, 15.0, 20.0], [0.0] * 8))  # 50 %
    hours = (0.0, 5.0, 10.0, 15.0) * 2
    verdicts = [monitor.observe("quarter", np.array([1.0, h]), None, at=0.0) for h in hours]
    assert [v.fired for v in verdicts] == [()] * 7 + [("clock",)]
    assert ("the hours of day its queries carry do not follow the clock (only 25% of its last 8 within two "
            "neighbouring hours of it; real-time clients: at least 50%)") in verdicts[-1].reason


@pytest.mark.parametrize(("zone", "shift"), [("India, +5:30", 5.5 * HOUR), ("Nepal, +5:45", 5.75 * HOUR),
                                             ("Newfoundland, -3:30", -3.5 * HOUR)])
def test_half_hour_zones_and_a_daylight_saving_change_do_not_fire(zone: str, shift: float) -> None:
    """A local hour in a zone off the hour lands in two neighbouring differences; a clock change moves them by
    one: the window then holds at most three neighbouring ones, most of it in two."""
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0, 6 * DAY, 800))
    dst = np.where(times > 3 * DAY, HOUR, 0.0)  # summer time from the fourth day
    hours = [((t + shift + d) // HOUR) % 24 for t, d in zip(times, dst, strict=True)]
    assert not any(_send(_monitor(), zone, hours, list(times)))


def test_the_guard_judges_the_hours_a_client_sends_against_its_clock() -> None:
    """Through the guard: a partner sending the current UTC hour passes; one replaying random hours is caught."""
    from clearsight.guard.engine import Guard
    from clearsight.guard.policy import parse_policy

    guard = Guard(parse_policy(
        "audit: {enabled: false}\nalerts: {log: false}\nroutes:\n  - path: /s\n"
        "    input: {paths: $.f, feature_names: [amount, hour]}\n    output: {scores: $.p}\n"
        "    extraction: {clock: hour, signals: [clock], scale: [1.0, 1.0]}\n"))
    route = guard.policy.routes[0]
    rng = np.random.default_rng(4)

    def ask(client: str, hour: float) -> list[str]:
        admission = guard.inspect(route, b'{"f": [10.0, %d]}' % int(hour))
        return guard.review(route, client, admission, 200, b'{"p": 0.1}').reasons

    partner = [ask("partner", time.gmtime().tm_hour) for _ in range(40)]
    replay = [ask("copier", float(h)) for h in rng.integers(0, 24, 40)]
    assert not any(partner)
    assert replay.index(["extraction:clock"]) == 29


def test_a_clock_index_past_the_features_skips_detection_instead_of_failing_the_request() -> None:
    """Without feature names the policy cannot check the index; the first vector can: each answer then says
    the detectors were skipped and why, where every request used to fail with a 500."""
    from clearsight.guard.engine import Guard
    from clearsight.guard.policy import parse_policy

    guard = Guard(parse_policy(
        "audit: {enabled: false}\nalerts: {log: false}\nroutes:\n  - path: /s\n    input: {paths: $.f}\n"
        "    output: {scores: $.p}\n    extraction: {clock: 15, volume: 9/day}\n"))
    route = guard.policy.routes[0]
    admission = guard.inspect(route, b'{"f": [10.0, 3.0]}')
    guard.count_answer(route, "c", admission)
    review = guard.review(route, "c", admission, 200, b'{"p": 0.1}')
    assert review.reasons == ["extraction.skipped: clock_feature must be a feature index in [0, 2), got 15"]

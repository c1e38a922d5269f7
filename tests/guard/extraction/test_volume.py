"""The volume signal: queries over the trailing period, counted in fixed slots, against a stated limit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
from clearsight.guard.extraction.volume import BUCKETS, VolumeTracker

DAY = 86_400.0
SLOT = DAY / BUCKETS


def test_counts_within_the_period_and_forgets_what_left_it() -> None:
    tracker = VolumeTracker(DAY)
    assert [tracker.add(t) for t in (0.0, 10.0, 3_600.0)] == [1, 2, 3]
    assert tracker.add(DAY - 1) == 4  # still the same day
    assert tracker.add(DAY + SLOT) == 3  # the first slot (0 and 10 s) has left the window, 3,600 s has not
    assert tracker.add(3 * DAY) == 1  # a long silence empties it


def test_a_clock_that_steps_back_loses_no_query() -> None:
    tracker = VolumeTracker(DAY)
    tracker.add(5 * SLOT)
    assert tracker.add(0.0) == 2 and tracker.add(-1e9) == 3


@pytest.mark.parametrize("origin", [0.0, 1.7e9, 1e15])
def test_the_clocks_origin_costs_no_precision(origin: float) -> None:
    """Slots count from the first query: at an epoch of 1e15 s, 7.4 s still spans two one-second slots."""
    tracker = VolumeTracker(96.0)  # one-second slots
    assert tracker.add(origin) == 1
    assert tracker.add(origin + 95.5) == 2
    assert tracker.add(origin + 96.0) == 2  # the first query's slot has left the window
    assert tracker.add(origin + 300.0) == 1


def test_periods_shorter_than_a_second_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 60 s"):
        VolumeTracker(1e-300)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 4 * DAY, allow_nan=False), min_size=1, max_size=300), st.booleans())
def test_the_count_is_the_exact_trailing_slots(times: list[float], in_order: bool) -> None:
    """Against a plain recount: the current slot and the BUCKETS - 1 before it (a late time counts in the newest
    slot); with times in order, never more than the exact trailing period holds."""
    tracker = VolumeTracker(DAY)
    stream = sorted(times) if in_order else times
    seen: list[int] = []
    newest = None
    for k, t in enumerate(stream):
        slot = int((t - stream[0]) // SLOT)
        newest = slot if newest is None else max(newest, slot)
        seen.append(newest)
        expected = sum(1 for s in seen if s > newest - BUCKETS)
        assert tracker.add(t) == expected
        if in_order:
            assert expected <= sum(1 for u in stream[: k + 1] if t - DAY < u)  # never above the exact day


def _monitor(**overrides: Any) -> ExtractionMonitor:
    values: dict[str, Any] = {"signals": ("volume",), "scale": (1.0,) * 3, "center": (0.0,) * 3,
                              "volume_limit": 5}
    values.update(overrides)
    return ExtractionMonitor(ExtractionSettings(**values), 3)


def test_fires_beyond_the_limit_and_says_how_many() -> None:
    monitor = _monitor()
    verdicts = [monitor.observe("scraper", np.zeros(3), 0.1, now=60.0 * i) for i in range(7)]
    assert [v.fired for v in verdicts] == [()] * 5 + [("volume",)] * 2
    assert verdicts[4].scores == {"volume_ratio": 1.0}
    assert "sent 6 queries in the last day (natural clients: at most 5)" in verdicts[5].reason


def test_a_client_under_the_limit_every_day_never_fires() -> None:
    monitor = _monitor()
    for day in range(10):
        for i in range(5):
            assert not monitor.observe("partner", np.zeros(3), 0.1, now=day * DAY + i * 3_600.0).fired


def test_clients_are_counted_apart() -> None:
    monitor = _monitor()
    for i in range(5):
        monitor.observe("a", np.zeros(3), now=float(i))
    assert not monitor.observe("b", np.zeros(3), now=5.0).fired
    assert monitor.observe("a", np.zeros(3), now=6.0).fired == ("volume",)


def test_a_count_kept_elsewhere_is_judged_as_given_from_the_first_query() -> None:
    """Replicas sharing one count: this process may see a client for the first time at its 100th query."""
    monitor = _monitor(volume_limit=50)
    first = monitor.observe("copier", np.zeros(3), 0.1, sent=100)
    assert first.fired == ("volume",) and first.scores == {"volume_ratio": 2.0}
    assert "after 100 queries: it sent 100 queries in the last day" in first.reason
    assert not monitor.observe("bank", np.zeros(3), 0.1, sent=50).fired  # at the limit, not past it
    for _ in range(3):  # the local count is not kept alongside: only the count given judges
        monitor.observe("partner", np.zeros(3), 0.1, sent=1)
    assert monitor.observe("partner", np.zeros(3), 0.1, sent=2).scores == {"volume_ratio": 0.04}


def test_counting_first_then_judging_counts_each_query_once() -> None:
    """The guard counts an answer (count) before it reviews it (observe with what count said)."""
    monitor = _monitor(volume_limit=3)
    verdicts = []
    for i in range(5):
        sent = monitor.count("c", now=float(i))
        verdicts.append(monitor.observe("c", np.zeros(3), 0.1, sent=sent))
    assert [v.scores["volume_ratio"] for v in verdicts] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    assert monitor.count("c", now=5.0) == 6  # observe added nothing of its own
    with pytest.raises(ValueError, match="no volume to count against"):
        _monitor(volume_limit=None).count("c")


def test_min_queries_holds_back_the_statistical_signals_but_not_a_count() -> None:
    monitor = _monitor(volume_limit=2, min_queries=10)
    assert [monitor.observe("c", np.zeros(3), now=float(i)).fired for i in range(4)] == [(), (), ("volume",),
                                                                                        ("volume",)]


@pytest.mark.parametrize("sent", [0, -3, True, 2.0, "5"])
def test_a_bad_shared_count_is_a_clear_error(sent: Any) -> None:
    with pytest.raises(ValueError, match="sent counts this query too"):
        _monitor().observe("c", np.zeros(3), sent=sent)


def test_without_a_limit_the_signal_is_silent() -> None:
    monitor = _monitor(volume_limit=None)
    verdicts = [monitor.observe("c", np.zeros(3), 0.1, now=0.0) for _ in range(20)]
    assert not any(v.fired for v in verdicts) and "volume_ratio" not in verdicts[-1].scores


def test_the_default_clock_is_monotonic() -> None:
    monitor = _monitor(volume_limit=2, volume_period=3_600.0, min_queries=1)
    assert [bool(monitor.observe("c", np.zeros(3)).fired) for _ in range(3)] == [False, False, True]
    assert "in the last hour" in monitor.observe("c", np.zeros(3)).reason


@pytest.mark.parametrize("now", [float("nan"), float("inf"), "noon", True])
def test_a_bad_time_is_a_clear_error(now: Any) -> None:
    monitor = _monitor()
    with pytest.raises(ValueError, match="now must be"):
        monitor.observe("c", np.zeros(3), now=now)
    assert monitor.clients() == 0


@pytest.mark.parametrize("overrides", [{"volume_limit": 0}, {"volume_limit": 2.5}, {"volume_period": 0.0},
                                       {"volume_period": float("inf")}, {"volume_period": True},
                                       {"volume_period": 59.0}, {"volume_limit": 5, "signals": ("flagged",)}])
def test_bad_volume_settings_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ExtractionSettings(**overrides)


def test_policy_numbers_are_accepted() -> None:
    assert ExtractionSettings(volume_limit=300.0).volume_limit == 300  # type: ignore[arg-type]

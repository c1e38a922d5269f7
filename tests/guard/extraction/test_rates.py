"""The rate test behind the boundary, flagged and OOD signals: exact binomial cuts, bounded window."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from clearsight.guard.extraction import RateTracker, critical_counts


@pytest.mark.parametrize(("rate", "alarm"), [(0.05, 1e-6), (0.01, 1e-3), (0.3, 1e-6)])
def test_critical_count_is_the_first_alarming_count(rate: float, alarm: float) -> None:
    table = critical_counts(300, rate, alarm)
    for n in (1, 5, 20, 100, 300):
        k = int(table[n])
        if k <= n:
            assert stats.binom.sf(k - 1, n, rate) < alarm  # P(X >= k) is below the budget...
        assert stats.binom.sf(k - 2, n, rate) >= alarm or k == 1  # ...and one fewer would not be


def test_natural_rate_never_alarms_on_its_own_expectation() -> None:
    table = critical_counts(500, 0.05, 1e-6)
    assert all(table[n] > 0.05 * n + 1 for n in range(1, 501))


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        critical_counts(0, 0.1, 1e-6)
    with pytest.raises(ValueError):
        critical_counts(10, 1.0, 1e-6)
    with pytest.raises(ValueError):
        critical_counts(10, 0.1, 0.0)


@settings(max_examples=50, deadline=None)
@given(window=st.integers(1, 50), events=st.lists(st.booleans(), max_size=200))
def test_tracker_counts_the_last_window_events(window: int, events: list[bool]) -> None:
    tracker = RateTracker(critical_counts(window, 0.1, 1e-6))
    for i, hit in enumerate(events):
        tracker.add(hit)
        recent = events[max(0, i + 1 - window) : i + 1]
        assert tracker.n == len(recent) <= window
        assert tracker.count == sum(recent)
        assert tracker.share == pytest.approx(np.mean(recent))


def test_tracker_alarms_only_on_an_implausible_count() -> None:
    tracker = RateTracker(critical_counts(100, 0.05, 1e-6))
    for _ in range(100):
        tracker.add(False)
    assert not tracker.alarming
    for _ in range(30):
        tracker.add(True)
    assert tracker.alarming

"""A small but real run of the extraction simulation (benchmarks/extraction_sim.py) on the fraud example.

The full run with 100 banks and five seeds per attacker is ``benchmarks/bench_guard_extraction.py``; here each
attacker runs once and a dozen banks send their traffic, and the outcomes asserted are the ones measured,
including the one the detectors do not win (see docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
from threadpoolctl import threadpool_limits

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import extraction_sim as sim  # noqa: E402

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings  # noqa: E402


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    with threadpool_limits(1):  # tiny fits and one-row predictions: OpenMP threads only add contention
        yield


@pytest.fixture(scope="module")
def world(single_thread: None) -> sim.World:
    return sim.build_world(test_per_class=300)


@pytest.fixture(scope="module")
def settings(world: sim.World) -> ExtractionSettings:
    return world.settings()


def test_the_target_is_the_example_model(world: sim.World) -> None:
    assert world.threshold == 0.3 and len(world.features) == 10
    assert world.test_y.mean() == 0.5  # balanced between the target's predicted classes


def test_benign_banks_never_fire(world: sim.World, settings: ExtractionSettings) -> None:
    monitor = ExtractionMonitor(settings, len(world.features))
    queries = 0
    for bank in sim.banks(12, seed=3, big=1, max_size=3000):
        x, times = sim.bank_stream(world, bank)
        result = sim.run_stream(monitor, bank.name, x, world.answer(x), times)
        queries += len(x)
        assert result.detected_at is None, result.reason
    assert queries > 10_000


def _attack(world: sim.World, settings: ExtractionSettings, name: str, budget: int) -> sim.AttackResult:
    return sim.run_attack(world, settings, name, seed=1, budget=budget, checkpoints=())


@pytest.mark.parametrize(
    ("attacker", "budget", "signal", "by"),
    [
        ("random-schema", 100, "ood", 10),  # every query outside natural data
        ("random-marginals", 400, "ood", 400),  # real values, impossible combinations
        ("jacobian", 200, "flagged", 15),  # the class-balanced seed set gives it away
        ("boundary-probe", 200, "boundary", 10),  # every answer borderline
    ],
)
def test_synthetic_attackers_are_caught_before_a_90_percent_surrogate(
    world: sim.World, settings: ExtractionSettings, attacker: str, budget: int, signal: str, by: int
) -> None:
    result = _attack(world, settings, attacker, budget)
    assert result.detected_at is not None and result.detected_at <= by
    assert signal in result.fired
    assert result.fidelity_at_detection is not None and result.fidelity_at_detection < 0.9
    assert result.in_time


@pytest.fixture(scope="module")
def no_clock(world: sim.World) -> ExtractionSettings:
    """A policy naming no hour feature (its clients do not score in real time): ``clock`` stays silent."""
    return world.settings(clock_feature=None)


def test_natural_data_attacker_is_caught_by_volume_only(world: sim.World, no_clock: ExtractionSettings) -> None:
    """By content it is a partner bank; it needs thousands of answers, more than any partner sends in a day."""
    result = _attack(world, no_clock, "natural", 500)
    assert result.detected_at == sim.VOLUME_LIMIT + 1 and set(result.first) == {"volume"}
    assert result.fidelity_at_detection is not None and result.fidelity_at_detection < 0.9


@pytest.mark.parametrize("attacker", ["natural", "natural-paced"])
def test_natural_data_replayed_off_the_clock_is_caught_by_it(world: sim.World, settings: ExtractionSettings,
                                                             attacker: str) -> None:
    """Where partners score payments as they happen, a replay of held payments carries hours that do not follow
    the clock: caught at the signal's first judgement, paced or not, long before a 90 % surrogate."""
    result = _attack(world, settings, attacker, 500)
    assert result.detected_at == settings.clock_min_queries and result.fired == ("clock",)
    assert result.fidelity_at_detection is not None and result.fidelity_at_detection < 0.9


def test_replicas_without_sticky_routing_share_the_volume_and_split_the_rest(
        world: sim.World, no_clock: ExtractionSettings) -> None:
    """Behind two replicas sharing the count through Redis in batches the natural attacker is caught within a
    query or two of the limit (a replica sees the other's queries since its last batch one batch late); each
    replica's own detectors see about half of a client's queries."""
    natural = sim.run_attack(world, no_clock, "natural", seed=1, budget=500, checkpoints=(), replicas=2)
    assert natural.detected_at is not None and set(natural.first) == {"volume"}
    assert sim.VOLUME_LIMIT < natural.detected_at <= sim.VOLUME_LIMIT + 3
    replicas = sim.Replicas(no_clock, len(world.features), 2)
    x, answers = sim.ATTACKERS["random-schema"](world, 40, 1)
    for i, (row, p) in enumerate(zip(x, answers, strict=True)):
        replicas.observe("c", row, float(p), now=float(i), at=float(i))
    assert sum(replicas.routed) == 40 and min(replicas.routed) >= 10


def test_the_simulated_replicas_share_the_volume_as_the_guard_does(world: sim.World,
                                                                  settings: ExtractionSettings) -> None:
    """A batch a quarter second after a replica's first unsent answer; a query judged on the total its replica's
    last batch read plus its own since, or its own count: one query a second through replicas 0, 0, 1, 0, 1 is
    judged 1, 2, 1, 3, 4 (the exact count: 1 to 5), as ``SharedVolume`` counts it."""
    replicas = sim.Replicas(settings, len(world.features), 2)
    assert [replicas._count(turn, "c", float(t)) for t, turn in enumerate([0, 0, 1, 0, 1])] == [1, 2, 1, 3, 4]


def test_natural_data_replayed_as_a_partner_would_send_it_is_not_detected(
        world: sim.World, settings: ExtractionSettings) -> None:
    """Documented limitation: each payment sent in the hour it carries, under the stated volume, a natural-data
    attacker is a partner by every signal (it just takes days)."""
    result = _attack(world, settings, "natural-aligned", 500)
    assert result.detected_at is None and result.first == {}


def test_enriched_natural_attacker_is_caught_before_a_90_percent_surrogate(
    world: sim.World, settings: ExtractionSettings
) -> None:
    """Replaying its own fraud cases trips ``flagged``; a balanced natural set teaches the surrogate this model's
    fraud class within ~100 queries, so the alarm level matters (10^-4 caught it too late in 2 of 5 seeds)."""
    result = _attack(world, settings, "natural-enriched", 300)
    assert result.detected_at is not None and result.detected_at <= 100
    assert result.fired and set(result.fired) <= {"flagged", "ood", "clock"}
    assert result.fidelity_at_detection is not None and result.fidelity_at_detection < 0.9

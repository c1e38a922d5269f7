"""Model-extraction simulation against the fraud-detection example, shared by the benchmark and its test.

The target is the example's own model, trained here from the example's own generator and pipeline
(``examples/fraud-detection``: ``generate_transactions.generate(50_000, seed=7)``, the oldest 80 % as
training rows, ``train.build_pipeline(config)``), so it is the model ``service/app.py`` serves without ever
unpickling ``fraud_model.joblib``. Everybody sees what the unguarded API returns: the raw fraud probability.

Benign clients are partner banks sending their own payment stream in time order: each has its own card
base (its own generator seed), fraud rate and merchant mix, and a size from a long-tailed distribution.
Attackers (``ATTACKERS``) generate their queries adaptively against the target. Every stream then goes
through one :class:`ExtractionMonitor`; the first query on which any signal fires is the detection point.

Fidelity is measured the way an attacker would care about it: a surrogate is trained on the queries and
answers obtained so far and compared with the target on held-out natural payments *balanced between the
target's two predicted classes*, so a surrogate that always says "legit" scores 50 % rather than 99 %.
The surrogate is a gradient-boosted regressor on the logit of the returned probability (the strongest
use of a raw-probability API we tried), cut at the target's threshold; an attacker given labels only trains a
class-weighted gradient-boosted classifier instead.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings

Array = npt.NDArray[np.float64]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fraud-detection"
TRAIN_ROWS, TRAIN_SEED = 50_000, 7  # the example's defaults (generate_transactions.py --rows/--seed)
REFERENCE_ROWS = 2_000
CHECKPOINTS = (5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1250, 1500, 1750, 2000,
               2500, 3000, 4000, 5000, 7500, 10000, 15000, 20000)
SETTLED = 100  # scores of a client are summarised from this many queries on (earlier shares are noise)
DAY = 86_400.0
# The most queries a day the model owner expects from a natural client (``volume_limit``): the busiest partner
# bank of the tuning set (bank seed 1) sent at most 331 in any trailing 24 hours, so 400 leaves a fifth on top.
VOLUME_LIMIT = 400


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class World:
    """The example's model and data, and the feature facts attackers and the monitor need."""

    generator: ModuleType
    features: list[str]
    threshold: float
    model: Any  # the fitted scikit-learn pipeline
    train_x: Array
    reference: Array  # a sample of training rows: what the model owner knows natural traffic looks like
    test_x: Array  # balanced between the target's predicted classes
    test_y: npt.NDArray[np.bool_]
    mcc_codes: Array

    def answer(self, x: Array) -> Array:
        proba: Array = self.model.predict_proba(np.atleast_2d(x))[:, 1]
        return proba

    def matrix(self, records: Sequence[dict[str, object]]) -> Array:
        return np.array([[float(r[f]) for f in self.features] for r in records])  # type: ignore[arg-type]

    @property
    def categorical(self) -> tuple[int, ...]:
        return (self.features.index("merchant_category"),)

    def settings(self, **overrides: Any) -> ExtractionSettings:
        """The monitor as the guard would configure it for this model: reference from training data."""
        values: dict[str, Any] = {
            "reference": tuple(map(tuple, self.reference)),
            "categorical": self.categorical,
            "decision_threshold": self.threshold,
            "volume_limit": VOLUME_LIMIT,
            "clock_feature": self.features.index("hour"),  # partners score payments as they happen
        }
        values.update(overrides)
        return ExtractionSettings(**values)


def natural_bodies(count: int, seed: int = 3) -> list[bytes]:
    """JSON request bodies of natural payments from the example's generator, for the guard's speed benchmarks.

    Fed one body over and over, the extraction monitor learns a reference of identical rows and every query
    sits exactly on its out-of-distribution cut: a degenerate case, not what a scoring API sees.
    """
    generator = _load("fraud_example_generate", EXAMPLE / "data" / "generate_transactions.py")
    features = json.loads((EXAMPLE / "model" / "features.json").read_text())["features"]
    return [json.dumps({"features": [float(r[f]) for f in features]}).encode()  # type: ignore[arg-type,unused-ignore]
            for r in generator.generate(count, seed)]


def build_world(test_per_class: int = 1000, seed: int = 11) -> World:
    """Train the target exactly as ``training/train.py`` does and draw the reference and test sets."""
    generator = _load("fraud_example_generate", EXAMPLE / "data" / "generate_transactions.py")
    train = _load("fraud_example_train", EXAMPLE / "training" / "train.py")
    config = train.load_config(EXAMPLE / "training" / "config.yaml")
    features: list[str] = config["data"]["features"]
    records = generator.generate(TRAIN_ROWS, TRAIN_SEED)
    x = np.array([[float(r[f]) for f in features] for r in records])
    y = np.array([int(r[config["data"]["label"]]) for r in records])
    split = int(len(y) * (1 - config["data"]["holdout_fraction"]))
    model = train.build_pipeline(config)
    model.fit(x[:split], y[:split])
    rng = np.random.default_rng(seed)
    reference = x[:split][rng.choice(split, REFERENCE_ROWS, replace=False)]
    world = World(generator=generator, features=features, threshold=float(config["model"]["decision_threshold"]),
                  model=model, train_x=x[:split], reference=reference, test_x=np.empty((0, len(features))),
                  test_y=np.empty(0, dtype=np.bool_), mcc_codes=np.array(sorted(generator.MCC_WEIGHTS), float))
    # Held-out natural payments with more fraud than usual, so both predicted classes are well populated.
    pool = world.matrix(generator.generate(40_000, seed + 1000, fraud_rate=0.05))
    flagged = world.answer(pool) >= world.threshold
    pos = rng.choice(np.flatnonzero(flagged), test_per_class, replace=False)
    neg = rng.choice(np.flatnonzero(~flagged), test_per_class, replace=False)
    world.test_x = pool[np.concatenate([pos, neg])]
    world.test_y = np.concatenate([np.ones(test_per_class, bool), np.zeros(test_per_class, bool)])
    return world


# ---------------------------------------------------------------------- fidelity
def _logit(p: Array) -> Array:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    out: Array = np.log(q / (1 - q))
    return out


def fidelity(world: World, queries: Array, answers: Array, *, labels: bool = False) -> float:
    """Balanced label agreement of a surrogate trained on (queries, answers) with the target.

    ``labels``: the answers are the label alone (0/1), so the surrogate is a classifier weighting the rare
    class up, which learns far more from labels than a regression on their clipped logits does."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    n = len(answers)
    cut = math.log(world.threshold / (1 - world.threshold))
    if n < 5 or np.ptp(answers) == 0:
        predicted = np.full(len(world.test_y), n > 0 and bool(answers[0] >= world.threshold))
    else:
        mcc = world.categorical[0]
        leaf = max(2, min(20, n // 25))
        if labels:
            classifier = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.2, min_samples_leaf=leaf,
                                                        categorical_features=[mcc], class_weight="balanced",
                                                        random_state=0)
            classifier.fit(_coded(world, queries), answers >= 0.5)
            predicted = classifier.predict(_coded(world, world.test_x)).astype(bool)
        else:
            surrogate = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.2, min_samples_leaf=leaf,
                                                      categorical_features=[mcc], random_state=0)
            surrogate.fit(_coded(world, queries), _logit(answers))
            predicted = surrogate.predict(_coded(world, world.test_x)) >= cut
    agree = predicted == world.test_y
    return float(0.5 * agree[world.test_y].mean() + 0.5 * agree[~world.test_y].mean())


def _coded(world: World, x: Array) -> Array:
    """Merchant codes as category indices 0..17, as scikit-learn's categorical support wants them."""
    out = x.copy()
    j = world.categorical[0]
    out[:, j] = np.clip(np.searchsorted(world.mcc_codes, x[:, j]), 0, len(world.mcc_codes) - 1)
    return out


# ---------------------------------------------------------------------- benign partner banks
@dataclass(frozen=True)
class Bank:
    name: str
    size: int
    fraud_rate: float
    seed: int
    tilt: float  # how far its merchant mix departs from the average (Dirichlet concentration, smaller = more)


def banks(count: int, seed: int, *, big: int = 5, max_size: int = 25_000) -> list[Bank]:
    """Partner banks of long-tailed sizes (a few very big), fraud rates from 0.3 % to 6 %, own merchant mixes."""
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.lognormal(math.log(800), 0.9, count), 150, max_size).astype(int)
    if big:
        chosen = rng.choice(count, min(big, count), replace=False)
        sizes[chosen] = rng.integers(max_size // 3, max_size + 1, len(chosen))
    rates = np.exp(rng.uniform(math.log(0.003), math.log(0.06), count))
    tilts = rng.choice([2.0, 5.0, 20.0, 1000.0], count)
    return [Bank(f"bank-{seed}-{i:03d}", int(sizes[i]), float(rates[i]), seed * 1000 + i, float(tilts[i]))
            for i in range(count)]


def bank_stream(world: World, bank: Bank) -> tuple[Array, Array]:
    """The bank's payments in time order, resampled so its merchant mix is its own, and when each is scored:
    its own time, in seconds from the generator's start (a partner scores payments as they happen, over the
    generator's 90 days)."""
    records = world.generator.generate(bank.size * 2, bank.seed, fraud_rate=bank.fraud_rate)
    x = world.matrix(records)
    rng = np.random.default_rng(bank.seed)
    weights = rng.dirichlet(np.full(len(world.mcc_codes), bank.tilt)) * len(world.mcc_codes)
    row_weight = weights[np.searchsorted(world.mcc_codes, x[:, world.categorical[0]])]
    keep = np.sort(rng.choice(len(x), bank.size, replace=False, p=row_weight / row_weight.sum()))
    start = world.generator.START
    seconds = np.array([(datetime.fromisoformat(str(r["transaction_ts"])) - start).total_seconds()
                        for r in records])
    return x[keep], seconds[keep]


# ---------------------------------------------------------------------- attackers
Attack = Callable[[World, int, int], tuple[Array, Array]]

# What the API's documentation (or a little probing) tells anyone about each feature's range.
SCHEMA_RANGES = {
    "amount": (0.5, 15_000.0), "hour": (0, 23), "is_foreign": (0, 1), "card_present": (0, 1),
    "distance_from_home_km": (0.0, 20_000.0), "velocity_1h": (0, 10), "velocity_24h": (0, 30),
    "avg_amount_30d": (1.0, 1_000.0), "device_risk_score": (0.0, 1.0),
}  # fmt: skip
WHOLE = ("merchant_category", "hour", "is_foreign", "card_present", "velocity_1h", "velocity_24h")


def _own_data(world: World, rows: int, seed: int, fraud_rate: float = 0.015) -> Array:
    """Real-looking payments the attacker owns (a different card base from every bank and the training set)."""
    return world.matrix(world.generator.generate(rows, seed, fraud_rate=fraud_rate))


def _valid(world: World, x: Array) -> Array:
    """Snap synthetic points onto what the API accepts: ranges, whole numbers, known merchant codes."""
    out = x.copy()
    for j, name in enumerate(world.features):
        if name == "merchant_category":
            idx = np.clip(np.searchsorted(world.mcc_codes, out[:, j]), 0, len(world.mcc_codes) - 1)
            out[:, j] = world.mcc_codes[idx]
            continue
        lo, hi = SCHEMA_RANGES[name]
        out[:, j] = np.clip(out[:, j], lo, hi)
        if name in WHOLE:
            out[:, j] = np.round(out[:, j])
    out[:, world.features.index("velocity_24h")] = np.maximum(
        out[:, world.features.index("velocity_24h")], out[:, world.features.index("velocity_1h")])
    return out


def random_schema(world: World, budget: int, seed: int) -> tuple[Array, Array]:
    """(a) Uniform queries over the documented feature ranges (Tramèr et al.'s data-free baseline)."""
    rng = np.random.default_rng(seed)
    x = np.empty((budget, len(world.features)))
    for j, name in enumerate(world.features):
        if name == "merchant_category":
            x[:, j] = rng.choice(world.mcc_codes, budget)
        else:
            lo, hi = SCHEMA_RANGES[name]
            x[:, j] = rng.integers(int(lo), int(hi) + 1, budget) if name in WHOLE else rng.uniform(lo, hi, budget)
    return x, world.answer(x)


def random_marginals(world: World, budget: int, seed: int) -> tuple[Array, Array]:
    """(a') Each feature drawn independently from real data: every value plausible, the combinations not."""
    rng = np.random.default_rng(seed)
    own = _own_data(world, 5_000, seed)
    x = np.column_stack([own[rng.integers(0, len(own), budget), j] for j in range(own.shape[1])])
    return x, world.answer(x)


def jacobian(world: World, budget: int, seed: int, *, per_class: int = 10, step: float = 0.3, tau: int = 3
             ) -> tuple[Array, Array]:
    """(b) Papernot et al.'s Jacobian-based augmentation from 10 real payments per predicted class.

    Each round trains a small MLP surrogate on everything queried so far, then moves every point by
    ``step`` (in the attacker's standardised log space) along the sign of the surrogate's finite-difference
    gradient for the label the target gave it, flipping direction every ``tau`` rounds; the new points are
    snapped to valid values and queried. The set doubles per round until the budget is spent.
    """
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(seed)
    own = _own_data(world, 4_000, seed, fraud_rate=0.05)
    labels = world.answer(own) >= world.threshold
    start = np.concatenate([rng.choice(np.flatnonzero(labels), per_class, replace=False),
                            rng.choice(np.flatnonzero(~labels), per_class, replace=False)])
    queries = own[rng.permutation(start)]
    answers = world.answer(queries)
    mu, sd = _space(queries)
    round_ = 0
    while len(queries) < budget:
        z = (_fwd(world, queries) - mu) / sd
        y = answers >= world.threshold
        surrogate = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, random_state=seed)
        if y.all() or not y.any():
            grad = rng.normal(size=z.shape)
        else:
            surrogate.fit(z, y)
            grad = np.empty_like(z)
            for j in range(z.shape[1]):
                bump = np.zeros(z.shape[1])
                bump[j] = 0.05
                up = surrogate.predict_proba(z + bump)[:, 1]
                down = surrogate.predict_proba(z - bump)[:, 1]
                grad[:, j] = np.where(y, up - down, down - up)  # towards the label the target gave
        direction = -1.0 if (round_ // tau) % 2 else 1.0
        new_z = z + direction * step * np.sign(grad)
        new = _valid(world, _inv(world, new_z * sd + mu, queries))
        new = new[: budget - len(queries)]
        queries = np.vstack([queries, new])
        answers = np.concatenate([answers, world.answer(new)])
        round_ += 1
    return queries, answers


def _space(x: Array) -> tuple[Array, Array]:
    f = np.log1p(np.abs(x))
    return f.mean(axis=0), np.maximum(f.std(axis=0), 0.1)


def _fwd(world: World, x: Array) -> Array:
    out: Array = np.log1p(np.abs(x))
    return out


def _inv(world: World, f: Array, like: Array) -> Array:
    out = np.expm1(f)
    j = world.categorical[0]
    out[:, j] = like[:, j]  # merchant codes are categories: the gradient says nothing about them
    return out


def boundary_probe(world: World, budget: int, seed: int, *, steps: int = 12) -> tuple[Array, Array]:
    """(c) Bisection between a flagged and a cleared real payment, ``steps`` halvings per pair.

    Every midpoint is snapped to valid values (whole flags and counts, a real merchant code), so each
    query on its own is a well-formed payment. Result: the decision boundary traced at many places.
    """
    rng = np.random.default_rng(seed)
    own = _own_data(world, 4_000, seed, fraud_rate=0.05)
    labels = world.answer(own) >= world.threshold
    fraud, legit = own[labels], own[~labels]
    queries: list[Array] = []
    while len(queries) < budget:
        a, b = legit[rng.integers(len(legit))], fraud[rng.integers(len(fraud))]
        lo, hi = 0.0, 1.0
        for _ in range(steps):
            mid = (lo + hi) / 2
            point = _valid(world, (a + mid * (b - a)).reshape(1, -1))
            point[0, world.categorical[0]] = a[world.categorical[0]] if mid < 0.5 else b[world.categorical[0]]
            queries.append(point[0])
            if world.answer(point)[0] >= world.threshold:
                hi = mid
            else:
                lo = mid
            if len(queries) == budget:
                break
    x = np.array(queries)
    return x, world.answer(x)


def natural(world: World, budget: int, seed: int) -> tuple[Array, Array]:
    """(d) Real-looking payments the attacker owns, in natural proportions (Knockoff-style natural data)."""
    x = _own_data(world, budget, seed)
    np.random.default_rng(seed).shuffle(x)
    return x, world.answer(x)


def natural_enriched(world: World, budget: int, seed: int) -> tuple[Array, Array]:
    """(d') Real-looking payments with the attacker's known fraud cases oversampled to about a third."""
    x = _own_data(world, budget, seed, fraud_rate=0.33)
    np.random.default_rng(seed).shuffle(x)
    return x, world.answer(x)


def natural_aligned(world: World, budget: int, seed: int) -> tuple[Array, Array]:
    """(d'') Real-looking payments replayed as a partner would send them: 250 a day, each in the hour of day it
    carries (:func:`send_times`). An attacker who knows the ``clock`` signal and paces under the volume."""
    x = _own_data(world, budget, seed)
    np.random.default_rng(seed).shuffle(x)
    hour = world.features.index("hour")
    per_day = int(PACE["natural-aligned"])
    days = [x[start:start + per_day] for start in range(0, len(x), per_day)]
    x = np.concatenate([day[np.argsort(day[:, hour], kind="stable")] for day in days])
    return x, world.answer(x)


def send_times(world: World, name: str, x: Array) -> Array:
    """When each of an attacker's queries is sent, in seconds from a midnight: one a second, or ``PACE`` a day,
    or, for ``natural-aligned``, within the hour each payment carries on its day (strictly increasing)."""
    if name != "natural-aligned":
        return np.arange(len(x), dtype=np.float64) * (DAY / PACE.get(name, FAST))
    hours = x[:, world.features.index("hour")].astype(np.int64)
    day = np.arange(len(x)) // int(PACE[name])
    group = day * 24 + hours
    _, first, size = np.unique(group, return_index=True, return_counts=True)
    rank = np.arange(len(x)) - np.repeat(first, size)
    return (day * DAY + hours * 3600.0 + (rank + 1) * 3600.0 / (np.repeat(size, size) + 1)).astype(np.float64)


ATTACKERS: dict[str, Attack] = {
    "random-schema": random_schema,
    "random-marginals": random_marginals,
    "jacobian": jacobian,
    "boundary-probe": boundary_probe,
    "natural": natural,
    "natural-enriched": natural_enriched,
    "natural-paced": natural,
    "natural-aligned": natural_aligned,
}
# Queries a day. An attacker wants its copy soon and sends one query a second unless listed here;
# "natural-paced" is the natural attacker keeping under the busiest partner's volume, to show what pacing buys.
PACE: dict[str, float] = {"natural-paced": 250.0, "natural-aligned": 250.0}
FAST = DAY


# ---------------------------------------------------------------------- running streams through the monitor
@dataclass
class StreamResult:
    client: str
    queries: int
    detected_at: int | None  # 1-based index of the first query on which a signal fired
    fired: tuple[str, ...]  # the signals that fired then
    reason: str
    first: dict[str, int] = field(default_factory=dict)  # signal -> first query on which it fired
    worst: dict[str, float] = field(default_factory=dict)  # most extreme settled score (min W, max shares)


class Replicas:
    """``count`` guard replicas behind a load balancer that sends each query to one of them at random (no sticky
    routing), sharing through Redis what the guard shares: each client's volume count and the penalties, so a
    client is caught as soon as any replica's detectors fire. Each replica's own detectors (PRADA, boundary,
    OOD, flagged) see only its share of the client's queries. Stands in for ``ExtractionMonitor`` here.

    The volume count is shared as the guard shares it (:mod:`clearsight.guard.shared_volume`): a replica adds
    its answers to the shared count in a batch ``SYNC_SECONDS`` after the first one it holds, and judges a
    query on the total its last batch read plus its own answers since (a total read before the slot turned is
    not used), or on its own count if larger."""

    def __init__(self, settings: ExtractionSettings, n_features: int, count: int, seed: int = 0) -> None:
        import random

        from clearsight.guard.extraction.volume import VolumeTracker, slot_width
        from clearsight.guard.shared_volume import SYNC_SECONDS

        self._monitors = [ExtractionMonitor(settings, n_features) for _ in range(count)]
        self._rng = random.Random(seed)
        self._period = settings.volume_period
        self._width = slot_width(self._period)
        self._sync = SYNC_SECONDS
        self._limit = settings.volume_limit if "volume" in settings.signals else None
        self._shared: dict[str, VolumeTracker] = {}  # Redis: each client's total
        self._local: dict[tuple[int, str], VolumeTracker] = {}  # each replica's own count
        # client -> for each replica: [queries waiting for a batch, when the first of them was answered, the total
        # its last batch read, when]
        self._batches: dict[str, list[list[float]]] = {}
        self._tracker = VolumeTracker
        self.routed = [0] * count  # queries each replica was sent

    def observe(self, client: str, x: Array, output: float | None = None, *, now: float, at: float) -> Any:
        turn = self._rng.randrange(len(self._monitors))
        self.routed[turn] += 1
        monitor = self._monitors[turn]
        sent = None
        if self._limit is not None:
            sent = self._count(turn, client, now)
        return monitor.observe(client, x, output, now=now, sent=sent, at=at)

    def _count(self, turn: int, client: str, now: float) -> int:
        batches = self._batches.get(client)
        if batches is None:
            # no total read yet: "read" a day before the simulation's first second
            batches = self._batches[client] = [[0, 0.0, 0, -DAY] for _ in self._monitors]
        due = sorted((b[1], i) for i, b in enumerate(batches) if b[0] and b[1] + self._sync <= now)
        for _, i in due:  # the batches sent before this query arrived, in the order they went
            self._send(client, batches[i], batches[i][1] + self._sync)
        local = self._local.get((turn, client))
        if local is None:
            local = self._local[(turn, client)] = self._tracker(self._period)
        mine = local.add(now)
        batch = batches[turn]
        if not batch[0]:
            batch[1] = now
        batch[0] += 1
        if int(now // self._width) != int(batch[3] // self._width):  # nothing read, or before the slot turned
            return mine
        return max(mine, int(batch[2] + batch[0]))

    def _send(self, client: str, batch: list[float], at: float) -> None:
        shared = self._shared.get(client)
        if shared is None:
            shared = self._shared[client] = self._tracker(self._period)
        total = 0
        for _ in range(int(batch[0])):
            total = shared.add(at)
        batch[:] = [0, 0.0, total, at]


def monitor_for(settings: ExtractionSettings, n_features: int, replicas: int = 1) -> ExtractionMonitor | Replicas:
    return ExtractionMonitor(settings, n_features) if replicas == 1 else Replicas(settings, n_features, replicas)


def run_stream(monitor: ExtractionMonitor | Replicas, client: str, x: Array, answers: Array, times: Array, *,
               stop: bool = False) -> StreamResult:
    """Observe every query (sent at ``times``, seconds); remember when each signal first fired and the most
    alarming settled scores."""
    result = StreamResult(client, len(x), None, (), "")
    for i, verdict in enumerate(_observe(monitor, client, x, answers, times), start=1):
        if i >= SETTLED:
            for name, value in verdict.scores.items():
                worst = result.worst.get(name)
                low = name in ("prada_w", "clock_share")  # the lower, the more alarming
                if worst is None or (value < worst if low else value > worst):
                    result.worst[name] = value
        for name in verdict.fired:
            result.first.setdefault(name, i)
        if verdict.fired and result.detected_at is None:
            result.detected_at, result.fired, result.reason = i, verdict.fired, verdict.reason
            if stop:
                break
    return result


def _observe(monitor: ExtractionMonitor | Replicas, client: str, x: Array, answers: Array, times: Array
             ) -> Iterator[Any]:
    for row, p, t in zip(x, answers, times, strict=True):
        yield monitor.observe(client, row, float(p), now=float(t), at=float(t))  # times count from a midnight


@dataclass
class AttackResult:
    attacker: str
    seed: int
    budget: int
    detected_at: int | None
    fired: tuple[str, ...]
    first: dict[str, int]  # signal -> first query on which it fired (the stream runs to the end)
    fidelity_at_detection: float | None
    curve: dict[int, float]  # queries -> fidelity
    queries_to_90: int | None  # first checkpoint at which fidelity reached 0.9 (None: not within the budget)

    @property
    def in_time(self) -> bool:
        """Detected before the surrogate reached 90 % fidelity."""
        if self.detected_at is None:
            return False
        return self.fidelity_at_detection is not None and self.fidelity_at_detection < 0.9


def _raw(answers: Array, threshold: float) -> Array:
    return answers


def _round2(answers: Array, threshold: float) -> Array:
    rounded: Array = np.round(answers, 2)
    return rounded


def _label(answers: Array, threshold: float) -> Array:
    return (answers >= threshold).astype(np.float64)


# What the attacker is given, as the guard's output hardening would answer: the raw probability, rounded to two
# decimals (``hardening: {round: 2}``), or the label alone (``top_label_only``, and what ``degrade`` answers).
# The monitor always judges the raw score, as the guard's does.
ANSWERS: dict[str, Callable[[Array, float], Array]] = {"raw": _raw, "round2": _round2, "label": _label}


def run_attack(world: World, settings: ExtractionSettings, name: str, seed: int, budget: int,
               checkpoints: Sequence[int] = CHECKPOINTS, answers_given: str = "raw", replicas: int = 1
               ) -> AttackResult:
    x, answers = ATTACKERS[name](world, budget, seed)
    monitor = monitor_for(settings, len(world.features), replicas)
    times = send_times(world, name, x)
    stream = run_stream(monitor, f"{name}-{seed}", x, answers, times)
    seen = ANSWERS[answers_given](answers, world.threshold)
    labels = answers_given == "label"
    points = sorted({c for c in checkpoints if c <= len(x)} | {len(x)})
    curve = {c: fidelity(world, x[:c], seen[:c], labels=labels) for c in points}
    at = stream.detected_at
    fid_at = None if at is None else (curve[at] if at in curve else fidelity(world, x[:at], seen[:at], labels=labels))
    reached = next((c for c in points if curve[c] >= 0.9), None)
    return AttackResult(name, seed, len(x), at, stream.fired, stream.first, fid_at, curve, reached)

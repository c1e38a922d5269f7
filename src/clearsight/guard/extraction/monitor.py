"""Per-client model-extraction monitor: the detectors the guard runs on every answered request.

One :class:`ExtractionMonitor` per guarded route. Each call to :meth:`ExtractionMonitor.observe` records one
query (its feature vector and, when known, the model's answer) for one client and returns what every
enabled detector thinks of that client so far. Six detectors, each blind where another sees:

``prada``     how the client's queries are spaced (synthetic augmentation, bisection; :mod:`.prada`);
``boundary``  how often the answers sit near the decision threshold (:mod:`.boundary`);
``ood``       how often the queries lie outside natural data (random and synthetic queries; :mod:`.ood`);
``flagged``   how often the answers are positive, where natural traffic is mostly negative (:mod:`.flagged`);
``volume``    how many queries the client sent over the trailing period, when the policy states how many
              natural clients send (:mod:`.volume`);
``clock``     whether the hour of day the queries carry follows the clock they arrive by, when the policy names
              such a feature and its clients score events as they happen (:mod:`.clock`).

An attacker who queries with real-looking payments in natural proportions trips none of the first four:
telling it from a partner bank is only possible by how much it asks, which ``volume`` judges and the rate
limiter caps, or, where partners score in real time, by when its payments happened, which ``clock`` judges
(docs/benchmarks.md shows how far such an attacker gets per query budget).

Memory is bounded: at most ``max_clients`` clients (least recently seen dropped first), each with at most ``window``
stored vectors, ``prada_distances`` distances, ``rate_window`` flags per rate signal, 96 volume counts and
``clock_window`` hour differences (about 600 bytes at 200). All state sits behind one lock; an observation costs a
nearest-neighbour scan of the client's stored vectors (PRADA), one of the reference sample (``ood``) and, every
``prada_every`` queries, one Shapiro-Wilk test. Because this runs on every request, both scans are single BLAS calls
over feature-major copies that only pick candidates, with the exact arithmetic rerun where it decides (see
``Reference.exceeds_ood_cut`` and ``prada._ScreenedSet``), and the query is transformed into per-monitor buffers: a
few tens of microseconds at window 2,000 and d = 10, with the same verdicts as the plain computation
(``benchmarks/bench_extraction_observe.py``).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clearsight.guard.extraction._types import FloatArray
from clearsight.guard.extraction.boundary import logit, near_boundary
from clearsight.guard.extraction.calibration import Calibration
from clearsight.guard.extraction.clock import ClockTracker, hour_offset
from clearsight.guard.extraction.flagged import is_flagged
from clearsight.guard.extraction.ood import is_out_of_distribution_fast
from clearsight.guard.extraction.prada import PradaDetector
from clearsight.guard.extraction.rates import RateTracker, critical_counts
from clearsight.guard.extraction.reference import MIN_REFERENCE_ROWS, Reference, Workspace
from clearsight.guard.extraction.volume import MIN_PERIOD, VolumeTracker

SIGNALS: tuple[str, ...] = ("prada", "boundary", "ood", "flagged", "volume", "clock")
_RATE_SIGNALS = (("boundary", "boundary_share"), ("ood", "ood_share"), ("flagged", "flagged_share"))


@dataclass(frozen=True)
class ExtractionSettings:
    """Detector settings; the guard builds them from the policy, so every field has a usable default.

    The thresholds below were tuned on the fraud-detection example's natural traffic (benign partner banks
    of very different sizes, merchant mixes and fraud rates; see docs/benchmarks.md). Other models have
    other natural traffic: rerun ``benchmarks/bench_guard_extraction.py`` or measure the benign scores the
    monitor reports before tightening them. Integer fields accept whole floats, because policy tuning values
    arrive as numbers.
    """

    # PRADA fires when the Shapiro-Wilk W of the client's query distances drops below this. About 0.9 is the
    # setting quoted for image classifiers; distances between tabular payments are less normal to begin with,
    # and 0.9 would fire on 9 of the 100 benign tuning banks (lowest benign W: 0.841 tuning, 0.818 test set).
    prada_threshold: float = 0.80
    # No signal fires before the client sent this many queries here, except "volume" (a count past the stated
    # limit, which replicas may have counted together, needs no sample). Low on purpose: the rate signals carry their
    # own false-alarm control (alarm_probability), and on the fraud example a surrogate built from 10-25
    # well-chosen queries already agrees with the model on 85-90 % of balanced test cases.
    min_queries: int = 5
    # PRADA judges no client before it has this many distances (the authors' implementation: 100).
    prada_min_distances: int = 100
    # Most vectors stored per client for PRADA's nearest-neighbour search.
    window: int = 2000
    # Most clients tracked; the least recently seen one is dropped beyond this.
    max_clients: int = 1000
    # The detectors that run, any of SIGNALS.
    signals: tuple[str, ...] = SIGNALS
    # Per-feature scale for standardising inputs. None: learned robustly (IQR / 1.349, then MAD, then the
    # standard deviation) from ``reference`` or, without one, from the first traffic (see calibration.py).
    scale: tuple[float, ...] | None = None
    # Per-feature centre subtracted before scaling; None: the median of the same sample.
    center: tuple[float, ...] | None = None
    # A sample of natural queries (e.g. 2,000 training rows). None: the first ``calibration_queries``
    # queries from live traffic, at most ``calibration_share`` of them from any one client.
    reference: tuple[tuple[float, ...], ...] | None = None
    # Indices of categorical features (codes compared by equality, never by size).
    categorical: tuple[int, ...] = ()
    # What a categorical mismatch adds to a distance, in scaled units.
    categorical_weight: float = 1.0
    # The model's decision threshold on the positive-class probability (PRADA's classes, ``boundary``).
    decision_threshold: float = 0.5
    # Most recent distances PRADA keeps and tests.
    prada_distances: int = 1000
    # PRADA runs its Shapiro-Wilk test every this many distances.
    prada_every: int = 10
    # An answer is near the boundary within this many logits of the decision threshold.
    boundary_margin: float = 1.0
    # Highest share of near-boundary answers natural clients are expected to show.
    boundary_rate: float = 0.05
    # Reference quantile of nearest-neighbour distance beyond which a query counts as out of distribution.
    ood_quantile: float = 0.995
    # Highest share of out-of-distribution queries natural clients are expected to show.
    ood_rate: float = 0.04
    # Highest share of positive answers (>= decision_threshold) natural clients are expected to show.
    # Suits rare-event models (fraud, abuse); raise it, or drop "flagged", for balanced ones.
    flagged_rate: float = 0.08
    # Rate signals judge the client's last this many queries.
    rate_window: int = 500
    # A rate signal fires when natural traffic would show the client's count with less than this probability.
    # 1e-3 (1e-6 until the twelfth session, then 1e-4 until the twenty-second): on the fraud example no benign
    # bank of 500 fired (five bank sets, 941,404 queries), and 1e-3 catches Jacobian augmentation and enriched
    # natural data before their surrogates reach 90 % (docs/benchmarks.md, extraction).
    alarm_probability: float = 1e-3
    # Most queries a natural client sends in ``volume_period`` seconds; "volume" fires on a client beyond it.
    # None: no limit stated, so "volume" stays silent. Set it from the busiest natural client's volume with a
    # margin (on the fraud example the busiest of 500 banks sent at most 331 in a day; see docs/benchmarks.md).
    volume_limit: int | None = None
    # The period ``volume_limit`` counts over, in seconds (a day by default).
    volume_period: float = 86_400.0
    # The index of a feature holding the hour of day (0-23) of the event scored. None: "clock" stays silent.
    # Name it only where natural clients score events as they happen, each from one time zone (clock.py).
    clock_feature: int | None = None
    # "clock" fires when fewer than this share of the client's last ``clock_window`` queries lie in two
    # neighbouring hours of difference to the clock (a real-time client: all of them, give or take a query
    # crossing the hour; a replay of held data: about a sixth on the fraud example).
    clock_share: float = 0.5
    clock_window: int = 200
    # "clock" judges no client before this many queries (a replay's first few may happen to match).
    clock_min_queries: int = 30
    # Size of the reference learned from live traffic when ``reference`` is None.
    calibration_queries: int = 2000
    # Largest share of that reference any one client may contribute.
    calibration_share: float = 0.1

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.type == "int" or (f.type == "int | None" and getattr(self, f.name) is not None):
                object.__setattr__(self, f.name, _whole(f.name, getattr(self, f.name)))
        _check_range("prada_threshold", self.prada_threshold, 0.0, 1.0)
        _check_range("decision_threshold", self.decision_threshold, 0.0, 1.0)
        _check_range("boundary_rate", self.boundary_rate, 0.0, 1.0)
        _check_range("ood_rate", self.ood_rate, 0.0, 1.0)
        _check_range("flagged_rate", self.flagged_rate, 0.0, 1.0)
        _check_range("ood_quantile", self.ood_quantile, 0.0, 1.0)
        _check_range("alarm_probability", self.alarm_probability, 0.0, 1.0)
        _check_range("calibration_share", self.calibration_share, 0.0, 1.0, upper_inclusive=True)
        _check_range("clock_share", self.clock_share, 0.0, 1.0, upper_inclusive=True)
        minimum = {"min_queries": 1, "prada_min_distances": 3, "window": 2, "max_clients": 1, "prada_distances": 3,
                   "prada_every": 1, "rate_window": 1, "calibration_queries": MIN_REFERENCE_ROWS,
                   "clock_window": 2, "clock_min_queries": 1}
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)}")
        for name in ("boundary_margin", "categorical_weight", "volume_period"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.volume_period < MIN_PERIOD:
            raise ValueError(f"volume_period must be at least {MIN_PERIOD:g} seconds, got {self.volume_period!r}")
        unknown = sorted(set(self.signals) - set(SIGNALS))
        if unknown:
            raise ValueError(f"unknown extraction signals {unknown}; known: {', '.join(SIGNALS)}")
        if self.volume_limit is not None:
            if self.volume_limit < 1:
                raise ValueError(f"volume_limit must be at least 1, got {self.volume_limit}")
            if "volume" not in self.signals:  # a limit nobody checks would look like protection
                raise ValueError("volume_limit is set but 'volume' is not among the signals")
        if self.clock_feature is not None and "clock" not in self.signals:
            raise ValueError("clock_feature is set but 'clock' is not among the signals")
        if self.clock_min_queries > self.clock_window:
            raise ValueError(f"clock_min_queries ({self.clock_min_queries}) cannot exceed clock_window "
                             f"({self.clock_window}): the signal would never judge")
        for name in ("signals", "scale", "center", "categorical"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.reference is not None:
            object.__setattr__(self, "reference", tuple(tuple(row) for row in self.reference))


@dataclass(frozen=True)
class ExtractionVerdict:
    """What the detectors think of one client after its latest query."""

    scores: dict[str, float] = field(default_factory=dict)  # e.g. {"prada_w": 0.93, "ood_share": 0.01}
    fired: tuple[str, ...] = ()  # signals that fired on this query
    queries: int = 0  # queries seen from this client so far
    reason: str = ""  # one sentence when something fired


class _Client:
    __slots__ = ("boundary", "clock", "flagged", "ood", "prada", "queries", "sent", "volume")

    def __init__(self) -> None:
        self.queries = 0
        self.prada: PradaDetector | None = None
        self.boundary: RateTracker | None = None
        self.flagged: RateTracker | None = None
        self.ood: RateTracker | None = None
        self.volume: VolumeTracker | None = None
        self.clock: ClockTracker | None = None
        self.sent = 0  # queries over the trailing volume period, this process's count or a shared one


class ExtractionMonitor:
    """Per-client extraction detectors for one route; safe to share between threads."""

    def __init__(self, settings: ExtractionSettings, n_features: int) -> None:
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
        self.settings = settings
        self.n_features = n_features
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._threshold_logit = logit(settings.decision_threshold)
        signals = set(settings.signals)
        self._prada = "prada" in signals
        self._boundary_table = self._table(settings.boundary_rate) if "boundary" in signals else None
        self._ood_table = self._table(settings.ood_rate) if "ood" in signals else None
        self._flagged_table = self._table(settings.flagged_rate) if "flagged" in signals else None
        self._volume_limit = settings.volume_limit if "volume" in signals else None
        self._clock_feature = settings.clock_feature if "clock" in signals else None
        _check_shape(settings, n_features)
        self._reference: Reference | None = None
        self._work: Workspace | None = None  # the query buffers for _reference, used under the lock
        self._calibration: Calibration | None = None
        needs_sample = "ood" in signals or settings.scale is None or settings.center is None
        if settings.reference is not None:
            self._use(self._build(np.asarray(settings.reference, dtype=np.float64)))
        elif not needs_sample:
            self._use(self._build(None))
        elif signals & {"prada", "ood"}:
            self._calibration = Calibration(settings.calibration_queries, settings.calibration_share)

    @property
    def reference(self) -> Reference | None:
        """The geometry the detectors use; None while it is still being learned from traffic."""
        return self._reference

    def observe(self, client: str, x: np.ndarray[Any, Any], output: float | None = None, *,
                now: float | None = None, sent: int | None = None, at: float | None = None) -> ExtractionVerdict:
        """Record one query (x) and, when known, the model's score for it (binary: positive-class probability).

        ``now`` is when the query arrived, in seconds from any fixed origin (only ``volume`` reads it; a
        simulation passes its own clock): by default ``time.monotonic()``. ``sent``: the client's queries over
        the trailing volume period, this one included, when they were counted already (:meth:`count`, or the
        replicas' shared count); by default the monitor counts the query here. ``at``: when it arrived on
        the wall clock, in seconds from a midnight (``clock`` reads its hour of day): by default
        ``time.time()``."""
        if not isinstance(client, str):
            raise ValueError(f"client must be a string, got {type(client).__name__}")
        if sent is not None and (isinstance(sent, bool) or not isinstance(sent, int) or sent < 1):
            raise ValueError(f"sent counts this query too: a positive integer, got {sent!r}")
        vector, values = _vector(x, self.n_features)
        answer = _output(output)
        wall = _instant(at, "at") if at is not None else None  # checked before any state changes
        limit = self._volume_limit
        instant = _instant(now) if now is not None or (limit is not None and sent is None) else 0.0
        with self._lock:
            state = self._client(client)
            state.queries += 1
            if limit is not None:
                state.sent = self._volume(state).add(instant) if sent is None else sent
            feature = self._clock_feature
            if feature is not None:
                if state.clock is None:
                    state.clock = ClockTracker(self.settings.clock_window)
                state.clock.add(hour_offset(values[feature], time.time() if wall is None else wall))
            if self._calibration is not None:
                self._calibrate(client, vector)
            self._update(state, vector, values, answer)
            return self._verdict(client, state)

    def count(self, client: str, *, now: float | None = None) -> int:
        """Count one answered query from ``client`` towards ``volume`` and return its queries over the trailing
        period, this one included; :meth:`observe` then judges the query with ``sent=`` that number (or one
        the replicas share). The guard counts first so that the count here and the count in Redis cover the
        same queries, and a process that loses Redis falls back on a count it kept all along."""
        if not isinstance(client, str):
            raise ValueError(f"client must be a string, got {type(client).__name__}")
        if self._volume_limit is None:
            raise ValueError("no volume to count against: the settings state no volume_limit")
        instant = _instant(now)
        with self._lock:
            return self._volume(self._client(client)).add(instant)

    def _volume(self, state: _Client) -> VolumeTracker:
        if state.volume is None:
            state.volume = VolumeTracker(self.settings.volume_period)
        return state.volume

    def forget(self, client: str) -> None:
        """Drop everything known about ``client`` (e.g. after it was blocked and reviewed)."""
        with self._lock:
            self._clients.pop(client, None)

    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    # ------------------------------------------------------------------ internals
    def _table(self, rate: float) -> list[int]:
        table: list[int] = critical_counts(self.settings.rate_window, rate, self.settings.alarm_probability).tolist()
        return table

    def _use(self, reference: Reference) -> None:
        self._reference = reference
        self._work = reference.workspace()

    def _build(self, sample: FloatArray | None) -> Reference:
        s = self.settings
        return Reference.build(self.n_features, sample, categorical=s.categorical, scale=s.scale, center=s.center,
                               categorical_weight=s.categorical_weight, ood_quantile=s.ood_quantile)

    def _client(self, client: str) -> _Client:
        state = self._clients.get(client)
        if state is not None:
            self._clients.move_to_end(client)
            return state
        state = _Client()
        if self._boundary_table is not None:
            state.boundary = RateTracker(self._boundary_table)
        if self._flagged_table is not None:
            state.flagged = RateTracker(self._flagged_table)
        self._clients[client] = state
        while len(self._clients) > self.settings.max_clients:
            self._clients.popitem(last=False)
        return state

    def _calibrate(self, client: str, x: FloatArray) -> None:
        assert self._calibration is not None
        sample = self._calibration.offer(client, x)
        if sample is not None:
            self._use(self._build(sample))
            self._calibration = None

    def _update(self, state: _Client, x: FloatArray, values: list[float], output: float | None) -> None:
        s = self.settings
        if output is not None:
            if state.boundary is not None:
                state.boundary.add(near_boundary(output, self._threshold_logit, s.boundary_margin))
            if state.flagged is not None:
                state.flagged.add(is_flagged(output, s.decision_threshold))
        reference, work = self._reference, self._work
        if reference is None or work is None:
            return
        reference.transform_into(x, values, work)  # what reference.transform(x) returns, in work's layout
        if self._prada:
            if state.prada is None:
                state.prada = PradaDetector.for_reference(reference, window=s.window,
                                                          max_distances=s.prada_distances, every=s.prada_every)
            label = int(output is not None and output >= s.decision_threshold)
            state.prada.observe_query(work, label, s.prada_min_distances)
        if self._ood_table is not None and reference.has_sample:
            if state.ood is None:
                state.ood = RateTracker(self._ood_table)
            state.ood.add(is_out_of_distribution_fast(reference, values, work))

    def _verdict(self, client: str, state: _Client) -> ExtractionVerdict:
        s = self.settings
        scores: dict[str, float] = {}
        alarms: list[str] = []
        prada = state.prada
        if prada is not None and prada.w is not None:
            scores["prada_w"] = prada.w
            if prada.w < s.prada_threshold:
                alarms.append("prada")
        for name, key in _RATE_SIGNALS:  # a constant tuple: nothing is built per call unless a signal fires
            tracker = getattr(state, name)
            if tracker is not None and tracker.n:
                scores[key] = tracker.count / tracker.n
                if tracker.alarming:
                    alarms.append(name)
        limit = self._volume_limit
        if limit is not None:
            scores["volume_ratio"] = state.sent / limit  # beside the shares: 1.0 is the limit
            if state.sent > limit:
                alarms.append("volume")
        clock = state.clock
        if clock is not None:
            scores["clock_share"] = share = clock.share
            if clock.n >= s.clock_min_queries and share < s.clock_share:
                alarms.append("clock")
        if state.queries < s.min_queries and alarms:  # too few for a rate or a spacing to mean anything; a count
            alarms = [name for name in alarms if name == "volume"]  # past the stated volume (shared) needs none
        if not alarms:
            return ExtractionVerdict(scores=scores, fired=(), queries=state.queries, reason="")
        return ExtractionVerdict(scores=scores, fired=tuple(alarms), queries=state.queries,
                                 reason=self._reason(client, state, scores, alarms))

    def _reason(self, client: str, state: _Client, scores: dict[str, float], alarms: list[str]) -> str:
        s = self.settings
        texts: list[str] = []
        for name in alarms:
            if name == "prada":
                texts.append(f"the spacing of its queries is unnatural (PRADA: Shapiro-Wilk W "
                             f"{scores['prada_w']:.2f} < {s.prada_threshold:.2f})")
                continue
            if name == "clock":
                texts.append(f"the hours of day its queries carry do not follow the clock (only "
                             f"{scores['clock_share']:.0%} of its last {state.clock.n if state.clock else 0} within "
                             f"two neighbouring hours of it; real-time clients: at least {s.clock_share:.0%})")
                continue
            if name == "volume":
                texts.append(f"it sent {state.sent} queries in the last {_duration(s.volume_period)} "
                             f"(natural clients: at most {s.volume_limit})")
                continue
            rate, what = {
                "boundary": (s.boundary_rate, "of its recent answers sat near the decision threshold"),
                "ood": (s.ood_rate, "of its recent queries lay outside natural data"),
                "flagged": (s.flagged_rate, "of its recent answers were positive"),
            }[name]
            texts.append(f"{scores[name + '_share']:.0%} {what} (natural traffic: at most {rate:.0%})")
        seen = max(state.queries, state.sent)  # a shared volume may count more than this process saw
        return (f"Client {client!r} looks like a model-extraction attempt after {seen} queries: "
                + "; ".join(texts) + ".")


def _check_shape(settings: ExtractionSettings, n_features: int) -> None:
    """Fail at construction, not on some later request, when the settings do not fit the features."""
    for name in ("scale", "center"):
        value = getattr(settings, name)
        if value is not None and len(value) != n_features:
            raise ValueError(f"{name} has {len(value)} values for {n_features} features")
    for name, positive in (("scale", True), ("center", False)):
        value = getattr(settings, name)
        if value is not None:
            array = np.asarray(value, dtype=np.float64)
            if not np.isfinite(array).all() or (positive and (array <= 0).any()):
                raise ValueError(f"{name} values must be finite{' and positive' if positive else ''}")
    if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n_features for i in settings.categorical):
        raise ValueError(f"categorical feature indices must be integers in [0, {n_features})")
    if settings.clock_feature is not None and not 0 <= settings.clock_feature < n_features:
        raise ValueError(f"clock_feature must be a feature index in [0, {n_features}), got {settings.clock_feature}")


def _vector(x: object, n_features: int) -> tuple[FloatArray, list[float]]:
    """The query as float64 array and as Python floats, or ValueError saying what is wrong with it.

    The guard passes a 1-D float64 array; for that case a finite sum of the Python floats proves every value
    finite (NaN and infinity propagate through a sum) at a fifth of what ``np.isfinite(...).all()`` costs,
    and no copy is needed (the monitor keeps no reference to ``x``: the calibration copies what it keeps).
    """
    if type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (n_features,):
        values: list[float] = x.tolist()
        if math.isfinite(sum(values)) or all(map(math.isfinite, values)):  # the sum may overflow: check each
            return x, values
        raise ValueError("x holds NaN or infinite values")
    return _vector_checked(x, n_features)


def _vector_checked(x: object, n_features: int) -> tuple[FloatArray, list[float]]:
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise ValueError(f"x must be a numeric vector of {n_features} features ({exc})") from exc
    if raw.dtype.kind not in "biuf":  # strings, objects, complex numbers: nothing a feature extractor sends
        raise ValueError(f"x must be a numeric vector of {n_features} features, got dtype {raw.dtype}")
    vector = raw.astype(np.float64, copy=True)
    if vector.shape != (n_features,):
        raise ValueError(f"x must have shape ({n_features},), got {vector.shape}")
    if not np.isfinite(vector).all():
        raise ValueError("x holds NaN or infinite values")
    return vector, vector.tolist()


def _output(output: object) -> float | None:
    if output is None:
        return None
    if type(output) is float and 0.0 <= output <= 1.0:  # the common case, without the isinstance chain below
        return output
    if isinstance(output, bool) or not isinstance(output, int | float | np.floating | np.integer):
        raise ValueError(f"output must be a probability or None, got {output!r}")
    value = float(output)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"output must be a probability in [0, 1], got {value!r}")
    return value


def _instant(now: object, name: str = "now") -> float:
    if now is None:
        return time.monotonic()
    try:
        finite = not isinstance(now, bool) and isinstance(now, int | float) and math.isfinite(now)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise ValueError(f"{name} must be a finite number of seconds, got {now!r}")
    return float(now)  # type: ignore[arg-type]


def _duration(seconds: float) -> str:
    """'day' or '2 hours' rather than '86400.0 s' in an alert someone reads."""
    for unit, size in (("day", 86_400.0), ("hour", 3_600.0), ("minute", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            count = int(seconds / size)
            return f"{count} {unit}s" if count > 1 else unit
    return f"{seconds:g} seconds"


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _check_range(name: str, value: object, low: float, high: float, *, upper_inclusive: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low < value
    ok = ok and (value <= high if upper_inclusive else value < high)  # type: ignore[operator]
    if not ok:
        raise ValueError(f"{name} must lie in ({low}, {high}{']' if upper_inclusive else ')'}, got {value!r}")

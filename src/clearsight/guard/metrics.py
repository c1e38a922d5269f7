"""Prometheus metrics for the guard: what it decided, what it cost, what the detectors saw.

Each :class:`GuardMetrics` owns its registry unless given one, so two guards in one process (or one per test)
never collide on metric names. Label values are kept few on purpose: a route is the policy's route pattern, never
the raw path, client identities are never labels, and each label admits a bounded number of distinct values
(later ones are counted under ``__other__``) so a misconfigured caller cannot explode the series count.

The per-request series (requests, decisions, the two latencies, detector scores) are plain counts the guard
bumps itself and hands to ``prometheus_client`` only when scraped (:class:`_RequestSeries`): through the
library's metric objects each request cost six locked increments and two locked histogram observations, about
a tenth of the guard's whole cost per request. The exposition is the same text a scraper saw before, without the
``_created`` samples of those histograms, and the library's metric objects for them are no longer attributes
of :class:`GuardMetrics`. Updates come from the event loop's thread (as everything in the guard); a scrape
from another thread reads a snapshot.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["LATENCY_BUCKETS", "OVERFLOW_LABEL", "SCORE_BUCKETS", "UPSTREAM_BUCKETS", "GuardMetrics"]

log = logging.getLogger("clearsight.guard.metrics")

OVERFLOW_LABEL = "__other__"

# Detector scores live in [0, 1]; the interesting part is near the thresholds, usually the upper half.
SCORE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
# The guard's own overhead should be well under a millisecond; the default buckets start at 5 ms and would hide it.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
UPSTREAM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


MAX_CACHED_CHILDREN = 4096


class _BoundedLabel:
    """Passes through the first ``limit`` distinct values and maps the rest to ``__other__``."""

    def __init__(self, name: str, limit: int) -> None:
        self._name = name
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
            if not self._warned:
                self._warned = True
                log.warning("more than %d distinct %s label values; further ones are counted as %s",
                            self._limit, self._name, OVERFLOW_LABEL)
        return OVERFLOW_LABEL


# the ``le`` label of each bucket as prometheus_client writes it ("0.0001", "1.0", "+Inf")
_LE: dict[tuple[float, ...], tuple[str, ...]] = {
    bounds: tuple(floatToGoString(b) for b in (*bounds, math.inf))  # type: ignore[no-untyped-call]
    for bounds in (SCORE_BUCKETS, LATENCY_BUCKETS, UPSTREAM_BUCKETS)
}


class _Count:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0  # floats, as the library's own counters hold
        self.created = time.time()


class _Histogram:
    """One labelled histogram series: a count per bucket (``le`` bounds, then +Inf) and the sum."""

    __slots__ = ("counts", "sum")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.counts = [0.0] * (len(buckets) + 1)
        self.sum = 0.0

    def observe(self, bounds: tuple[float, ...], value: float) -> None:
        self.counts[bisect_left(bounds, value)] += 1  # the first bound >= value: Prometheus buckets are "le"
        self.sum += value


class _RequestSeries(Collector):
    """The per-request series, kept as plain numbers and turned into metric families at scrape time."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], _Count] = {}
        self.decisions: dict[tuple[str, str], _Count] = {}
        self.latency: dict[str, _Histogram] = {}
        self.upstream: dict[str, _Histogram] = {}
        self.scores: dict[tuple[str, str], _Histogram] = {}

    def count(self, table: dict[Any, _Count], key: Any) -> _Count:
        return table.get(key) or table.setdefault(key, _Count())

    def histogram(self, table: dict[Any, _Histogram], key: Any, buckets: tuple[float, ...]) -> _Histogram:
        return table.get(key) or table.setdefault(key, _Histogram(buckets))

    def describe(self) -> Iterator[Metric]:
        """The families without samples: what the registry checks names against (a second registration of
        the same names is refused, as with the library's own metrics)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        requests, decisions, scores, latency, upstream = self._families()
        created = getattr(prometheus_metrics, "_use_created", True)  # PROMETHEUS_DISABLE_CREATED_SERIES
        for (route, method, status), count in list(self.requests.items()):
            requests.add_metric([route, method, status], count.value, created=count.created if created else None)
        for (route, action), count in list(self.decisions.items()):
            decisions.add_metric([route, action], count.value, created=count.created if created else None)
        for family, table, buckets in ((latency, self.latency, LATENCY_BUCKETS),
                                       (upstream, self.upstream, UPSTREAM_BUCKETS)):
            for route, histogram in list(table.items()):
                family.add_metric([route], *_buckets(histogram, buckets))
        for (route, signal), histogram in list(self.scores.items()):
            scores.add_metric([route, signal], *_buckets(histogram, SCORE_BUCKETS))
        yield from (requests, decisions, scores, latency, upstream)

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, HistogramMetricFamily,
                             HistogramMetricFamily, HistogramMetricFamily]:
        """Requests, decisions, detector scores, latency, upstream latency: the order they were registered in
        when they were the library's own metric objects."""
        return (
            CounterMetricFamily("clearsight_guard_requests", "Requests the guard handled, by outcome.",
                                labels=["route", "method", "status"]),
            CounterMetricFamily("clearsight_guard_decisions", "Guard decisions (allow, throttle, block...).",
                                labels=["route", "action"]),
            HistogramMetricFamily("clearsight_guard_detector_score", "Detector scores per request.",
                                  labels=["route", "signal"]),
            HistogramMetricFamily("clearsight_guard_latency_seconds",
                                  "Latency the guard itself adds to a request (excluding the upstream model).",
                                  labels=["route"]),
            HistogramMetricFamily("clearsight_guard_upstream_latency_seconds",
                                  "Time the protected model took to answer.", labels=["route"]),
        )


def _buckets(histogram: _Histogram, bounds: tuple[float, ...]) -> tuple[list[tuple[str, float]], float]:
    counts = list(histogram.counts)  # one snapshot: the cumulative buckets and +Inf agree with each other
    running = 0.0
    cumulative: list[tuple[str, float]] = []
    for le, count in zip(_LE[bounds], counts, strict=True):
        running += count
        cumulative.append((le, running))
    return cumulative, histogram.sum


class GuardMetrics:
    """The guard's metrics, all named ``clearsight_guard_*``; ``render`` is the ``/metrics`` response."""

    def __init__(self, registry: CollectorRegistry | None = None, *, max_routes: int = 200,
                 max_signals: int = 100, max_actions: int = 32) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._route = _BoundedLabel("route", max_routes)
        self._signal = _BoundedLabel("signal", max_signals)
        self._action = _BoundedLabel("action", max_actions)
        r = self.registry
        self._series = _RequestSeries()
        r.register(self._series)
        self._children: dict[tuple[str, str, int, str], tuple[_Count, _Count, _Histogram, _Histogram]] = {}
        self._score_children: dict[tuple[str, str], _Histogram] = {}
        self.alerts = Counter("clearsight_guard_alerts_total", "Alerts raised (after cooldown suppression).",
                              ["signal"], registry=r)
        self.audit_queue_depth = Gauge("clearsight_guard_audit_queue_depth",
                                       "Audit records waiting to be written.", registry=r)
        self.rate_limited_requests = Counter("clearsight_guard_rate_limited_total",
                                             "Requests refused by a rate limit.", ["route"], registry=r)

    def observe_request(self, route: str, method: str, status: int, action: str, latency_s: float,
                        upstream_s: float | None = None) -> None:
        """One request's outcome; ``latency_s`` is the guard's own overhead, ``upstream_s`` the model's time."""
        key = (route, method, status, action)
        children = self._children.get(key)
        if children is None:  # label checks and look-ups once per combination, not per request
            route_label = self._route(route)
            verb = method.upper()
            series = self._series
            children = (series.count(series.requests, (route_label, verb if verb in _METHODS else "OTHER",
                                                       _status(status))),
                        series.count(series.decisions, (route_label, self._action(action))),
                        series.histogram(series.latency, route_label, LATENCY_BUCKETS),
                        series.histogram(series.upstream, route_label, UPSTREAM_BUCKETS))
            if len(self._children) < MAX_CACHED_CHILDREN:
                self._children[key] = children
        requests, decisions, latency, upstream = children
        requests.value += 1
        decisions.value += 1
        if latency_s >= 0 and math.isfinite(latency_s):  # _Histogram.observe, written out: once per request
            latency.counts[bisect_left(LATENCY_BUCKETS, latency_s)] += 1
            latency.sum += latency_s
        if upstream_s is not None and upstream_s >= 0 and math.isfinite(upstream_s):
            upstream.counts[bisect_left(UPSTREAM_BUCKETS, upstream_s)] += 1
            upstream.sum += upstream_s

    def observe_scores(self, route: str, scores: Mapping[str, float]) -> None:
        cache = self._score_children
        for signal, score in scores.items():
            if math.isfinite(score):  # a NaN would poison the histogram's sum for good
                child = cache.get((route, signal))
                if child is None:
                    series = self._series
                    child = series.histogram(series.scores, (self._route(route), self._signal(signal)),
                                             SCORE_BUCKETS)
                    if len(cache) < MAX_CACHED_CHILDREN:
                        cache[(route, signal)] = child
                child.observe(SCORE_BUCKETS, score)

    def alert(self, signal: str) -> None:
        self.alerts.labels(self._signal(signal)).inc()

    def rate_limited(self, route: str) -> None:
        self.rate_limited_requests.labels(self._route(route)).inc()

    def set_queue_depth_fn(self, fn: Callable[[], float] | None) -> None:
        """Read the audit queue depth at scrape time; a failing callback reports NaN instead of failing the scrape."""
        if fn is None:
            self.audit_queue_depth.set_function(lambda: 0.0)
            return

        def safe() -> float:
            try:
                return float(fn())
            except Exception:
                log.exception("audit queue depth callback failed")
                return math.nan

        self.audit_queue_depth.set_function(safe)

    def render(self) -> tuple[bytes, str]:
        """Body and content type of a Prometheus text exposition of this guard's registry."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _status(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "invalid"

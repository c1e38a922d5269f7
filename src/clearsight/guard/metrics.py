"""Prometheus metrics for the guard: what it decided, what it cost, what the detectors saw.

Each :class:`GuardMetrics` owns its registry unless given one, so two guards in one process (or one per test)
never collide on metric names. Label values are kept few on purpose: a route is the policy's route pattern, never
the raw path, client identities are never labels, and each label admits a bounded number of distinct values
(later ones are counted under ``__other__``) so a misconfigured caller cannot explode the series count.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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


class GuardMetrics:
    """The guard's metrics, all named ``clearsight_guard_*``; ``render`` is the ``/metrics`` response."""

    def __init__(self, registry: CollectorRegistry | None = None, *, max_routes: int = 200,
                 max_signals: int = 100, max_actions: int = 32) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._route = _BoundedLabel("route", max_routes)
        self._signal = _BoundedLabel("signal", max_signals)
        self._action = _BoundedLabel("action", max_actions)
        r = self.registry
        self._children: dict[tuple[str, str, int, str], tuple[Any, Any, Any, Any]] = {}
        self._score_children: dict[tuple[str, str], Any] = {}
        self.requests = Counter("clearsight_guard_requests_total", "Requests the guard handled, by outcome.",
                                ["route", "method", "status"], registry=r)
        self.decisions = Counter("clearsight_guard_decisions_total", "Guard decisions (allow, throttle, block...).",
                                 ["route", "action"], registry=r)
        self.detector_score = Histogram("clearsight_guard_detector_score", "Detector scores per request.",
                                        ["route", "signal"], buckets=SCORE_BUCKETS, registry=r)
        self.latency = Histogram("clearsight_guard_latency_seconds",
                                 "Latency the guard itself adds to a request (excluding the upstream model).",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.upstream_latency = Histogram("clearsight_guard_upstream_latency_seconds",
                                          "Time the protected model took to answer.", ["route"],
                                          buckets=UPSTREAM_BUCKETS, registry=r)
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
        if children is None:  # labels() hashes and locks on every call: resolve each combination once
            route_label = self._route(route)
            verb = method.upper()
            children = (self.requests.labels(route_label, verb if verb in _METHODS else "OTHER", _status(status)),
                        self.decisions.labels(route_label, self._action(action)),
                        self.latency.labels(route_label), self.upstream_latency.labels(route_label))
            if len(self._children) < MAX_CACHED_CHILDREN:
                self._children[key] = children
        requests, decisions, latency, upstream = children
        requests.inc()
        decisions.inc()
        if math.isfinite(latency_s) and latency_s >= 0:
            latency.observe(latency_s)
        if upstream_s is not None and math.isfinite(upstream_s) and upstream_s >= 0:
            upstream.observe(upstream_s)

    def observe_scores(self, route: str, scores: Mapping[str, float]) -> None:
        cache = self._score_children
        for signal, score in scores.items():
            if math.isfinite(score):  # a NaN would poison the histogram's sum for good
                child = cache.get((route, signal))
                if child is None:  # as in observe_request: labels() per call cost more than the observation
                    child = self.detector_score.labels(self._route(route), self._signal(signal))
                    if len(cache) < MAX_CACHED_CHILDREN:
                        cache[(route, signal)] = child
                child.observe(score)

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

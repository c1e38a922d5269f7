"""Guard metrics, checked by parsing the Prometheus exposition the way a scraper would."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from clearsight.guard.audit import AuditLog, AuditRecord
from clearsight.guard.metrics import OVERFLOW_LABEL, GuardMetrics


def samples(metrics: GuardMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE_LATEST
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(metrics: GuardMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_requests_decisions_and_latency() -> None:
    metrics = GuardMetrics()
    metrics.observe_request("/v1/score", "post", 200, "allow", 0.0003, upstream_s=0.040)
    metrics.observe_request("/v1/score", "POST", 200, "allow", 0.0002)
    metrics.observe_request("/v1/score", "POST", 429, "throttle", 0.00005)
    assert value(metrics, "clearsight_guard_requests_total", route="/v1/score", method="POST", status="200") == 2
    assert value(metrics, "clearsight_guard_requests_total", route="/v1/score", method="POST", status="429") == 1
    assert value(metrics, "clearsight_guard_decisions_total", route="/v1/score", action="allow") == 2
    assert value(metrics, "clearsight_guard_decisions_total", route="/v1/score", action="throttle") == 1
    # Sub-millisecond buckets separate 50 µs, 200 µs and 300 µs.
    bucket = "clearsight_guard_latency_seconds_bucket"
    assert value(metrics, bucket, route="/v1/score", le="0.0001") == 1
    assert value(metrics, bucket, route="/v1/score", le="0.00025") == 2
    assert value(metrics, bucket, route="/v1/score", le="0.0005") == 3
    assert value(metrics, "clearsight_guard_latency_seconds_count", route="/v1/score") == 3
    assert value(metrics, "clearsight_guard_latency_seconds_sum", route="/v1/score") == pytest.approx(0.00055)
    # Upstream time is observed only when the model was called.
    assert value(metrics, "clearsight_guard_upstream_latency_seconds_count", route="/v1/score") == 1
    assert value(metrics, "clearsight_guard_upstream_latency_seconds_bucket", route="/v1/score", le="0.05") == 1
    assert value(metrics, "clearsight_guard_upstream_latency_seconds_bucket", route="/v1/score", le="0.025") == 0


def test_detector_scores_histogram() -> None:
    metrics = GuardMetrics()
    metrics.observe_scores("/v1/score", {"prada": 0.97, "entropy": 0.15})
    metrics.observe_scores("/v1/score", {"prada": 0.42, "broken": math.nan})
    hist = "clearsight_guard_detector_score"
    assert value(metrics, f"{hist}_count", route="/v1/score", signal="prada") == 2
    assert value(metrics, f"{hist}_sum", route="/v1/score", signal="prada") == pytest.approx(1.39)
    assert value(metrics, f"{hist}_bucket", route="/v1/score", signal="prada", le="0.5") == 1
    assert value(metrics, f"{hist}_bucket", route="/v1/score", signal="prada", le="0.99") == 2
    assert value(metrics, f"{hist}_bucket", route="/v1/score", signal="entropy", le="0.2") == 1
    assert not any(labels and ("signal", "broken") in labels for _, labels in samples(metrics))


def test_alerts_rate_limits_and_queue_depth() -> None:
    metrics = GuardMetrics()
    metrics.alert("prada")
    metrics.alert("prada")
    metrics.rate_limited("/v1/score")
    depth = [3.0]
    metrics.set_queue_depth_fn(lambda: depth[0])
    assert value(metrics, "clearsight_guard_alerts_total", signal="prada") == 2
    assert value(metrics, "clearsight_guard_rate_limited_total", route="/v1/score") == 1
    assert value(metrics, "clearsight_guard_audit_queue_depth") == 3
    depth[0] = 7.0
    assert value(metrics, "clearsight_guard_audit_queue_depth") == 7  # read at scrape time


def test_queue_depth_follows_a_real_audit_log() -> None:
    gate, entered = threading.Event(), threading.Event()

    class Gated:
        def write_batch(self, records: Sequence[AuditRecord]) -> None:
            entered.set()
            gate.wait(60)

        def close(self) -> None: ...

    log = AuditLog(Gated(), queue_size=10, batch_size=1)
    metrics = GuardMetrics()
    metrics.set_queue_depth_fn(log.depth)
    try:
        for i in range(4):
            log.submit(AuditRecord(datetime.now(UTC), f"r{i}", "ip:1", "/", "GET", 200, "allow", (), None, {}, 0.1))
        assert entered.wait(30)
        assert value(metrics, "clearsight_guard_audit_queue_depth") == 3  # one record is in the sink's hands
    finally:
        gate.set()
        log.close()
    assert value(metrics, "clearsight_guard_audit_queue_depth") == 0


def test_a_failing_depth_callback_does_not_break_the_scrape() -> None:
    metrics = GuardMetrics()

    def broken() -> float:
        raise RuntimeError("gone")

    metrics.set_queue_depth_fn(broken)
    assert math.isnan(value(metrics, "clearsight_guard_audit_queue_depth"))
    metrics.set_queue_depth_fn(None)
    assert value(metrics, "clearsight_guard_audit_queue_depth") == 0


def test_each_guard_has_its_own_registry() -> None:
    first, second = GuardMetrics(), GuardMetrics()
    first.alert("prada")
    assert value(first, "clearsight_guard_alerts_total", signal="prada") == 1
    assert ("clearsight_guard_alerts_total", (("signal", "prada"),)) not in samples(second)
    shared = CollectorRegistry()
    assert GuardMetrics(shared).registry is shared
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        GuardMetrics(shared)  # same registry twice is a configuration error prometheus_client reports


def test_all_metric_names_are_prefixed_and_clients_are_never_labels() -> None:
    metrics = GuardMetrics()
    metrics.observe_request("/v1/score", "POST", 200, "allow", 0.001, 0.01)
    metrics.observe_scores("/v1/score", {"prada": 0.5})
    metrics.alert("prada")
    metrics.rate_limited("/v1/score")
    body, _ = metrics.render()
    families = list(text_string_to_metric_families(body.decode()))
    names = {f.name for f in families}
    assert {"clearsight_guard_requests", "clearsight_guard_decisions", "clearsight_guard_detector_score",
            "clearsight_guard_latency_seconds", "clearsight_guard_upstream_latency_seconds",
            "clearsight_guard_alerts", "clearsight_guard_audit_queue_depth",
            "clearsight_guard_rate_limited"} <= names
    assert all(name.startswith("clearsight_guard_") for name in names)
    label_names = {label for f in families for s in f.samples for label in s.labels}
    assert label_names <= {"route", "method", "status", "action", "signal", "le"}


def test_label_cardinality_is_bounded() -> None:
    metrics = GuardMetrics(max_routes=2, max_signals=1)
    for route in ("/a", "/b", "/c", "/d"):
        metrics.observe_request(route, "BREW", 999, "allow", 0.001)
    metrics.alert("prada")
    metrics.alert("entropy")
    assert value(metrics, "clearsight_guard_requests_total", route="/a", method="OTHER", status="invalid") == 1
    assert value(metrics, "clearsight_guard_requests_total", route=OVERFLOW_LABEL, method="OTHER",
                 status="invalid") == 2
    assert value(metrics, "clearsight_guard_alerts_total", signal="prada") == 1
    assert value(metrics, "clearsight_guard_alerts_total", signal=OVERFLOW_LABEL) == 1


def test_the_exposition_is_what_the_librarys_own_metrics_write() -> None:
    """The per-request series are counted by hand; a scraper must see what prometheus_client's Counter and
    Histogram would have written for the same observations (their _created samples aside)."""
    from prometheus_client import Counter, Histogram, generate_latest

    from clearsight.guard.metrics import LATENCY_BUCKETS, SCORE_BUCKETS, UPSTREAM_BUCKETS

    registry = CollectorRegistry()
    requests = Counter("clearsight_guard_requests_total", "Requests the guard handled, by outcome.",
                       ["route", "method", "status"], registry=registry)
    decisions = Counter("clearsight_guard_decisions_total", "Guard decisions (allow, throttle, block...).",
                        ["route", "action"], registry=registry)
    scores = Histogram("clearsight_guard_detector_score", "Detector scores per request.", ["route", "signal"],
                       buckets=SCORE_BUCKETS, registry=registry)
    latency = Histogram("clearsight_guard_latency_seconds",
                        "Latency the guard itself adds to a request (excluding the upstream model).", ["route"],
                        buckets=LATENCY_BUCKETS, registry=registry)
    upstream = Histogram("clearsight_guard_upstream_latency_seconds", "Time the protected model took to answer.",
                         ["route"], buckets=UPSTREAM_BUCKETS, registry=registry)
    metrics = GuardMetrics()
    for i in range(300):
        route, status, action = f"/r{i % 3}", 200 if i % 7 else 429, "allow" if i % 7 else "throttle"
        guard_s, model_s = (i % 37) * 3e-5, (i % 11) * 7e-3 if i % 4 else None
        values = {"prada": (i % 101) / 100, "ood": 0.3 if i % 2 else 1.0}  # 0.3 and 1.0 sit on bucket bounds
        metrics.observe_request(route, "POST", status, action, guard_s, model_s)
        metrics.observe_scores(route, values)
        requests.labels(route, "POST", str(status)).inc()
        decisions.labels(route, action).inc()
        latency.labels(route).observe(guard_s)
        model = upstream.labels(route)  # a route's upstream series exists from its first request, as before
        if model_s is not None:
            model.observe(model_s)
        for signal, score in values.items():
            scores.labels(route, signal).observe(score)

    def lines(body: bytes, names: tuple[str, ...]) -> list[str]:
        return [line for line in body.decode().splitlines()
                if "_created" not in line and any(name in line for name in names)]

    names = ("clearsight_guard_requests", "clearsight_guard_decisions", "clearsight_guard_detector_score",
             "clearsight_guard_latency_seconds", "clearsight_guard_upstream_latency_seconds")
    expected = lines(generate_latest(registry), names)
    assert len(expected) > 100
    assert lines(metrics.render()[0], names) == expected


def test_created_series_follow_prometheus_clients_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PROMETHEUS_DISABLE_CREATED_SERIES (or disable_created_metrics()) drops the _created samples of the
    request and decision counters too, as it did when they were the library's own Counters."""
    from prometheus_client import metrics as prometheus_metrics

    metrics = GuardMetrics()
    metrics.observe_request("/v1/score", "POST", 200, "allow", 0.001)
    assert "clearsight_guard_requests_created" in metrics.render()[0].decode()
    monkeypatch.setattr(prometheus_metrics, "_use_created", False)
    body = metrics.render()[0].decode()
    assert "clearsight_guard_requests_created" not in body and "clearsight_guard_decisions_created" not in body
    assert value(metrics, "clearsight_guard_requests_total", route="/v1/score", method="POST", status="200") == 1

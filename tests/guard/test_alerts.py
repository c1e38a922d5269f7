"""Alert delivery against a real HTTP server on 127.0.0.1: retries, cooldown, refusal, flush on close."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clearsight.core.errors import InputError
from clearsight.guard.alerts import Alert, AlertDispatcher, parse_retry_after

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class Webhook:
    """A scripted webhook: answers with ``script`` statuses in order, then 200."""

    url: str = ""
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], object]] = field(default_factory=list)
    hold: threading.Event | None = None  # when set up, requests wait for it (a hung endpoint)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        self.script = [(s, {}) if isinstance(s, int) else s for s in statuses]

    @property
    def bodies(self) -> list[object]:
        return [body for _, _, body in self.received]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if hook.hold is not None:
                hook.hold.wait(30)
            with hook.lock:
                hook.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = hook.script.pop(0) if hook.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/clearsight"
    try:
        yield hook
    finally:
        if hook.hold is not None:
            hook.hold.set()
        server.shutdown()
        server.server_close()
        thread.join()


def make_alert(client: str = "key:3fa2", signal: str = "prada", **changes: object) -> Alert:
    values: dict[str, object] = {"time": T0, "client": client, "route": "/v1/score", "signal": signal,
                                 "action": "block", "message": "query distribution looks synthetic",
                                 "scores": {"prada": 0.97}}
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


def dispatcher(url: str | None, **options: object) -> AlertDispatcher:
    settings: dict[str, object] = {"backoff": 0.001, "timeout": 5.0}
    settings.update(options)
    return AlertDispatcher(webhook=url, **settings)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retries_503_then_delivers_exactly_one_alert(webhook: Webhook) -> None:
    webhook.answer(503, 503)
    alerts = dispatcher(webhook.url, retries=4)

    async def main() -> None:
        await alerts.start()
        assert alerts.send(make_alert()) is True
        await alerts.aclose()

    asyncio.run(main())
    assert len(webhook.received) == 3  # two failures, then the delivery
    assert webhook.bodies[0] == webhook.bodies[2]
    assert webhook.bodies[2] == {
        "type": "clearsight.guard.alert",
        "time": "2026-11-26T12:00:00+00:00",
        "client": "key:3fa2",
        "route": "/v1/score",
        "signal": "prada",
        "action": "block",
        "message": "query distribution looks synthetic",
        "scores": {"prada": 0.97},
        "text": "clearsight guard: prada on /v1/score by key:3fa2 -> block: query distribution looks synthetic",
    }
    assert webhook.received[0][0] == "/hooks/clearsight"
    assert webhook.received[0][1]["content-type"] == "application/json"
    stats = alerts.stats()
    assert (stats.sent, stats.failed, stats.attempts, stats.pending) == (1, 0, 3, 0)


def test_gives_up_after_the_configured_retries(webhook: Webhook) -> None:
    webhook.answer(*([500] * 10))
    alerts = dispatcher(webhook.url, retries=2)

    async def main() -> None:
        await alerts.start()
        alerts.send(make_alert())
        await alerts.aclose()

    asyncio.run(main())
    assert len(webhook.received) == 3
    stats = alerts.stats()
    assert (stats.sent, stats.failed, stats.attempts) == (0, 1, 3)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(webhook: Webhook, status: int) -> None:
    webhook.answer(status)
    alerts = dispatcher(webhook.url, retries=4)

    async def main() -> None:
        await alerts.start()
        alerts.send(make_alert())
        await alerts.aclose()

    asyncio.run(main())
    assert len(webhook.received) == 1
    stats = alerts.stats()
    assert (stats.sent, stats.failed, stats.attempts) == (0, 1, 1)


def test_429_is_retried_honouring_a_small_retry_after(webhook: Webhook) -> None:
    webhook.answer((429, {"Retry-After": "0"}), (429, {"Retry-After": "3600"}))
    # An hour is more than max_retry_after: the dispatcher keeps to its own short backoff instead of waiting.
    alerts = dispatcher(webhook.url, retries=3, max_retry_after=5.0)

    async def main() -> None:
        await alerts.start()
        alerts.send(make_alert())
        await alerts.aclose(timeout=30)

    asyncio.run(main())
    assert len(webhook.received) == 3
    assert (alerts.stats().sent, alerts.stats().attempts) == (1, 3)


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 26 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 26 Nov 2026 11:00:00 GMT", now=now) == 0.0


def test_connection_errors_are_retried_then_counted_as_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: every attempt is refused.
    alerts = dispatcher(f"http://127.0.0.1:{port}/hook", retries=2)

    async def main() -> None:
        await alerts.start()
        assert alerts.send(make_alert()) is True
        await alerts.aclose()

    asyncio.run(main())
    stats = alerts.stats()
    assert (stats.sent, stats.failed, stats.attempts) == (0, 1, 3)


def test_cooldown_suppresses_repeats_per_client_and_signal(webhook: Webhook) -> None:
    clock = FakeClock()
    alerts = dispatcher(webhook.url, cooldown=300.0, clock=clock)

    async def main() -> None:
        await alerts.start()
        assert alerts.send(make_alert("key:a", "prada")) is True
        assert alerts.send(make_alert("key:a", "prada")) is False  # same client and signal: suppressed
        assert alerts.send(make_alert("key:a", "entropy")) is True  # another signal
        assert alerts.send(make_alert("key:b", "prada")) is True  # another client
        clock.now += 299.0
        assert alerts.send(make_alert("key:a", "prada", time=T0 + timedelta(seconds=299))) is False
        clock.now += 1.0
        assert alerts.send(make_alert("key:a", "prada", message="again")) is True  # cooldown over
        await alerts.aclose()

    asyncio.run(main())
    stats = alerts.stats()
    assert (stats.sent, stats.suppressed, stats.dropped) == (4, 2, 0)
    delivered = sorted((b["client"], b["signal"], b["message"]) for b in webhook.bodies)  # type: ignore[index]
    assert delivered == [("key:a", "entropy", "query distribution looks synthetic"),
                         ("key:a", "prada", "again"),
                         ("key:a", "prada", "query distribution looks synthetic"),
                         ("key:b", "prada", "query distribution looks synthetic")]


def test_aclose_flushes_pending_alerts(webhook: Webhook) -> None:
    alerts = dispatcher(webhook.url)

    async def main() -> None:
        await alerts.start()
        for i in range(25):
            assert alerts.send(make_alert(f"key:{i}"))
        await alerts.aclose()

    asyncio.run(main())
    assert sorted(b["client"] for b in webhook.bodies) == sorted(f"key:{i}" for i in range(25))  # type: ignore[index]
    assert alerts.stats().sent == 25
    assert alerts.stats().pending == 0


def test_alerts_sent_before_start_are_delivered_on_close(webhook: Webhook) -> None:
    alerts = dispatcher(webhook.url)
    assert alerts.send(make_alert())

    async def main() -> None:
        await alerts.aclose()

    asyncio.run(main())
    assert len(webhook.received) == 1
    assert alerts.stats().sent == 1


def test_full_queue_drops_and_counts_without_raising(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    alerts = dispatcher(webhook.url, queue_size=2)
    with caplog.at_level(logging.WARNING, logger="clearsight.guard.alerts"):
        assert alerts.send(make_alert("key:1"))
        assert alerts.send(make_alert("key:2"))
        assert alerts.send(make_alert("key:3")) is False
    assert any("queue full" in r.getMessage() and "key:3" in r.getMessage() for r in caplog.records)

    async def main() -> None:
        await alerts.start()
        await alerts.aclose()

    asyncio.run(main())
    assert (alerts.stats().sent, alerts.stats().dropped) == (2, 1)
    assert sorted(b["client"] for b in webhook.bodies) == ["key:1", "key:2"]  # type: ignore[index]


def test_aclose_is_bounded_when_the_webhook_hangs(webhook: Webhook) -> None:
    webhook.hold = threading.Event()
    alerts = dispatcher(webhook.url, timeout=30.0)

    async def main() -> None:
        await alerts.start()
        for i in range(3):
            alerts.send(make_alert(f"key:{i}"))
        await alerts.aclose(timeout=0.2)

    asyncio.run(main())
    stats = alerts.stats()
    assert (stats.sent, stats.dropped, stats.pending) == (0, 3, 0)


def test_send_after_close_is_dropped_not_raised(webhook: Webhook) -> None:
    alerts = dispatcher(webhook.url)

    async def main() -> None:
        await alerts.start()
        await alerts.aclose()
        await alerts.aclose()  # idempotent
        assert alerts.send(make_alert()) is False

    asyncio.run(main())
    assert alerts.stats().dropped == 1
    assert webhook.received == []


def test_every_alert_is_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    alerts = dispatcher(None)
    with caplog.at_level(logging.WARNING, logger="clearsight.guard.alerts"):
        assert alerts.send(make_alert("key:a"))
        assert alerts.send(make_alert("key:b"))
        assert alerts.send(make_alert("key:a")) is False  # suppressed: not a new alert

    async def main() -> None:
        await alerts.start()
        await alerts.aclose()

    asyncio.run(main())
    lines = [r for r in caplog.records if r.name == "clearsight.guard.alerts" and r.levelno == logging.WARNING]
    assert [r.getMessage() for r in lines] == [
        "guard alert: prada on /v1/score by key:a -> block: query distribution looks synthetic",
        "guard alert: prada on /v1/score by key:b -> block: query distribution looks synthetic",
    ]
    assert (alerts.stats().sent, alerts.stats().suppressed) == (2, 1)


def test_send_from_other_threads_and_custom_headers(webhook: Webhook) -> None:
    alerts = dispatcher(webhook.url, headers={"Authorization": "Bearer t0ken"})

    async def main() -> None:
        await alerts.start()
        threads = [threading.Thread(target=alerts.send, args=(make_alert(f"key:{i}"),)) for i in range(10)]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        await alerts.aclose()

    asyncio.run(main())
    assert len(webhook.received) == 10
    assert {h["authorization"] for _, h, _ in webhook.received} == {"Bearer t0ken"}


def test_non_finite_scores_are_sent_as_null(webhook: Webhook) -> None:
    alerts = dispatcher(webhook.url)

    async def main() -> None:
        await alerts.start()
        alerts.send(make_alert(scores={"prada": float("nan"), "entropy": 0.4}))
        await alerts.aclose()

    asyncio.run(main())
    assert webhook.bodies[0]["scores"] == {"prada": None, "entropy": 0.4}  # type: ignore[index]


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "/just/a/path", "http://[::1"])
def test_invalid_webhook_is_an_input_error(url: str) -> None:
    with pytest.raises(InputError) as info:
        AlertDispatcher(webhook=url)
    assert info.value.field == "webhook"

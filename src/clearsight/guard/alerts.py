"""Alerts: tell a person, quickly, that a client is probing or extracting a model.

The guard raises alerts from the request path, so :meth:`AlertDispatcher.send` only appends to a bounded
in-memory queue and returns; one background task posts to the webhook. The guard's decision never waits on, and
never fails because of, an alerting endpoint that is slow or down.

An attack trips the same detector on every request, so alerts are rate-limited per (client, signal) by a
cooldown: the first one pages someone, the next thousand would only bury it. Whatever is suppressed or dropped
is counted, and every accepted alert is also logged at WARNING, so the log keeps a record even when the webhook
is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from clearsight.core.errors import InputError
from clearsight.guard.policy import webhook_problem

if TYPE_CHECKING:
    import httpx

__all__ = ["Alert", "AlertDispatcher", "AlertStats"]

log = logging.getLogger("clearsight.guard.alerts")



@dataclass(frozen=True)
class Alert:
    time: datetime
    client: str
    route: str
    signal: str
    action: str
    message: str
    scores: Mapping[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{self.signal} on {self.route} by {self.client} -> {self.action}: {self.message}"

    def to_json(self) -> dict[str, object]:
        """The webhook body. ``text`` makes it readable as-is by chat webhooks (Slack, Mattermost) too."""
        when = self.time.astimezone(UTC) if self.time.tzinfo else self.time.replace(tzinfo=UTC)
        return {
            "type": "clearsight.guard.alert",
            "time": when.isoformat(),
            "client": self.client,
            "route": self.route,
            "signal": self.signal,
            "action": self.action,
            "message": self.message,
            # JSON has no NaN/Infinity; a broken detector's score is sent as null rather than failing the alert.
            "scores": {k: (float(v) if math.isfinite(v) else None) for k, v in self.scores.items()},
            "text": f"clearsight guard: {self.summary()}",
        }


@dataclass(frozen=True, slots=True)
class AlertStats:
    """``sent``: delivered to the webhook (2xx), or logged when there is no webhook. ``failed``: given up after
    retries or refused with a non-retryable status. ``suppressed``: within the cooldown of the same client and
    signal. ``dropped``: queue full, sent after close, or still pending when ``aclose`` ran out of time.
    ``attempts``: HTTP requests made. ``pending``: accepted, not yet delivered or failed."""

    sent: int
    failed: int
    suppressed: int
    dropped: int
    attempts: int
    pending: int


class AlertDispatcher:
    """Delivers alerts to a webhook in the background, with cooldown, retries and a bounded queue.

    ``send`` may be called from the event loop or from another thread (the proxy). ``start`` binds the worker to
    the running loop; ``aclose`` flushes what is pending, waiting at most ``timeout`` seconds.
    """

    def __init__(
        self,
        *,
        webhook: str | None,
        log: bool = True,
        timeout: float = 5.0,
        retries: int = 4,
        backoff: float = 0.5,
        cooldown: float = 300.0,
        queue_size: int = 1000,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        problem = None if webhook is None else webhook_problem(webhook)
        if problem:
            raise InputError(problem, field="webhook", hint="e.g. https://hooks.example.com/clearsight")
        if retries < 0 or backoff < 0 or cooldown < 0 or timeout <= 0 or queue_size < 1:
            raise ValueError("retries, backoff, cooldown cannot be negative; timeout, queue_size must be positive")
        self.webhook = webhook
        self._log = log
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._cooldown = cooldown
        self._queue_size = queue_size
        self._headers = {"user-agent": "clearsight-guard", **(headers or {})}
        self._transport = transport
        self._max_retry_after = max_retry_after
        self._clock = clock

        self._lock = threading.Lock()  # send() may run on another thread than the worker
        self._pending: deque[Alert] = deque()
        self._last_sent: dict[tuple[str, str], float] = {}
        self._prune_at = 10_000
        self._sent = self._failed = self._suppressed = self._dropped = self._attempts = 0
        self._delivering = 0
        self._closing = False

        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery task on the running loop (nothing to start without a webhook). Idempotent."""
        if self._worker is not None or self.webhook is None or self._closing:
            return
        import httpx  # only a guard with a webhook needs an HTTP client; the rest never import one

        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self._timeout, headers=self._headers, transport=self._transport)
        self._worker = self._loop.create_task(self._run(), name="clearsight-alert-dispatcher")

    async def aclose(self, timeout: float = 10.0) -> None:
        """Deliver what is pending (waiting at most ``timeout`` seconds), then stop. Idempotent.

        Alerts still undelivered when the time is up are counted as dropped and logged with their content.
        """
        with self._lock:
            if self._closing:
                return
            has_pending = bool(self._pending)
        if has_pending and self._worker is None and self.webhook is not None:
            await self.start()  # alerts sent before start() still deserve delivery
        with self._lock:
            self._closing = True
        worker = self._worker
        if worker is not None:
            self._notify()
            try:
                await asyncio.wait_for(asyncio.shield(worker), timeout)
            except TimeoutError:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        with self._lock:
            leftover = list(self._pending)
            self._pending.clear()
            self._dropped += len(leftover)
        for alert in leftover:
            log.error("alert not delivered before shutdown: %s", alert.summary())
        if self._client is not None:
            await self._client.aclose()

    # -- producers ---------------------------------------------------------------------------------------------

    def send(self, alert: Alert) -> bool:
        """Queue ``alert`` for delivery without blocking. ``False`` when it was suppressed by the cooldown of the
        same client and signal, or dropped (queue full, dispatcher closed); never raises."""
        try:
            return self._send(alert)
        except Exception:  # the request path must not fail because alerting did
            log.exception("could not queue alert %r", alert)
            with self._lock:
                self._dropped += 1
            return False

    def _send(self, alert: Alert) -> bool:
        now = self._clock()
        key = (alert.client, alert.signal)
        with self._lock:
            if self._closing:
                self._dropped += 1
                outcome = "closed"
            elif (last := self._last_sent.get(key)) is not None and now - last < self._cooldown:
                self._suppressed += 1
                outcome = "suppressed"
            elif self.webhook is not None and len(self._pending) >= self._queue_size:
                self._dropped += 1
                outcome = "full"
            else:
                self._last_sent[key] = now
                self._prune(now)
                if self.webhook is None:
                    self._sent += 1
                else:
                    self._pending.append(alert)
                outcome = "queued"
        if outcome == "suppressed":
            log.debug("alert suppressed by cooldown: %s", alert.summary())
            return False
        if outcome != "queued":
            log.warning("alert dropped (%s): %s", "dispatcher closed" if outcome == "closed" else "queue full",
                        alert.summary())
            return False
        if self._log:
            log.warning("guard alert: %s", alert.summary())
        if self.webhook is not None:
            self._notify()
        return True

    def stats(self) -> AlertStats:
        with self._lock:
            return AlertStats(sent=self._sent, failed=self._failed, suppressed=self._suppressed,
                              dropped=self._dropped, attempts=self._attempts,
                              pending=len(self._pending) + self._delivering)

    # -- worker ------------------------------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        """Forget cooldowns that have expired, so a stream of distinct clients cannot grow the map forever."""
        if len(self._last_sent) < self._prune_at:
            return
        self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < self._cooldown}
        self._prune_at = max(10_000, 2 * len(self._last_sent))

    def _notify(self) -> None:
        loop, event = self._loop, self._wakeup
        if loop is None or event is None:
            return  # not started yet; start()/aclose() pick the queue up
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: aclose() accounts for the rest
                loop.call_soon_threadsafe(event.set)

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            with self._lock:
                alert = self._pending.popleft() if self._pending else None
                if alert is None and self._closing:
                    return
                if alert is not None:
                    self._delivering = 1
            if alert is None:
                self._wakeup.clear()
                with self._lock:
                    idle = not self._pending and not self._closing
                if idle:
                    await self._wakeup.wait()
                continue
            try:
                delivered = await self._deliver(alert)
            except asyncio.CancelledError:
                with self._lock:
                    self._dropped += 1
                    self._delivering = 0
                log.error("alert delivery cancelled at shutdown: %s", alert.summary())
                raise
            except Exception:
                log.exception("alert delivery failed unexpectedly: %s", alert.summary())
                delivered = False
            with self._lock:
                self._delivering = 0
                if delivered:
                    self._sent += 1
                else:
                    self._failed += 1

    async def _deliver(self, alert: Alert) -> bool:
        import httpx  # imported by start(), which made the client

        assert self._client is not None and self.webhook is not None
        payload = alert.to_json()
        problem = ""
        for attempt in range(self._retries + 1):
            with self._lock:
                self._attempts += 1
            retry_after: float | None = None
            try:
                response = await self._client.post(self.webhook, json=payload)
            except httpx.TransportError as exc:  # connection refused/reset, timeouts
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return True
                if status >= 500 or status == 429:  # other 4xx mean the request itself is wrong
                    problem = f"HTTP {status}"
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                else:
                    log.error("alert webhook refused the alert with HTTP %d (not retried): %s", status,
                              alert.summary())
                    return False
            if attempt == self._retries:
                break
            delay = self._backoff * 2**attempt
            if retry_after is not None and retry_after <= self._max_retry_after:
                delay = retry_after
            log.warning("alert webhook attempt %d of %d failed (%s); retrying in %.2fs", attempt + 1,
                        self._retries + 1, problem, delay)
            await asyncio.sleep(delay)
        log.error("alert not delivered after %d attempts (%s): %s", self._retries + 1, problem, alert.summary())
        return False


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

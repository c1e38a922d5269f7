"""``ModelGuard``: the guard as plain ASGI middleware, so it wraps FastAPI, Starlette or any ASGI app.

Two lines in an existing service::

    from clearsight.guard import ModelGuard
    app = ModelGuard(app, policy="guard.yaml")

Only routes named in the policy are touched; everything else passes straight through. On a guarded route
the body is read with a size cap before the app sees it, rejected requests never reach the app, and a
JSON answer is buffered so detectors can read the score and hardening can rewrite it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from clearsight.guard.engine import NOT_JSON, Admission, Guard, RateLimited
from clearsight.guard.identity import client_id
from clearsight.guard.inputs import Rejection
from clearsight.guard.policy import GuardPolicy, RoutePolicy, load_policy
from clearsight.guard.screening import Screener

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# request IDs: unique per process start and counter; uuid4 would read the OS's random source on every request
_ID_PREFIX = f"{os.getpid():x}{time.time_ns() & 0xFFFFFFFF:08x}-"
_ID_COUNTER = itertools.count(1)


class AnswerFailed(Exception):
    """The wrapped app could not give or finish its answer (the proxy's upstream is down, or broke off):
    ``status`` is what the client gets when none of the answer has reached it yet. ``before_answer``: raised
    before the app sent anything, so the guard answers for it on any route, guarded or not (on a guarded one
    it also goes on record as an error, never as an allowed request)."""

    def __init__(self, status: int, message: str, *, before_answer: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.before_answer = before_answer


class AnswerRefused(Exception):
    """Raised into the wrapped app's ``send`` once its answer is refused (too large or not JSON), when the guard
    was told to stop such answers: a proxy relaying an endless upstream stream would otherwise read it forever
    while its client waits for the refusal."""


class _NotLifespan(Exception):
    """The app sent an HTTP message on the lifespan scope."""


class ModelGuard:
    """``stop_refused``: raise :class:`AnswerRefused` into the app's ``send`` once its answer is refused, instead
    of discarding the rest of it; for apps that stop cleanly on it, such as the proxy's forwarder. An ordinary
    app keeps the default, which never raises into its code."""

    def __init__(
        self,
        app: ASGIApp,
        policy: GuardPolicy | str | Path,
        *,
        screeners: Mapping[str, Screener] | None = None,
        guard: Guard | None = None,
        stop_refused: bool = False,
    ) -> None:
        self.app = app
        self.stop_refused = stop_refused
        if guard is None:
            loaded = policy if isinstance(policy, GuardPolicy) else load_policy(Path(policy))
            guard = Guard(loaded, screeners=screeners)
        self.guard = guard
        self.policy = guard.policy
        # the request headers the guard reads; the rest are not decoded (a request carries a dozen or so)
        names = ["content-length", "x-request-id", "x-forwarded-for", "accept-encoding",
                 self.policy.client.api_key_header or ""]
        self._wanted = frozenset(name.lower().encode("latin-1", "replace") for name in names if name)
        # bytes.lower() folds ASCII only: a name with other letters is matched the way it always was
        self._ascii_names = all(name.isascii() for name in names)
        self._bodies = _BodyDeadlines(self.policy.body_timeout_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        metrics = self.guard.metrics
        if metrics is not None and method == "GET" and path == self.policy.metrics.path:
            body, content_type = metrics.render()
            await _respond(send, 200, body, content_type)
            return
        route = self.guard.route_for(method, path)
        if route is None:
            try:
                await self.app(scope, receive, send)
            except AnswerFailed as exc:
                if not exc.before_answer:
                    raise  # part of the answer is out: only the server can cut the connection
                await _respond(send, exc.status, _upstream_error(exc.message), b"application/json")
            return
        if not self.guard.started:
            await self.guard.start()
        await self._guarded(route, scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start with the app and flush the audit log and alerts before the app shuts down.

        The guard must see the shutdown even when the app does not speak the lifespan protocol (a bare ASGI
        function returns at once, or answers every scope as HTTP), or stops listening after its start-up (it
        returns, or its handler fails): the server then never passes the shutdown on, and every audit record
        still queued was lost when the process ended. So whatever part of the protocol the app leaves, the
        guard carries on with itself. A failure before the start-up completed is the app's to report, and is
        raised as it was: the server refuses to start, as it would without the guard.
        """
        seen: set[str] = set()

        async def wrapped() -> Message:
            message = await receive()
            seen.add(message["type"])
            if message["type"] == "lifespan.startup":
                await self._start()
            elif message["type"] == "lifespan.shutdown":
                await self._close()
            return message

        async def told(message: Message) -> None:
            if not str(message.get("type", "")).startswith("lifespan."):
                raise _NotLifespan  # an app answering every scope as HTTP: it does not speak lifespan
            seen.add(message["type"])
            await send(message)

        try:
            await self.app(scope, wrapped, told)
        except _NotLifespan:
            pass
        except Exception as exc:
            if "lifespan.startup.complete" not in seen or "lifespan.shutdown" in seen:
                raise
            logger.error("the app's lifespan handler failed after its start-up; the guard still flushes at "
                         "shutdown: %s", exc, exc_info=exc)
        if "lifespan.shutdown" in seen or "lifespan.startup.failed" in seen:
            return
        if "lifespan.startup" in seen and "lifespan.startup.complete" not in seen:
            seen.add("lifespan.startup.complete")
            await send({"type": "lifespan.startup.complete"})  # the app returned without answering
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if not await _lifespan_step(send, "startup", self._start):
                    return
                if "lifespan.startup.complete" not in seen:  # an app may have said so without being asked
                    seen.add("lifespan.startup.complete")
                    await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if await _lifespan_step(send, "shutdown", self._close):
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        """The server's start-up: the guard, and the body deadlines' sweeper for as long as the server runs."""
        await self.guard.start()
        self._bodies.keep()

    async def _close(self) -> None:
        await self._bodies.stop()
        await self.guard.aclose()

    async def _guarded(self, route: RoutePolicy, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = self._headers(scope)
        peer = scope.get("client")
        client = client_id(headers, peer[0] if peer else None, self.policy.client)
        request_id = headers.get("x-request-id", "")[:128] or f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
        method = scope["method"]
        admission = _NOTHING_YET
        try:
            if client is None:
                raise Rejection(401, f"missing {self.policy.client.api_key_header} header", "identity.missing-key")
            await self.guard.admit_client(route, client)
            body = await self._bodies.read(receive, headers, route.max_body_bytes or self.policy.max_body_bytes)
            admission = self.guard.inspect(route, body)
        except Rejection as rejection:
            extra = [(b"retry-after", str(int(rejection.retry_after)).encode())] \
                if isinstance(rejection, RateLimited) else []
            if rejection.status == 408:  # the rest of the body may still come: the connection cannot be reused
                extra.append((b"connection", b"close"))
            await _respond(send, rejection.status, _error(rejection), b"application/json", extra)
            action = "throttle" if isinstance(rejection, RateLimited) else (
                "block" if rejection.status == 403 else "reject")
            await self.guard.record(
                request_id=request_id, client=client or "anonymous", route=route, method=method,
                status=rejection.status, action=action, reasons=[rejection.reason], fingerprint_=None,
                scores=admission.scores, latency_s=time.perf_counter() - started, upstream_s=None,
            )
            return
        except Exception as exc:  # the guard itself failed (limit storage down, a detector refusing its settings)
            await self._failed(exc, 503, send, request_id, client or "anonymous", route, method, admission, started)
            return

        upstream_started = time.perf_counter()
        guard_time = upstream_started - started
        hardened = route.hardening is not None and route.hardening.active
        if route.output is not None and "accept-encoding" in headers:
            scope = _plain_answer(scope)
        captured = _Capture(send, buffer=route.output is not None, json_only=hardened, stop=self.stop_refused)
        try:
            await self.app(scope, _replay(body, receive), captured)
        except AnswerRefused:
            pass  # the app stopped as asked; the client has its refusal
        except Exception as exc:  # the app failed: the decision still goes on record
            status = 502 if captured.refused else exc.status if isinstance(exc, AnswerFailed) else 500
            if not captured.forwarded and not captured.refused:  # nothing is out: a clean error, not a server 500
                logger.error("%s %s: the app failed: %s", method, route.path, exc,
                             exc_info=None if isinstance(exc, AnswerFailed) else exc)  # an outage: no traceback
                message = exc.message if isinstance(exc, AnswerFailed) else "the model API failed to answer"
                await _respond(send, status, _upstream_error(message), b"application/json")
            await self.guard.record(
                request_id=request_id, client=client, route=route, method=method, status=status, action="error",
                reasons=["upstream.exception"], fingerprint_=admission.fingerprint, scores=admission.scores,
                latency_s=guard_time, upstream_s=time.perf_counter() - upstream_started,
            )
            if captured.forwarded:  # part of the answer is out: only the server can cut the connection
                raise
            return  # the client has a whole answer (the error, or the refusal sent as soon as it was known)
        review_started = time.perf_counter()
        upstream_s = review_started - upstream_started
        status = captured.status
        review = None
        if (self.guard.volume_routes and route.path in self.guard.volume_routes and 200 <= status < 300
                and admission.vector is not None and captured.refusal is None):
            self.guard.count_answer(route, client, admission)  # in this process and for Redis, before review
        if not captured.buffered and 200 <= captured.status < 300 and route.extraction and route.extraction.enabled:
            # an answer streamed through unread (not labelled JSON): the query still counts for the monitor
            review = self.guard.observe(route, client, admission)
        elif captured.buffered:
            if captured.refusal is not None:
                status = 502
                await captured.refuse()  # already sent the moment the refusal was known; never twice
            else:
                try:
                    review = self.guard.review(route, client, admission, captured.status, bytes(captured.body))
                except Exception as exc:  # the answer was not reviewed, so it is not released unhardened
                    await self._failed(exc, 500, send, request_id, client, route, method, admission, started)
                    return
                status = review.status or captured.status
                await captured.release(review.body, review.status)
        reasons = review.reasons if review else admission.reasons
        action = review.action if review else admission.action
        if captured.buffered and captured.refusal:  # refused by the guard: on record as such, not as allowed
            reasons, action = [*reasons, captured.refusal], "error"
        scores = review.scores if review else admission.scores
        guard_time += time.perf_counter() - review_started
        await self.guard.record(
            request_id=request_id, client=client, route=route, method=method, status=status, action=action,
            reasons=reasons, fingerprint_=admission.fingerprint, scores=scores, latency_s=guard_time,
            upstream_s=upstream_s,
        )


    def _headers(self, scope: Scope) -> dict[str, str]:
        """The request headers the guard reads, by lower-case name; a repeated header: the last one counts."""
        raw = scope.get("headers", ())
        if self._ascii_names:
            headers: dict[str, str] = {}
            wanted = self._wanted
            try:
                for raw_name, raw_value in raw:
                    name = raw_name.lower()
                    if name in wanted:
                        headers[name.decode("latin-1")] = raw_value.decode("latin-1")
                return headers
            except TypeError:  # a name that is not bytes (a bytearray is unhashable): the general way below
                pass
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}

    async def _failed(self, exc: Exception, status: int, send: Send, request_id: str, client: str,
                      route: RoutePolicy, method: str, admission: Admission, started: float) -> None:
        """Answer and record a request the guard could not decide: a clean error, never a traceback or an
        unreviewed answer, and still one audit record."""
        logger.error("guard error on %s %s: %s: %s", method, route.path, type(exc).__name__, exc, exc_info=exc)
        reason = f"guard.error: {type(exc).__name__}"
        body = json.dumps({"error": "the guard could not process this request", "guard": "guard.error"}).encode()
        await _respond(send, status, body, b"application/json")
        await self.guard.record(
            request_id=request_id, client=client, route=route, method=method, status=status, action="error",
            reasons=[reason], fingerprint_=admission.fingerprint, scores=admission.scores,
            latency_s=time.perf_counter() - started, upstream_s=None,
        )

async def _lifespan_step(send: Send, step: str, action: Callable[[], Awaitable[None]]) -> bool:
    """The guard's part of a lifespan step; on failure the server is told (``lifespan.<step>.failed``)."""
    try:
        await action()
    except Exception as exc:
        await send({"type": f"lifespan.{step}.failed", "message": str(exc)})
        return False
    return True


class _BodyDeadlines:
    """A guarded request's body must arrive within the policy's ``body_timeout_seconds``, else 408.

    A client that declares a body and stops sending it would otherwise hold its request (and a connection) for
    as long as it likes: uvicorn has no timeout on a request body. A timer per request (``asyncio.timeout``)
    costs ~4 us, a large share of what the guard may cost a request; instead each read is noted with its start,
    and one sweeper task per event loop cancels the reads that overran, about four times per timeout.

    Left to itself the sweeper ends when no read is in progress, so no task outlives a loop nobody closes
    properly; but a body that arrives with its headers is read before the sweeper first runs, so that was a new
    task (and a turn of the event loop) for nearly every request. A server that announces its start-up and
    shutdown (the ASGI lifespan) keeps one sweeper from the one to the other (:meth:`keep`, :meth:`stop`)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._overran: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._kept = False

    def keep(self) -> None:
        """Sweep on this event loop until :meth:`stop`, whether reads are in progress or not."""
        self._kept = True
        self._sweeping(asyncio.get_running_loop())

    async def stop(self) -> None:
        self._kept = False
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None and not sweeper.done() and sweeper.get_loop() is asyncio.get_running_loop():
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def read(self, receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
        task = asyncio.current_task()
        if task is None:  # not run by a task (a bare coroutine driven by hand): nothing to cancel it by
            return await _read_body(receive, headers, limit)
        self._sweeping(task.get_loop())
        self._reading[task] = time.monotonic()
        try:
            return await _read_body(receive, headers, limit)
        except asyncio.CancelledError:
            if task not in self._overran:
                raise
            self._overran.discard(task)
            task.uncancel()
            raise Rejection(408, f"the body did not arrive within {self.timeout:g} s", "input.timeout") from None
        finally:
            del self._reading[task]

    def _sweeping(self, loop: asyncio.AbstractEventLoop) -> None:
        """A sweeper running on ``loop``: the one there is, or a new one."""
        sweeper = self._sweeper
        if sweeper is None or sweeper.done() or sweeper.get_loop() is not loop:
            self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._reading or self._kept:  # idle, it ends unless kept; the next read starts another
            await asyncio.sleep(min(1.0, self.timeout / 4))
            late = time.monotonic() - self.timeout
            for task, started in list(self._reading.items()):
                if started < late and task not in self._overran and task.get_loop() is loop:
                    self._overran.add(task)
                    task.cancel()


async def _read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise Rejection(400, "Content-Length is not a number", "input.bad-length") from exc
        if size > limit:
            raise Rejection(413, f"the body is {size} bytes; this route accepts at most {limit}", "input.too-large")
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Rejection(499, "the client went away before sending the whole body", "input.disconnected")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise Rejection(413, f"the body exceeds {limit} bytes", "input.too-large")
        if not message.get("more_body", False):
            if not chunks and type(chunk) is bytes:  # the usual case: the whole body in one message
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def _plain_answer(scope: Scope) -> Scope:
    """The request as the app sees it on a route whose answer the guard reads: asking for an uncompressed answer,
    as the proxy asks its upstream. A compressing middleware inside the guard (Starlette's ``GZipMiddleware``)
    would otherwise hand it gzip bytes it cannot review, and the client a refusal labelled as gzip."""
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"accept-encoding"]
    headers.append((b"accept-encoding", b"identity"))
    return {**scope, "headers": headers}


def _upstream_error(message: str) -> bytes:
    return json.dumps({"error": message, "guard": "upstream.error"}).encode()


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# what a request refused before its body was inspected has on record; only ever read
_NOTHING_YET = Admission()

_REFUSALS = {
    "output.too-large": "the answer is too large to inspect",
    "output.not-json": NOT_JSON,
}


class _Capture:
    """Holds back a JSON answer until the guard reviewed it; anything else streams through, except on a hardened
    route (``json_only``), where a successful answer that is not JSON is held back and refused: its scores,
    whatever form they take, could not be hardened. An answer without content (204, 205) is never refused.

    A refused answer is refused the moment that is known (not JSON: at its start; too large: when the buffer
    overflows), so the client gets its 502 then, not when the app finishes: an app streaming an endless answer
    would otherwise keep its client waiting forever. What the app sends after that is discarded."""

    # the state every answer starts from, as class attributes: one is built per request, and an instance sets
    # only what changes (assigning to a name shadows the class's value for that instance alone)
    not_json = False
    buffered = False
    status = 500
    start: Message | None = None
    too_large = False
    forwarded = False  # some of the answer went to the client
    refused = False  # the guard's 502 went to the client instead of the answer

    def __init__(self, send: Send, *, buffer: bool, json_only: bool = False, stop: bool = False) -> None:
        self._send = send
        self._want_buffer = buffer
        self._json_only = json_only
        self._stop = stop
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self.buffered:
                if not self.too_large and not self.not_json:
                    self.body.extend(message.get("body", b""))
                    self.too_large = len(self.body) > MAX_RESPONSE_BYTES
                    if self.too_large:
                        self.body.clear()
                        await self.refuse()
                if self._stop and self.refusal is not None:
                    raise AnswerRefused(self.refusal)
                return
        elif kind == "http.response.start":
            self.status = status = int(message["status"])
            # an answer that has no body by definition is not held back, whatever its label says; else nothing is
            # held back when the route does not read answers
            if self._want_buffer and status >= 200 and status not in (204, 205, 304):
                content_type = b""
                for name, value in message.get("headers", ()):
                    if name.lower() == b"content-type":  # repeated: the last one counts
                        content_type = value
                # media types ignore case; find, not ``in``: see json_codec on ``in`` and bytes
                is_json = content_type.lower().find(b"json") >= 0
                self.not_json = not_json = self._json_only and not is_json and status < 300
                self.buffered = is_json or not_json
                if self.buffered:
                    self.start = message
                    if not_json:
                        await self.refuse()
                        if self._stop:
                            raise AnswerRefused(self.refusal)
                    return
            elif self.buffered or self.not_json:  # a second start (an app breaking the protocol): judged anew
                self.buffered = self.not_json = False
        self.forwarded = True
        await self._send(message)

    @property
    def refusal(self) -> str | None:
        """Why the held-back answer may not leave at all, if it may not."""
        return "output.too-large" if self.too_large else "output.not-json" if self.not_json else None

    async def refuse(self) -> None:
        """Send the client the guard's 502 for the refusal, once."""
        reason = self.refusal
        if self.refused or reason is None:
            return
        self.refused = True
        await _respond(self._send, 502, _error(Rejection(502, _REFUSALS[reason], reason)), b"application/json")

    async def release(self, replacement: bytes | None, status: int | None) -> None:
        assert self.start is not None
        start = dict(self.start)
        body = bytes(self.body) if replacement is None else replacement
        if replacement is not None:  # the guard's own body: plain, whatever encoding the app's answer had
            headers = [(k, v) for k, v in start.get("headers", ())
                       if k.lower() not in (b"content-length", b"content-encoding")]
            headers.append((b"content-length", str(len(body)).encode()))
            start["headers"] = headers
        if status is not None:
            start["status"] = status
        self.forwarded = True
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def _error(rejection: Rejection) -> bytes:
    return json.dumps({"error": rejection.message, "guard": rejection.reason}).encode()


async def _respond(send: Send, status: int, body: bytes, content_type: bytes | str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    kind = content_type.encode() if isinstance(content_type, str) else content_type
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})

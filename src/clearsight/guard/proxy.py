"""``clearsight guard serve``: the same guard in front of any HTTP model API, whatever it is written in.

The proxy is an ASGI app that forwards every request to the upstream over a pool of kept-alive connections
(:mod:`clearsight.guard.upstream`), wrapped in :class:`ModelGuard`, so middleware and proxy make exactly the same
decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from clearsight.guard.middleware import AnswerFailed, Message, ModelGuard, Receive, Scope, Send
from clearsight.guard.policy import GuardPolicy
from clearsight.guard.screening import Screener
from clearsight.guard.upstream import DECODABLE, UpstreamError, UpstreamPool, UpstreamResponse, decoded

# RFC 9110 7.6.1: connection-specific headers are not forwarded by a proxy (nor those Connection names, see
# _hop_by_hop); Proxy-Connection is the old non-standard spelling clients still send
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"host", b"content-length", b"proxy-connection",
})
_NOT_FORWARDED = HOP_BY_HOP | {b"accept-encoding"}
_NOT_RELAYED = HOP_BY_HOP | {b"date", b"server"}
BROKE_OFF = "the upstream answer broke off"


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nothing to answer."""


class Forwarder:
    """Minimal reverse proxy: request body in, upstream answer out, upstream failures as 502/504."""

    def __init__(self, upstream: str, *, timeout: float = 30.0, max_connections: int = 100) -> None:
        # one pool for every caller, and nothing kept between requests but connections: no cookie jar (a session
        # the upstream set for one caller would go out with everyone's requests), no credentials or proxies from
        # the environment
        self._pool = UpstreamPool(upstream, max_connections=max_connections, timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "CONNECT":  # a tunnel, not a request for the model API: nothing the guard could read
            await _plain(send, 405, "the proxy does not open tunnels (CONNECT)", guard="request.method")
            return
        refusal = _non_canonical(scope["path"])
        if refusal is not None:
            await _plain(send, 400, refusal, guard="request.target")
            return
        received = scope.get("headers", ())
        dropped = _hop_by_hop(received, _NOT_FORWARDED)
        headers = [(k, v) for k, v in received if k.lower() not in dropped]
        # the answer is decoded before anything reads it (the guard's review, the client), so ask for it plain
        headers.append((b"accept-encoding", b"identity"))
        length, chunked = _framing(scope)
        content: AsyncIterator[bytes] | bytes | None = None
        if chunked or length:  # only a declared body is sent: an empty stream would go as a chunked body
            try:
                content = await _body(receive)
            except _ClientGone:
                return
            if length and not chunked:  # with both, the chunks are the body (RFC 9112 6.3); sent chunked
                headers.append((b"content-length", str(length).encode()))
        peer = scope.get("client")
        if peer:
            headers.append((b"x-forwarded-for", peer[0].encode()))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        # the upstream gets exactly the path the guard judged: joining would resolve dot segments and take a full
        # URL as the whole target (another host)
        target = path + ((b"?" + query) if query else b"")
        try:
            response = await self._pool.request(scope["method"].encode("ascii"), target, headers, content)
        except _ClientGone:
            return
        except UpstreamError as exc:
            raise AnswerFailed(*_failure(exc, "the upstream model API is unreachable"), before_answer=True) from exc
        relay = asyncio.ensure_future(self._relay(response, send))
        gone = asyncio.ensure_future(_disconnected(receive))  # the body is sent: receive() is free to watch
        try:
            await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not relay.done():  # the client left: stop reading an answer nobody will get (an endless stream)
                relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        finally:
            gone.cancel()
            relay.cancel()
            await response.aclose()

    @staticmethod
    async def _relay(response: UpstreamResponse, send: Send) -> None:
        """Stream the answer chunk by chunk, so memory stays bounded whatever the upstream sends.

        The body is decoded (an upstream may compress despite ``identity``), so its encoding and length
        headers go; the server frames it. An encoding that cannot be decoded here is refused rather than passed
        on unread: the guard could not review it. Date and Server are the proxy's own, as nginx does by default:
        forwarding the upstream's too would send each twice. The first chunk is read before the status goes
        out, so an upstream that fails before it can still be answered with a 502/504; one that fails later
        raises :class:`AnswerFailed`, and the guard answers for it if nothing has reached the client yet.
        """
        codings = [c.strip().lower() for c in (response.header(b"content-encoding") or "").split(",") if c.strip()]
        unknown = sorted(set(codings) - DECODABLE)
        if unknown:
            shown = ", ".join(unknown)
            raise AnswerFailed(502, f"the upstream answered in an encoding the guard cannot read ({shown})",
                               before_answer=True)
        dropped = _hop_by_hop(response.headers, _NOT_RELAYED)
        out = [(k, v) for k, v in response.headers
               if k.lower() not in dropped and not (codings and k.lower() == b"content-encoding")]
        bodiless = response.status < 200 or response.status in (204, 304)
        length = response.header(b"content-length")
        # with Transfer-Encoding the chunks are the body and a Content-Length beside them is wrong (RFC 9112 6.3)
        if not codings and not bodiless and length is not None and response.header(b"transfer-encoding") is None:
            out.append((b"content-length", length.encode("latin-1")))
        chunks = decoded(response.chunks(), codings)
        try:
            first = await anext(chunks, b"")
        except UpstreamError as exc:
            raise AnswerFailed(*_failure(exc, BROKE_OFF), before_answer=True) from exc
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        try:
            if first:
                await send({"type": "http.response.body", "body": first, "more_body": True})
            async for chunk in chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except UpstreamError as exc:
            raise AnswerFailed(*_failure(exc, BROKE_OFF)) from exc
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._pool.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        await self._pool.aclose()


def _hop_by_hop(headers: Iterable[tuple[bytes, bytes]], always: frozenset[bytes]) -> frozenset[bytes]:
    """``always`` plus every header the message's Connection header names (RFC 9110 7.6.1): a client or an
    upstream may mark any header as meant for the next hop only, such as a secret between it and the proxy."""
    named = [part.strip().lower() for key, value in headers if key.lower() == b"connection"
             for part in value.split(b",")]
    return always.union(named) if named else always


def _non_canonical(path: str) -> str | None:
    """Why a request target must not be forwarded, or None.

    The guard decides on the path it is given; a server behind it may resolve ``.``/``..``, merge ``//``, read
    ``\\`` as ``/``, drop ``;parameters``, or treat an absolute URL as a request for another host, and so
    serve a guarded route the guard never matched. Such targets are refused rather than guessed at.
    """
    if not path.startswith("/") or path.startswith("//"):
        return "the request target must be a path (origin form), not a URL"
    if "\\" in path or ";" in path or "//" in path:
        return "the request path holds a backslash, a semicolon or an empty segment"
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return "the request path holds a . or .. segment"
    return None


async def _body(receive: Receive) -> AsyncIterator[bytes] | bytes:
    """The request body: whole when its first message holds all of it (always so on guarded routes, where the
    guard has read and capped it), so that it can be sent again on a fresh connection; else as it arrives."""
    first = await receive()
    if first["type"] == "http.disconnect":
        raise _ClientGone
    if not first.get("more_body", False):
        return bytes(first.get("body", b""))
    return _rest(first.get("body", b""), receive)


async def _rest(first: bytes, receive: Receive) -> AsyncIterator[bytes]:
    if first:
        yield first
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _disconnected(receive: Receive) -> None:
    """Return once the client has gone (uvicorn's ``send`` does not say so: it returns silently)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The body the client declared: its Content-Length, and whether it is sent in chunks."""
    length: int | None = None
    chunked = False
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name == b"content-length":
            try:
                length = max(int(value), 0)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


def build_proxy(upstream: str, policy: GuardPolicy, *, screeners: Mapping[str, Screener] | None = None,
                **forwarder: Any) -> ModelGuard:
    return ModelGuard(Forwarder(upstream, **forwarder), policy, screeners=screeners, stop_refused=True)


def _failure(exc: UpstreamError, what: str) -> tuple[int, str]:
    """The status and message a client gets for an upstream failure: 504 for a timeout, else 502."""
    if exc.timeout:
        return 504, "the upstream model API did not answer in time"
    return 502, f"{what} ({exc.kind})"


async def _plain(send: Send, status: int, message: str, *, guard: str | None = None) -> None:
    body = json.dumps({"error": message} if guard is None else {"error": message, "guard": guard}).encode()
    start: Message = {"type": "http.response.start", "status": status,
                      "headers": [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(body)).encode())]}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})

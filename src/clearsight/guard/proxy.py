"""``clearsight guard serve``: the same guard in front of any HTTP model API, whatever it is written in.

The proxy is an ASGI app that forwards every request to the upstream with one pooled ``httpx`` client,
wrapped in :class:`ModelGuard`, so middleware and proxy make exactly the same decisions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from clearsight.guard.middleware import Message, ModelGuard, Receive, Scope, Send
from clearsight.guard.policy import GuardPolicy
from clearsight.guard.screening import Screener

# RFC 9110 7.6.1: connection-specific headers are not forwarded by a proxy
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
_NOT_FORWARDED = HOP_BY_HOP | {b"accept-encoding"}
_NOT_RELAYED = HOP_BY_HOP | {b"date", b"server"}


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nothing to answer."""


class Forwarder:
    """Minimal reverse proxy: request body in, upstream answer out, upstream failures as 502/504."""

    def __init__(self, upstream: str, *, timeout: float = 30.0, max_connections: int = 100,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self._client = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        refusal = _non_canonical(scope["path"])
        if refusal is not None:
            await _plain(send, 400, b'{"error": "' + refusal.encode() + b'", "guard": "request.target"}')
            return
        headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() not in _NOT_FORWARDED]
        # the answer is decoded before anything reads it (the guard's review, the client), so ask for it plain
        headers.append((b"accept-encoding", b"identity"))
        length = _content_length(scope)
        if length is not None:  # the body streams through; its declared size saves chunked encoding upstream
            headers.append((b"content-length", str(length).encode()))
        peer = scope.get("client")
        if peer:
            headers.append((b"x-forwarded-for", peer[0].encode()))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        # the upstream gets exactly the path the guard judged: joining would resolve dot segments and take a full
        # URL as the whole target (another host)
        url = self.upstream.copy_with(raw_path=path + ((b"?" + query) if query else b""))
        request = self._client.build_request(scope["method"], url, headers=headers, content=_body(receive))
        try:
            response = await self._client.send(request, stream=True)
        except _ClientGone:
            return
        except httpx.TimeoutException:
            await _plain(send, 504, b'{"error": "the upstream model API did not answer in time"}')
            return
        except httpx.HTTPError as exc:
            detail = f'{{"error": "the upstream model API is unreachable ({type(exc).__name__})"}}'
            await _plain(send, 502, detail.encode())
            return
        try:
            await self._relay(response, send)
        finally:
            await response.aclose()

    @staticmethod
    async def _relay(response: httpx.Response, send: Send) -> None:
        """Stream the answer chunk by chunk, so memory stays bounded whatever the upstream sends.

        The body arrives decoded (an upstream may compress despite ``identity``), so its encoding and length
        headers go; the server frames it. Date and Server are the proxy's own, as nginx does by default:
        forwarding the upstream's too would send each twice.
        """
        encoded = "content-encoding" in response.headers
        out = [(k, v) for k, v in response.headers.raw
               if k.lower() not in _NOT_RELAYED and not (encoded and k.lower() == b"content-encoding")]
        if not encoded and "content-length" in response.headers:
            out.append((b"content-length", response.headers["content-length"].encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.aiter_bytes():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        await self._client.aclose()


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


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives (the guard has already capped and read it on guarded routes)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def build_proxy(upstream: str, policy: GuardPolicy, *, screeners: Mapping[str, Screener] | None = None,
                **forwarder: Any) -> ModelGuard:
    return ModelGuard(Forwarder(upstream, **forwarder), policy, screeners=screeners)


async def _plain(send: Send, status: int, body: bytes) -> None:
    start: Message = {"type": "http.response.start", "status": status,
                      "headers": [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(body)).encode())]}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})

"""``clearsight guard serve``: the same guard in front of any HTTP model API, whatever it is written in.

The proxy is an ASGI app that forwards every request to the upstream with one pooled ``httpx`` client,
wrapped in :class:`ModelGuard`, so middleware and proxy make exactly the same decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        refusal = _non_canonical(scope["path"])
        if refusal is not None:
            await _plain(send, 400, b'{"error": "' + refusal.encode() + b'", "guard": "request.target"}')
            return
        headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() not in HOP_BY_HOP]
        peer = scope.get("client")
        if peer:
            headers.append((b"x-forwarded-for", peer[0].encode()))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        # the upstream gets exactly the path the guard judged: joining would resolve dot segments and take a full
        # URL as the whole target (another host)
        url = self.upstream.copy_with(raw_path=path + ((b"?" + query) if query else b""))
        try:
            response = await self._client.request(scope["method"], url, headers=headers, content=bytes(body))
        except httpx.TimeoutException:
            await _plain(send, 504, b'{"error": "the upstream model API did not answer in time"}')
            return
        except httpx.HTTPError as exc:
            detail = f'{{"error": "the upstream model API is unreachable ({type(exc).__name__})"}}'
            await _plain(send, 502, detail.encode())
            return
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        out.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content, "more_body": False})

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


def build_proxy(upstream: str, policy: GuardPolicy, *, screeners: Mapping[str, Screener] | None = None,
                **forwarder: Any) -> ModelGuard:
    return ModelGuard(Forwarder(upstream, **forwarder), policy, screeners=screeners)


async def _plain(send: Send, status: int, body: bytes) -> None:
    start: Message = {"type": "http.response.start", "status": status,
                      "headers": [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(body)).encode())]}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})

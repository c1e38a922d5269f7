"""The proxy's forwarding app driven in-process with ASGI messages, against a raw TCP upstream."""

from __future__ import annotations

import asyncio
from typing import Any

from raw_upstream import read_head, with_server

from clearsight.guard.proxy import Forwarder


async def _forward(app: Forwarder, method: str, path: str) -> list[dict[str, Any]]:
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"proxy")], "client": ("127.0.0.1", 5555)}
    sent: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await done.wait()  # the client stays until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    return sent


def test_connect_is_refused_and_a_chunked_answer_loses_its_stray_content_length() -> None:
    """A reviewer's two findings: CONNECT answered 2xx froze the proxy (now refused before any connection), and an
    answer with both Content-Length and chunks had the length relayed, which the client's server then broke on."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"2\r\nok\r\n0\r\n\r\n")
        await writer.drain()

    results: dict[str, Any] = {}

    async def test(url: str, seen: dict[str, Any]) -> None:
        app = Forwarder(url, timeout=3)
        results["connect"] = await _forward(app, "CONNECT", "/anything")
        results["connections_after_connect"] = seen["connections"]
        results["get"] = await _forward(app, "GET", "/x")
        await app.aclose()

    asyncio.run(with_server(handler, test))
    connect = results["connect"]
    assert connect[0]["status"] == 405 and b"request.method" in connect[1]["body"]
    assert results["connections_after_connect"] == 0
    start, *body = results["get"]
    assert start["status"] == 200
    assert b"content-length" not in {name.lower() for name, _ in start["headers"]}
    assert b"".join(m.get("body", b"") for m in body) == b"ok"

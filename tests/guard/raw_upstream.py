"""A raw TCP upstream that writes exactly the bytes a test needs, for the proxy's connection tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from clearsight.guard.upstream import UpstreamResponse

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """One request's head (through the blank line)."""
    return await reader.readuntil(b"\r\n\r\n")


async def with_server(handler: Handler, test: Callable[[str, dict[str, Any]], Awaitable[None]]) -> dict[str, Any]:
    """Run ``test(url, seen)`` against a server on 127.0.0.1; ``seen`` counts connections and keeps requests."""
    seen: dict[str, Any] = {"connections": 0, "requests": []}

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await test(f"http://127.0.0.1:{port}", seen)
    finally:
        server.close()
    return seen


async def read_all(response: UpstreamResponse) -> bytes:
    try:
        return b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.aclose()


def keep_alive(answers: list[bytes], seen_requests: list[bytes] | None = None) -> Handler:
    """Answer each request on a connection with the next of ``answers`` (whole responses as bytes)."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            head = await read_head(reader)
            if seen_requests is not None:
                seen_requests.append(head)
            if b"content-length: " in head.lower():
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            writer.write(answer)
            await writer.drain()
    return handler


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"

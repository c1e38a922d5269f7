"""The proxy's upstream connections against a raw TCP server that writes exactly the bytes each test needs."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from clearsight.core.errors import InputError
from clearsight.guard.upstream import READ_SIZE, UpstreamError, UpstreamPool, UpstreamResponse, decoded

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _head(reader: asyncio.StreamReader) -> bytes:
    """One request's head (through the blank line)."""
    return await reader.readuntil(b"\r\n\r\n")


async def _with_server(handler: Handler, test: Callable[[str, dict[str, Any]], Awaitable[None]]) -> dict[str, Any]:
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


async def _read(response: UpstreamResponse) -> bytes:
    try:
        return b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.aclose()


def _keep_alive(answers: list[bytes], seen_requests: list[bytes] | None = None) -> Handler:
    """Answer each request on a connection with the next of ``answers`` (whole responses as bytes)."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            head = await _head(reader)
            if seen_requests is not None:
                seen_requests.append(head)
            if b"content-length: " in head.lower():
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            writer.write(answer)
            await writer.drain()
    return handler


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"


def test_a_connection_carries_the_next_request_once_its_answer_was_read_whole() -> None:
    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=4, timeout=5)
        bodies = [await _read(await pool.request(b"GET", b"/x", [], None)) for _ in range(3)]
        assert bodies == [b'{"a":1}'] * 3
        await pool.aclose()

    seen = asyncio.run(_with_server(_keep_alive([OK, OK, OK]), test))
    assert seen["connections"] == 1


def test_an_answer_left_unread_closes_its_connection_and_frees_its_slot() -> None:
    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=1, timeout=2)
        first = await pool.request(b"GET", b"/x", [], None)
        await first.aclose()  # nothing read: the rest of the answer could not be told from the next one
        assert await _read(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await pool.aclose()

    seen = asyncio.run(_with_server(_keep_alive([OK, OK]), test))
    assert seen["connections"] == 2


def test_chunked_answers_close_delimited_answers_and_head_requests() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n")
    head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"  # HEAD: the length of a body never sent

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _keep_alive([chunked, head_answer])(reader, writer)
        await _head(reader)  # then an HTTP/1.0 answer that ends when the connection does
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=5)
        assert await _read(await pool.request(b"GET", b"/c", [], None)) == b"abcdefg"
        head = await pool.request(b"HEAD", b"/h", [], None)
        assert head.header(b"content-length") == "100" and await _read(head) == b""
        assert await _read(await pool.request(b"GET", b"/e", [], None)) == b"until the end"
        await pool.aclose()

    seen = asyncio.run(_with_server(keep, test))
    assert seen["connections"] == 1


def test_a_connection_the_upstream_closed_while_idle_is_not_reused() -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _keep_alive([OK])(reader, writer)  # then the handler returns and the connection closes

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=5)
        assert await _read(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await asyncio.sleep(0.1)  # the close reaches the idle connection
        assert await _read(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await pool.aclose()

    seen = asyncio.run(_with_server(once, test))
    assert seen["connections"] == 2


def test_request_framing_host_and_empty_bodies() -> None:
    requests: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(3):
            head = await _head(reader)
            requests.append(head)
            if b"transfer-encoding: chunked" in head.lower():
                requests.append(await reader.readuntil(b"0\r\n\r\n"))
            elif b"content-length: 4" in head.lower():
                requests.append(await reader.readexactly(4))
            writer.write(OK)
            await writer.drain()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url + "/ignored/prefix", timeout=5)
        await _read(await pool.request(b"POST", b"/empty", [], None))
        await _read(await pool.request(b"POST", b"/chunked?q=1", [(b"X-A", b"1")], body()))
        await _read(await pool.request(b"PUT", b"/sized", [(b"content-length", b"4")], body()))
        await pool.aclose()

    asyncio.run(_with_server(handler, test))
    empty, chunked, chunks, sized, sized_body = requests
    assert empty.startswith(b"POST /empty HTTP/1.1\r\n") and b"content-length: 0" in empty.lower()
    assert b"\r\nhost: 127.0.0.1:" in empty.lower()
    assert chunked.startswith(b"POST /chunked?q=1 HTTP/1.1\r\n") and b"transfer-encoding: chunked" in chunked
    assert chunks == b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
    assert b"transfer-encoding" not in sized.lower() and sized_body == b"abcd"


def test_the_pool_waits_for_a_free_connection_and_says_when_none_came() -> None:
    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=1, timeout=0.3)
        held = await pool.request(b"GET", b"/x", [], None)
        with pytest.raises(UpstreamError) as waited:
            await pool.request(b"GET", b"/x", [], None)
        assert waited.value.timeout and waited.value.kind == "PoolTimeout"
        assert await _read(held) == b'{"a":1}'
        assert await _read(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'  # freed by the read
        await pool.aclose()

    asyncio.run(_with_server(_keep_alive([OK, OK]), test))


def test_failures_are_upstream_errors_with_timeouts_told_apart() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    async def silent_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        await writer.drain()

    async def expect(handler: Handler, kind: str, timeout: bool) -> None:
        async def test(url: str, seen: dict[str, Any]) -> None:
            pool = UpstreamPool(url, timeout=0.5)
            with pytest.raises(UpstreamError) as failed:
                await _read(await pool.request(b"GET", b"/x", [], None))
            assert (failed.value.kind, failed.value.timeout) == (kind, timeout)
            await pool.aclose()

        await _with_server(handler, test)

    async def run() -> None:
        await expect(stall, "ReadTimeout", True)
        await expect(silent_close, "RemoteProtocolError", False)
        await expect(garbage, "RemoteProtocolError", False)
        await expect(huge_head, "RemoteProtocolError", False)
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(UpstreamError) as refused:
            await UpstreamPool(f"http://127.0.0.1:{port}", timeout=2).request(b"GET", b"/", [], None)
        assert (refused.value.kind, refused.value.timeout) == ("ConnectError", False)

    asyncio.run(run())


def test_a_cancelled_request_frees_its_slot() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        await asyncio.sleep(5)

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=1, timeout=3)
        waiting = asyncio.ensure_future(pool.request(b"GET", b"/x", [], None))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert pool._slots.locked() is False
        await pool.aclose()

    asyncio.run(_with_server(slow, test))


def test_bad_upstream_urls_are_input_errors() -> None:
    for url in ("ftp://host", "http://", "http://host:port", "http://host:99999"):
        with pytest.raises(InputError):
            UpstreamPool(url)
    assert UpstreamPool("https://[::1]:8443").origin.host_header == b"[::1]:8443"
    assert UpstreamPool("http://Bücher.example").origin.host_header == b"xn--bcher-kva.example"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _decode(data: bytes, codings: list[str], size: int = 7) -> bytes:
    async def run() -> bytes:
        return b"".join([piece async for piece in decoded(_chunks(data, size), codings)])
    return asyncio.run(run())


def test_gzip_deflate_with_and_without_its_wrapper_and_stacked_codings_are_undone() -> None:
    text = b'{"fraud_probability": 0.123456}' * 50
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(text) + raw.flush()
    assert _decode(gzip.compress(text), ["gzip"]) == text
    assert _decode(gzip.compress(text), ["x-gzip"], size=1) == text
    assert _decode(zlib.compress(text), ["deflate"], size=1) == text
    assert _decode(raw_deflate, ["deflate"]) == text
    assert _decode(gzip.compress(zlib.compress(text)), ["deflate", "gzip"]) == text
    assert _decode(text, ["identity"]) == text
    assert _decode(b"", ["gzip"]) == b""
    with pytest.raises(UpstreamError, match="DecodingError"):
        _decode(b"not gzip at all", ["gzip"])
    with pytest.raises(UpstreamError, match="DecodingError"):
        _decode(text, ["gzip"] * 9)


def test_a_compressed_bomb_is_undone_one_bounded_piece_at_a_time() -> None:
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # 256 MiB in ~250 KB

    async def run() -> tuple[int, int]:
        pieces = decoded(_chunks(bomb, len(bomb)), ["gzip"])  # one chunk holding the whole bomb
        sizes = [len(await anext(pieces)) for _ in range(50)]
        await pieces.aclose()
        return max(sizes), sum(sizes)

    largest, total = asyncio.run(run())
    assert largest <= READ_SIZE and total == 50 * READ_SIZE

"""The proxy's upstream connections against a raw TCP server that writes exactly the bytes each test needs."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from raw_upstream import OK, Handler, keep_alive, read_all, read_head, with_server

from clearsight.core.errors import InputError
from clearsight.guard.upstream import READ_SIZE, UpstreamError, UpstreamPool, decoded


def test_a_connection_carries_the_next_request_once_its_answer_was_read_whole() -> None:
    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=4, timeout=5)
        bodies = [await read_all(await pool.request(b"GET", b"/x", [], None)) for _ in range(3)]
        assert bodies == [b'{"a":1}'] * 3
        await pool.aclose()

    seen = asyncio.run(with_server(keep_alive([OK, OK, OK]), test))
    assert seen["connections"] == 1


def test_an_answer_left_unread_closes_its_connection_and_frees_its_slot() -> None:
    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=1, timeout=2)
        first = await pool.request(b"GET", b"/x", [], None)
        await first.aclose()  # nothing read: the rest of the answer could not be told from the next one
        assert await read_all(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await pool.aclose()

    seen = asyncio.run(with_server(keep_alive([OK, OK]), test))
    assert seen["connections"] == 2


def test_chunked_answers_close_delimited_answers_and_head_requests() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n")
    head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"  # HEAD: the length of a body never sent

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_alive([chunked, head_answer])(reader, writer)
        await read_head(reader)  # then an HTTP/1.0 answer that ends when the connection does
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=5)
        assert await read_all(await pool.request(b"GET", b"/c", [], None)) == b"abcdefg"
        head = await pool.request(b"HEAD", b"/h", [], None)
        assert head.header(b"content-length") == "100" and await read_all(head) == b""
        assert await read_all(await pool.request(b"GET", b"/e", [], None)) == b"until the end"
        await pool.aclose()

    seen = asyncio.run(with_server(keep, test))
    assert seen["connections"] == 1


def test_a_connection_the_upstream_closed_while_idle_is_not_reused() -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_alive([OK])(reader, writer)  # then the handler returns and the connection closes

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=5)
        assert await read_all(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await asyncio.sleep(0.1)  # the close reaches the idle connection
        assert await read_all(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'
        await pool.aclose()

    seen = asyncio.run(with_server(once, test))
    assert seen["connections"] == 2


def test_a_request_on_a_connection_closed_as_it_was_reused_is_sent_again_when_its_body_is_whole() -> None:
    """Found by a review: an upstream closing a kept-alive connection just after its answer (uvicorn does after
    an app's error) failed the next request sent on it with a 502, though the upstream never read it. The
    upstream here reads the second request's head and closes without a word, every time, on every connection:
    a whole body is sent again once on a new connection; a streamed one cannot be, and fails."""
    async def first_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_alive([OK])(reader, writer)
        await read_head(reader)  # the next request arrives, and the connection is closed unanswered

    async def streamed() -> AsyncIterator[bytes]:
        yield b"{}"

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=5)
        assert await read_all(await pool.request(b"POST", b"/x", [(b"content-length", b"2")], b"{}")) == b'{"a":1}'
        assert await read_all(await pool.request(b"POST", b"/x", [(b"content-length", b"2")], b"{}")) == b'{"a":1}'
        assert seen["connections"] == 2  # the second went out again, on a new connection
        with pytest.raises(UpstreamError) as failed:
            await pool.request(b"POST", b"/x", [(b"content-length", b"2")], streamed())
        assert failed.value.unheard and seen["connections"] == 2
        await pool.aclose()

    asyncio.run(with_server(first_only, test))


def test_request_framing_host_and_empty_bodies() -> None:
    requests: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(3):
            head = await read_head(reader)
            requests.append(head)
            if b"transfer-encoding: chunked" in head.lower():
                requests.append(await reader.readuntil(b"0\r\n\r\n"))
            elif b"content-length: 4" in head.lower():
                requests.append(await reader.readexactly(4))
            writer.write(OK)
            await writer.drain()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url + "/ignored/prefix", timeout=5)
        await read_all(await pool.request(b"POST", b"/empty", [], None))
        await read_all(await pool.request(b"POST", b"/chunked?q=1", [(b"X-A", b"1")], body()))
        await read_all(await pool.request(b"PUT", b"/sized", [(b"content-length", b"4")], body()))
        await pool.aclose()

    asyncio.run(with_server(handler, test))
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
        assert await read_all(held) == b'{"a":1}'
        assert await read_all(await pool.request(b"GET", b"/x", [], None)) == b'{"a":1}'  # freed by the read
        await pool.aclose()

    asyncio.run(with_server(keep_alive([OK, OK]), test))


def test_failures_are_upstream_errors_with_timeouts_told_apart() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    async def silent_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        await writer.drain()

    async def expect(handler: Handler, kind: str, timeout: bool) -> None:
        async def test(url: str, seen: dict[str, Any]) -> None:
            pool = UpstreamPool(url, timeout=0.5)
            with pytest.raises(UpstreamError) as failed:
                await read_all(await pool.request(b"GET", b"/x", [], None))
            assert (failed.value.kind, failed.value.timeout) == (kind, timeout)
            await pool.aclose()

        await with_server(handler, test)

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
        await read_head(reader)
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

    asyncio.run(with_server(slow, test))


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


# --- from an adversarial review of the first version -----------------------------------------------------------


def test_a_protocol_switch_ends_the_answer_instead_of_spinning() -> None:
    """CONNECT answered 2xx switches protocols: h11 then pauses for good, and the body loop spun on it with the
    event loop blocked (the whole proxy froze). Run in a thread so that a spin fails the test, not the run."""
    import threading

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(3)

    outcome: list[str] = []

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=2)
        try:
            await read_all(await pool.request(b"CONNECT", b"/x", [], None))
        except UpstreamError as exc:
            outcome.append(str(exc))
        await pool.aclose()

    worker = threading.Thread(target=lambda: asyncio.run(with_server(handler, test)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert outcome == ["RemoteProtocolError: the upstream switched protocols"]


@pytest.mark.parametrize("later", [False, True], ids=["same-write", "50ms-later"])
def test_bytes_after_an_answer_never_become_the_next_callers_answer(later: bool) -> None:
    """A stray second answer behind a complete one was read as the next caller's answer, and every later
    caller got the one before (a leak between callers). Such a connection is dropped, never reused."""
    stray = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nSMUGGLED-BODY"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        while True:
            head = await read_head(reader)
            n += 1
            own = b"own-" + head.split(b" ")[1][1:]
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(own), own))
            if not later:
                writer.write(stray)
            await writer.drain()
            if later:
                await asyncio.sleep(0.05)
                writer.write(stray)
                await writer.drain()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=2)
        bodies = []
        for i in range(5):
            bodies.append(await read_all(await pool.request(b"GET", f"/{i}".encode(), [], None)))
            await asyncio.sleep(0.1)
        assert bodies == [f"own-{i}".encode() for i in range(5)]
        await pool.aclose()

    asyncio.run(with_server(handler, test))


def test_a_408_or_a_reset_on_an_idle_connection_does_not_fail_the_next_request() -> None:
    """Servers close idle keep-alive connections with a 408 (HAProxy, Apache, Node) or a reset; the stale 408
    was handed to the next caller, and the reset gave it a 502."""
    import socket
    import struct

    async def timeout_408(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_alive([OK])(reader, writer)
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_alive([OK])(reader, writer)
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        writer.transport.abort()

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, timeout=2)
        first = await read_all(await pool.request(b"GET", b"/x", [], None))
        await asyncio.sleep(0.2)
        second = await pool.request(b"POST", b"/x", [], None)
        assert (first, second.status, await read_all(second)) == (b'{"a":1}', 200, b'{"a":1}')
        await pool.aclose()

    for handler in (timeout_408, reset):
        seen = asyncio.run(with_server(handler, test))
        assert seen["connections"] == 2


def test_idle_connections_expire_and_a_closed_pool_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import clearsight.guard.upstream as upstream

    monkeypatch.setattr(upstream, "IDLE_SECONDS", 0.2)

    async def test(url: str, seen: dict[str, Any]) -> None:
        pool = UpstreamPool(url, max_connections=1, timeout=2)
        await read_all(await pool.request(b"GET", b"/x", [], None))
        await asyncio.sleep(0.4)  # longer than a connection may idle
        held = await pool.request(b"GET", b"/x", [], None)  # on a new connection
        waiting = asyncio.ensure_future(pool.request(b"GET", b"/x", [], None))
        await asyncio.sleep(0.05)
        await pool.aclose()
        await read_all(held)
        with pytest.raises(UpstreamError, match="shutting down"):
            await waiting

    seen = asyncio.run(with_server(keep_alive([OK, OK, OK]), test))
    assert seen["connections"] == 2


def test_an_https_upstream_is_checked_against_ssl_cert_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal CA named in SSL_CERT_FILE is trusted, as httpx did; without it the self-signed upstream is
    refused."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def run(trusted: bool) -> bytes | str:
        server = await asyncio.start_server(keep_alive([OK, OK]), "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        if trusted:
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        else:
            monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        pool = UpstreamPool(f"https://localhost:{port}", timeout=3)
        try:
            return await read_all(await pool.request(b"GET", b"/x", [], None))
        except UpstreamError as exc:
            return exc.kind
        finally:
            await pool.aclose()
            server.close()

    assert asyncio.run(run(trusted=True)) == b'{"a":1}'
    assert asyncio.run(run(trusted=False)) == "ConnectError"


def test_upstream_urls_with_credentials_port_zero_or_a_bad_domain_are_refused() -> None:
    for url in ("http://svc:s3cret@127.0.0.1:8000", "http://svc@host", "http://host:0", "http://a..b\u00e9/"):
        with pytest.raises(InputError):
            UpstreamPool(url)


def test_gzip_members_are_all_read_and_cut_or_trailing_data_is_an_error() -> None:
    first, second = gzip.compress(b"first-"), gzip.compress(b"second")
    assert _decode(first + second, ["gzip"], size=3) == b"first-second"
    with pytest.raises(UpstreamError, match="after the end"):
        _decode(first + b"junk" * 1000, ["gzip"])
    with pytest.raises(UpstreamError, match="after the end"):
        _decode(zlib.compress(b"x") + b"more", ["deflate"])
    with pytest.raises(UpstreamError, match="ends before"):
        _decode(gzip.compress(b"a whole answer" * 100)[:-12], ["gzip"])
    with pytest.raises(UpstreamError, match="ends before"):
        _decode(b"\x78", ["deflate"])

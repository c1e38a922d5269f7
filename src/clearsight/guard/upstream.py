"""The proxy's HTTP/1.1 connections to its upstream: a small keep-alive pool on asyncio streams, framed by h11.

Why not httpx: the proxy's shared ``httpx.AsyncClient`` cost ~3.5 ms of CPU per forwarded request on the
benchmark host (request and response models, the connection pool's locks, anyio), eight times what the guard's
own decisions cost, and a general-purpose client does things a reverse proxy shared by many callers must not:
it kept one cookie jar for everybody, and it reads proxies and certificates from the environment. h11 (which
httpx uses underneath, and uvicorn too) does the protocol's framing: Content-Length, chunked bodies, HEAD and
bodiless answers, and when a connection may carry the next request. This module only moves bytes and keeps
connections.

Failures are :class:`UpstreamError` (``timeout`` set for a timeout), which the proxy turns into 502 or 504.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from clearsight.core.errors import InputError

READ_SIZE = 65_536
IDLE_SECONDS = 5.0  # a kept-alive connection unused this long is closed (httpx's default); servers drop them too
MAX_HEAD_BYTES = 100 * 1024  # an answer's status line and headers; h11's own default (16 KiB) refuses real ones
MAX_CODINGS = 8  # content codings undone one after the other; more is no real answer
BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})  # sent with Content-Length: 0 when they carry nothing


class UpstreamError(Exception):
    """The upstream could not be reached, broke the protocol or went away; ``kind`` names what failed.
    ``unheard``: nothing of an answer had arrived (a connection the upstream had closed, see ``request``)."""

    def __init__(self, kind: str, detail: str = "", *, timeout: bool = False, unheard: bool = False) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.timeout = timeout
        self.unheard = unheard


@dataclass(frozen=True)
class _Origin:
    host: str
    port: int
    host_header: bytes
    tls: ssl.SSLContext | None


def _origin(url: str) -> _Origin:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise InputError(f"the upstream URL's port is not usable: {url!r}", field="upstream") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise InputError(f"the upstream must be an http(s) URL with a host, not {url!r}", field="upstream",
                         hint="e.g. http://127.0.0.1:8000")
    if parts.username is not None or parts.password is not None:
        # httpx sent them as Basic auth on every request, over whatever the caller sent; say so rather than guess
        raise InputError("the upstream URL holds credentials; the proxy forwards each caller's own Authorization "
                         "header instead", field="upstream", hint="drop the user:password@ part")
    default = 443 if parts.scheme == "https" else 80
    port = port or default
    host = parts.hostname
    try:
        shown = f"[{host}]" if ":" in host else host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InputError(f"the upstream's host name is not a valid domain name: {host!r}", field="upstream") from exc
    header = shown if port == default else f"{shown}:{port}"
    tls = _tls_context() if parts.scheme == "https" else None
    return _Origin(host, port, header.encode("ascii"), tls)


def _tls_context() -> ssl.SSLContext:
    """Certificates as httpx checked them: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set (an internal CA),
    else certifi's bundle when installed, else the system's."""
    cafile, capath = os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        try:
            import certifi
        except ImportError:  # pragma: no cover - certifi comes with httpx, which the guard extra installs
            return ssl.create_default_context()
        cafile = certifi.where()
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"cannot load the CA certificates for the upstream ({exc})",
                         hint="check SSL_CERT_FILE / SSL_CERT_DIR") from exc


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle_since = 0.0
        self.heard = False  # some of the current exchange's answer arrived

    def reusable(self) -> bool:
        """Only a connection that is between two exchanges and has heard nothing since the last one: bytes that
        arrived after an answer (a stray second answer, a 408 before closing) would be read as the next
        caller's answer, and a reset or closed connection would fail the next request."""
        reader = self.reader
        return (self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE
                and not self.h11.trailing_data[0] and not reader.at_eof() and reader.exception() is None
                and not getattr(reader, "_buffer", b"") and not self.writer.transport.is_closing())

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already broken: nothing more to say to it
            self.writer.close()


class UpstreamPool:
    """At most ``max_connections`` connections to one origin, kept open between requests; ``timeout`` bounds
    each wait (a free connection, connecting, each write, each read), as httpx's did."""

    def __init__(self, url: str, *, max_connections: int = 100, timeout: float = 30.0) -> None:
        if max_connections < 1 or timeout <= 0:
            raise ValueError("max_connections must be at least 1 and timeout positive")
        self.origin = _origin(url)
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(self, method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]],
                      body: AsyncIterator[bytes] | bytes | None) -> UpstreamResponse:
        """Send the request (``body`` streamed with the framing ``headers`` declare: Content-Length, else
        chunked) and read the answer's head; the body is read through the returned response, which must be
        closed. ``headers`` must not hold Host: the origin's is sent.

        A kept-alive connection the upstream closed just after its last answer (uvicorn does after an app's
        error; any server at its idle timeout) fails the next request sent on it before a byte of answer
        comes back. Such a request is sent once more on a new connection when its body is whole (``bytes`` or
        None): the upstream never read it. A streamed body cannot be sent twice, and its failure stands."""
        if self._closed:
            raise UpstreamError("the proxy is shutting down")
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise UpstreamError("PoolTimeout", "no free connection to the upstream", timeout=True) from None
        if self._closed:  # closed while this request waited for a slot
            self._slots.release()
            raise UpstreamError("the proxy is shutting down")
        connection: _Connection | None = None
        framed = list(headers)
        names = {name.lower() for name, _ in framed}
        if body is not None and b"content-length" not in names and b"transfer-encoding" not in names:
            framed.append((b"transfer-encoding", b"chunked"))
        elif body is None and method in BODY_METHODS and b"content-length" not in names:
            framed.append((b"content-length", b"0"))
        head_of = h11.Request(method=method, target=target, headers=[(b"host", self.origin.host_header), *framed])
        try:
            connection, reused = await self._connection()
            try:
                return await self._exchange(connection, head_of, body)
            except UpstreamError as exc:
                if not (reused and exc.unheard and not isinstance(body, AsyncIterator)):
                    raise
                connection.close()
                connection = None
                connection = await self._connect()
                return await self._exchange(connection, head_of, body)
        except BaseException as exc:
            if connection is not None:
                connection.close()
            self._slots.release()
            if isinstance(exc, h11.ProtocolError):
                raise UpstreamError(type(exc).__name__, str(exc)) from exc
            raise

    async def _exchange(self, connection: _Connection, head: h11.Request,
                        body: AsyncIterator[bytes] | bytes | None) -> UpstreamResponse:
        await self._send(connection, head)
        if isinstance(body, bytes):
            if body:
                await self._send(connection, h11.Data(data=body))
        elif body is not None:
            async for chunk in body:
                await self._send(connection, h11.Data(data=chunk))
        await self._send(connection, h11.EndOfMessage())
        answer = await self._next(connection)
        while isinstance(answer, h11.InformationalResponse):  # 100 Continue and the like: not the answer
            answer = await self._next(connection)
        if not isinstance(answer, h11.Response):
            raise UpstreamError("RemoteProtocolError", f"unexpected {type(answer).__name__}")
        return UpstreamResponse(self, connection, answer)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _connection(self) -> tuple[_Connection, bool]:
        """A kept-alive connection (and True), else a new one (and False)."""
        now = time.monotonic()
        while self._idle and now - self._idle[0].idle_since > IDLE_SECONDS:  # oldest first: the expired ones
            self._idle.pop(0).close()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable():
                return connection, True
            connection.close()  # the upstream closed it, reset it or spoke on it while it waited
        return await self._connect(), False

    async def _connect(self) -> _Connection:
        origin = self.origin
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=origin.tls, server_hostname=origin.host if origin.tls else None,
                    limit=READ_SIZE)
        except TimeoutError:
            raise UpstreamError("ConnectTimeout", timeout=True) from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamError("ConnectError", str(exc)) from exc
        return _Connection(reader, writer)

    async def _send(self, connection: _Connection, event: h11.Event) -> None:
        data = connection.h11.send(event)
        if not data:
            return
        try:
            connection.writer.write(data)
            async with asyncio.timeout(self.timeout):
                await connection.writer.drain()
        except TimeoutError:
            raise UpstreamError("WriteTimeout", timeout=True) from None
        except OSError as exc:
            raise UpstreamError("WriteError", str(exc), unheard=not connection.heard) from exc

    async def _next(self, connection: _Connection) -> h11.Event:
        machine = connection.h11
        while True:
            try:
                event = machine.next_event()
            except h11.RemoteProtocolError as exc:
                raise UpstreamError("RemoteProtocolError", str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                async with asyncio.timeout(self.timeout):
                    data = await connection.reader.read(READ_SIZE)
            except TimeoutError:
                raise UpstreamError("ReadTimeout", timeout=True) from None
            except OSError as exc:
                raise UpstreamError("ReadError", str(exc), unheard=not connection.heard) from exc
            if not data and machine.their_state is h11.SEND_RESPONSE:
                raise UpstreamError("RemoteProtocolError", "the upstream closed the connection without answering",
                                    unheard=not connection.heard)
            connection.heard = connection.heard or bool(data)
            machine.receive_data(data)

    def _give_back(self, connection: _Connection, whole: bool) -> None:
        """A connection whose answer was read to its end may carry the next request; any other is closed."""
        try:
            if whole and not self._closed and connection.h11.our_state is h11.DONE \
                    and connection.h11.their_state is h11.DONE and not connection.h11.trailing_data[0]:
                connection.h11.start_next_cycle()
                connection.heard = False
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
        finally:
            self._slots.release()


class UpstreamResponse:
    """An answer's head, and its body as it arrives (``chunks``); ``aclose`` always, to free the connection."""

    def __init__(self, pool: UpstreamPool, connection: _Connection, head: h11.Response) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self.status = head.status_code
        self.headers: list[tuple[bytes, bytes]] = list(head.headers.raw_items())
        self._whole = False

    def header(self, name: bytes) -> str | None:
        """The values of header ``name`` (lower case), joined with commas as a list header's are; None if absent."""
        values = [value for key, value in self.headers if key.lower() == name]
        return b", ".join(values).decode("latin-1") if values else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as sent (still encoded, if the upstream encoded it), chunk by chunk."""
        connection = self._connection
        if connection is None:
            return
        while True:
            event = await self._pool._next(connection)
            if isinstance(event, h11.Data):
                if event.data:
                    yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._whole = True
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise UpstreamError("RemoteProtocolError", "the upstream closed the connection mid-answer")
            else:  # h11.PAUSED after a protocol switch (CONNECT, Upgrade): nothing more is HTTP; never spin on it
                raise UpstreamError("RemoteProtocolError", "the upstream switched protocols")

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool._give_back(connection, self._whole)


# what the proxy decodes (it asks for identity; an upstream may compress anyway, and the guard reviews plain text)
DECODABLE = frozenset({"identity", "gzip", "x-gzip", "deflate"})


async def decoded(chunks: AsyncIterator[bytes], codings: Sequence[str]) -> AsyncIterator[bytes]:
    """``chunks`` with ``codings`` (in the order the upstream applied them) undone, in pieces of at most
    :data:`READ_SIZE` produced one at a time, so a compressed bomb costs time, never memory."""
    steps = [coding for coding in codings if coding != "identity"]
    if len(steps) > MAX_CODINGS:
        raise UpstreamError("DecodingError", f"{len(steps)} content codings (at most {MAX_CODINGS} are read)")
    if not steps:
        async for chunk in chunks:
            yield chunk
        return
    decoders = [_Inflater(coding) for coding in reversed(steps)]
    async for chunk in chunks:
        for piece in _onwards(decoders, chunk):
            yield piece
    for decoder in decoders:  # every piece left with feed(); a stream cut short is an error
        decoder.check_complete()


def _onwards(decoders: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    """``data`` through every decoder in turn, one bounded piece at a time."""
    if not decoders:
        yield data
        return
    for piece in decoders[0].feed(data):
        yield from _onwards(decoders[1:], piece)


class _Inflater:
    """gzip (also x-gzip) or deflate; "deflate" comes zlib-wrapped or raw from real servers, so its first two
    bytes decide (a zlib header names method 8 and is a multiple of 31 read as a 16-bit number).

    A gzip body may hold several members one after the other (each is decoded); anything else after the end
    of the compressed data, and data that stops before its end, is a :class:`UpstreamError`: zlib would keep
    every byte after the end in memory, and a cut answer must not pass as whole.
    """

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._inflate: zlib._Decompress | None = self._gzip_member() if self._gzip else None
        self._head = b""
        self._fed = False

    @staticmethod
    def _gzip_member() -> zlib._Decompress:
        return zlib.decompressobj(zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self._fed = True
        if self._inflate is None:  # deflate: wait for the two bytes that say which kind
            self._head += data
            if len(self._head) < 2:
                return
            wrapped = self._head[0] & 0x0F == 8 and (self._head[0] << 8 | self._head[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        yield from self._bounded(data)

    def check_complete(self) -> None:
        """At the end of the body: data that stopped before the end of its compressed stream is an error."""
        if self._fed and (self._inflate is None or not self._inflate.eof):
            raise UpstreamError("DecodingError", "the compressed answer ends before its compressed data does")

    def _bounded(self, data: bytes) -> Iterator[bytes]:
        """Everything ``data`` inflates to, in pieces of at most :data:`READ_SIZE`: zlib stops at the bound and
        keeps the rest of the input (``unconsumed_tail``) or of its output for the next call; what follows the
        end of the compressed data (``unused_data``) is never given back to zlib, which would keep it all."""
        pending, more = data, True
        while more:
            inflate = self._inflate
            assert inflate is not None
            if inflate.eof:  # bytes after the end: the next gzip member, or nothing that is ours to read
                if not (self._gzip and pending[0] == 0x1F):
                    raise UpstreamError("DecodingError", "data after the end of the compressed answer")
                inflate = self._inflate = self._gzip_member()
            try:
                piece = inflate.decompress(pending, READ_SIZE)
            except zlib.error as exc:
                raise UpstreamError("DecodingError", str(exc)) from exc
            if piece:
                yield piece
            if inflate.eof:
                pending = inflate.unused_data
                more = bool(pending)
            else:
                pending = inflate.unconsumed_tail
                more = bool(pending) or len(piece) == READ_SIZE  # a full piece: zlib may hold more output

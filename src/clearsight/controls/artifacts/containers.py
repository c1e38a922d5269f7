"""Members of zip, tar and compressed streams, read as streams and never extracted to disk.

Every limit that keeps a hostile archive from exhausting the machine lives in :class:`Limits`; a reader that hits
one records a finding in the current :class:`ScanContext` and then behaves as if the data ended, so whatever scans
the member sees a truncated stream (and reports it) instead of an exception.
"""

from __future__ import annotations

import bisect
import bz2
import io
import lzma
import posixpath
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Protocol

from clearsight.controls.artifacts.interface import Member
from clearsight.core.base import SourceLocation
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

GiB = 1 << 30
MiB = 1 << 20
COMPRESSED_STREAMS = ("gzip", "bz2", "xz", "lzma", "zlib", "joblib-zf", "lz4")

try:  # optional: joblib's lz4 compression
    import lz4.frame as _lz4_frame  # type: ignore[import-not-found, import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _lz4_frame = None

LZ4_AVAILABLE = _lz4_frame is not None
ARCHIVES = ("zip", "tar")
CONTAINER_FORMATS = ARCHIVES + COMPRESSED_STREAMS


@dataclass(frozen=True)
class Limits:
    """Bounds on what one scanned file may cost. Every one of them can be changed by the caller."""

    max_depth: int = 4
    """Containers nested deeper than this are reported, not opened."""
    max_total_bytes: int = 4 * GiB
    """Decompressed bytes produced for one top-level file, all members together."""
    max_member_bytes: int = 4 * GiB
    """Decompressed size of one member."""
    max_ratio: float = 200.0
    """Decompressed : compressed ratio above which a big member is a compression bomb."""
    ratio_min_bytes: int = 16 * MiB
    """Members smaller than this (decompressed) are never called bombs, whatever their ratio."""
    max_members: int = 100_000
    """Members read from one archive."""
    head_bytes: int = 64 * 1024
    """Bytes read from the start of a file or member to recognise its format."""
    max_metadata_bytes: int = 64 * MiB
    """Largest header, JSON configuration or template read into memory."""
    hash_files: bool = True
    """Compute the sha256 of each top-level file (it reads the whole file)."""
    max_scanned_members: int = 50_000
    """Container members scanned for one top-level file, all archives and nesting levels together."""
    max_findings: int = 10_000
    """Distinct findings kept for one top-level file; identical ones are merged, the rest are counted."""


@dataclass
class ScanContext:
    """Per top-level file: the limits in force, the bytes spent so far, and the findings limits produced."""

    limits: Limits = field(default_factory=Limits)
    decompressed: int = 0
    findings: list[Finding] = field(default_factory=list)
    members: int = 0
    """Container members scanned so far (against ``Limits.max_scanned_members``)."""
    kept: int = 0
    duplicates: int = 0
    dropped: int = 0
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _admitted: set[tuple[object, ...]] = field(default_factory=set)

    def admit(self, items: list[Finding]) -> list[Finding]:
        """``items`` without findings already kept for this file, and none beyond ``Limits.max_findings``."""
        out: list[Finding] = []
        for item in items:
            key = (item.rule, item.severity, item.message, item.location.path if item.location else "", item.detail)
            if key in self._admitted:
                self.duplicates += 1
                continue
            if self.kept >= self.limits.max_findings:
                self.dropped += 1
                continue
            self._admitted.add(key)
            self.kept += 1
            out.append(item)
        return out

    def report(self, item: Finding) -> None:
        key = (item.rule, item.location.path if item.location else "")
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(item)

    def take_findings(self) -> list[Finding]:
        out, self.findings = self.findings, []
        return out


_CONTEXT: ContextVar[ScanContext | None] = ContextVar("clearsight_scan_context", default=None)


def current_context() -> ScanContext:
    """The context of the scan in progress; a fresh default one when a scanner is called on its own."""
    ctx = _CONTEXT.get()
    if ctx is None:
        ctx = ScanContext()
        _CONTEXT.set(ctx)
    return ctx


@contextmanager
def scan_context(limits: Limits | None = None) -> Iterator[ScanContext]:
    ctx = ScanContext(limits=limits or Limits())
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def finding(rule: str, severity: Severity, message: str, where: str, detail: str | None = None) -> Finding:
    """A finding located at ``where`` (a path, or ``outer!inner`` for a member of a container)."""
    return Finding(rule=rule, severity=severity, message=message, location=SourceLocation(path=where), detail=detail)


# --------------------------------------------------------------------------------------------------- stream views


class _PiecesRaw(io.RawIOBase):
    """The concatenation of byte ranges of a shared base stream (which is re-positioned before every read)."""

    def __init__(self, base: BinaryIO, pieces: list[tuple[int, int]]) -> None:
        self._base = base
        self._pieces = [(s, e) for s, e in pieces if e > s]
        self._starts: list[int] = []
        total = 0
        for s, e in self._pieces:
            self._starts.append(total)
            total += e - s
        self._size = total
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self._size
        self._pos = max(0, offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        start, end = self._pieces[index]
        skip = self._pos - self._starts[index]
        n = min(len(buffer), end - start - skip)
        self._base.seek(start + skip)
        data = self._base.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def open_pieces(base: BinaryIO, pieces: list[tuple[int, int]], *, buffer: int = 64 * 1024) -> BinaryIO:
    """A read-only stream over the given ``(start, end)`` ranges of ``base``, in order."""
    return io.BufferedReader(_PiecesRaw(base, pieces), buffer_size=buffer)


def open_range(base: BinaryIO, start: int, end: int) -> BinaryIO:
    return open_pieces(base, [(start, end)])


def stream_size(stream: BinaryIO) -> int:
    here = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return size


class _SafeRaw(io.RawIOBase):
    """Turns errors raised while reading a member (bad CRC, corrupt data) into a finding and end-of-data."""

    def __init__(self, inner: IO[bytes], where: str, ctx: ScanContext) -> None:
        self._inner = inner
        self._where = where
        self._ctx = ctx
        self._failed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._inner.seek(offset, whence)
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
            self._fail(exc)
            return self._inner.tell() if not self._inner.closed else 0

    def _fail(self, exc: BaseException) -> None:
        self._failed = True
        self._ctx.report(
            finding(
                "container.corrupt",
                Severity.HIGH,
                "A container member could not be read to its end, so it was not fully scanned.",
                self._where,
                f"{type(exc).__name__}: {exc}",
            )
        )

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._failed:
            return 0
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
            self._fail(exc)
            return 0
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def _safe(inner: IO[bytes], where: str, ctx: ScanContext) -> BinaryIO:
    return io.BufferedReader(_SafeRaw(inner, where, ctx), buffer_size=64 * 1024)


# --------------------------------------------------------------------------------------------- decompression


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZlibDecoder:
    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)
        self._tail = b""
        self._full = False

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._tail and not self._full

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        buf = self._tail + data if self._tail else data
        out = self._d.decompress(buf, max(0, max_length))
        self._tail = self._d.unconsumed_tail
        self._full = max_length > 0 and len(out) >= max_length
        return out


class _Lz4Decoder:
    """lz4's frame decompressor reports ``unused_data`` as None until trailing bytes exist; the reader needs bytes."""

    def __init__(self, frame: Any) -> None:
        self._d = frame.LZ4FrameDecompressor()

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data or b""

    @property
    def needs_input(self) -> bool:
        return bool(self._d.needs_input)

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out: bytes = self._d.decompress(data, max_length)
        return out


def _new_decoder(kind: str) -> _Decoder:
    if kind == "gzip":
        return _ZlibDecoder(16 + zlib.MAX_WBITS)
    if kind in ("zlib", "joblib-zf"):
        return _ZlibDecoder(zlib.MAX_WBITS)
    if kind == "lz4" and _lz4_frame is not None:
        return _Lz4Decoder(_lz4_frame)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if kind == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    raise ValueError(f"not a compressed stream: {kind}")


class _DecompressRaw(io.RawIOBase):
    """A seekable decompressed view of a gzip/bz2/xz/lzma/zlib stream, metered against the limits.

    Forward seeks decompress and discard; backward seeks start again from the beginning. Concatenated streams
    (several gzip members, several bz2 or xz streams) are read as one, as the standard tools do.
    """

    _CHUNK = 64 * 1024

    def __init__(self, source: BinaryIO, kind: str, where: str, ctx: ScanContext) -> None:
        self._source = source
        self._kind = kind
        self._where = where
        self._ctx = ctx
        self._origin = source.tell()
        self._stopped = False  # a limit or an error ended the data for good
        self._restart()

    def _restart(self) -> None:
        self._source.seek(self._origin)
        self._decoder = _new_decoder(self._kind)
        self._pos = 0
        self._consumed = 0
        self._pending = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self._source.close()
        finally:
            super().close()

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            self._skip(-1)
            offset += self._pos
        offset = max(0, offset)
        if offset < self._pos:
            if self._stopped:
                return self._pos
            self._restart()
        self._skip(offset - self._pos)
        return self._pos

    def _skip(self, n: int) -> None:
        buf = bytearray(min(n, 1 << 20) if n >= 0 else 1 << 20)
        view = memoryview(buf)
        while n != 0:
            got = self.readinto(view if n < 0 else view[: min(n, len(buf))])
            if got == 0:
                return
            if n > 0:
                n -= got

    def _trip(self, rule: str, severity: Severity, message: str, detail: str | None = None) -> int:
        self._stopped = True
        self._ended = True
        self._ctx.report(finding(rule, severity, message, self._where, detail))
        return 0

    def _next_stream(self) -> bool:
        """After one stream ends: start the next concatenated one, or decide the data is over."""
        rest = self._decoder.unused_data + self._pending
        if self._kind in ("zlib", "joblib-zf"):
            if rest.strip(b"\x00") or self._source.read(1):
                self._ctx.report(
                    finding(
                        "container.trailing-data",
                        Severity.LOW,
                        "Bytes follow the end of the compressed stream; loaders ignore or reject them.",
                        self._where,
                    )
                )
            return False
        while True:
            rest = rest.lstrip(b"\x00")
            if rest:
                break
            more = self._source.read(self._CHUNK)
            if not more:
                return False
            self._consumed += len(more)
            rest = more
        self._decoder = _new_decoder(self._kind)
        self._pending = rest
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._ended or len(buffer) == 0:
            return 0
        limits = self._ctx.limits
        while True:
            if self._decoder.eof and not self._next_stream():
                self._ended = True
                return 0
            if self._pending:
                data, self._pending = self._pending, b""
            elif self._decoder.needs_input:
                data = self._source.read(self._CHUNK)
                self._consumed += len(data)
                if not data:
                    return self._trip(
                        "container.truncated",
                        Severity.HIGH,
                        f"The {self._kind} stream ends before its end marker: the file is truncated.",
                    )
            else:
                data = b""
            try:
                out = self._decoder.decompress(data, len(buffer))
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
                return self._trip(
                    "container.corrupt",
                    Severity.HIGH,
                    f"The {self._kind} stream is corrupt; the rest of it was not scanned.",
                    f"{type(exc).__name__}: {exc}",
                )
            if not out:
                continue
            n = len(out)
            self._pos += n
            self._ctx.decompressed += n
            if self._pos > limits.max_member_bytes:
                return self._trip(
                    "container.limit",
                    Severity.HIGH,
                    f"Decompressed data exceeds the per-member limit of {limits.max_member_bytes} bytes; "
                    "the rest was not scanned.",
                )
            if self._ctx.decompressed > limits.max_total_bytes:
                return self._trip(
                    "container.limit",
                    Severity.HIGH,
                    f"Decompressed data exceeds the total limit of {limits.max_total_bytes} bytes; "
                    "the rest was not scanned.",
                )
            if self._pos >= limits.ratio_min_bytes and self._pos > limits.max_ratio * max(self._consumed, 1):
                return self._trip(
                    "container.bomb",
                    Severity.HIGH,
                    f"Compression ratio above {limits.max_ratio:.0f}:1 on a large stream: a decompression bomb.",
                    f"{self._pos} bytes out of {self._consumed} compressed bytes",
                )
            buffer[:n] = out
            return n


def open_decompressed(source: BinaryIO, kind: str, where: str, ctx: ScanContext | None = None) -> BinaryIO:
    """The decompressed content of ``source`` (positioned at the start of the compressed data)."""
    raw = _DecompressRaw(source, kind, where, ctx or current_context())
    return io.BufferedReader(raw, buffer_size=64 * 1024)


# ------------------------------------------------------------------------------------------------- archives

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str) -> str | None:
    """Why extracting a member called ``name`` could write outside the target folder, or None."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive-letter path"
    if ".." in re.split(r"[\\/]", name):
        return "'..' component"
    return None


def _link_escapes(name: str, target: str, *, hard: bool) -> str | None:
    if unsafe_name(target) and not target.startswith(".."):
        return unsafe_name(target)
    base = "" if hard else posixpath.dirname(name.replace("\\", "/"))
    resolved = posixpath.normpath(posixpath.join(base, target.replace("\\", "/")))
    if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
        return f"link target {target!r} resolves outside the archive"
    return None


def strip_compression_suffix(name: str) -> str | None:
    """``model.pkl.gz`` -> ``model.pkl``; ``x.tgz`` -> ``x.tar``; None when the name has no such suffix."""
    lower = name.lower()
    for suffix, replacement in (
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
        (".txz", ".tar"),
        (".gzip", ""),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".lzma", ""),
        (".zlib", ""),
        (".z", ""),
    ):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + replacement
    return None


def _leaf(where: str) -> str:
    return re.split(r"[!/\\]", where)[-1]


@dataclass
class ZipListing:
    """The central directory of a zip, with a way to open members lazily."""

    archive: zipfile.ZipFile
    infos: list[zipfile.ZipInfo]

    @property
    def names(self) -> list[str]:
        return [i.filename for i in self.infos]


def open_zip(member: Member, stream: BinaryIO, findings: list[Finding]) -> ZipListing | None:
    """Read a zip's central directory (only); None, with a finding, when it is not a readable zip."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        findings.append(
            finding(
                "container.corrupt",
                Severity.HIGH,
                "The zip archive's directory cannot be read (truncated or corrupt), so its members were not scanned.",
                member.where,
                f"{type(exc).__name__}: {exc}",
            )
        )
        return None
    return ZipListing(archive, archive.infolist())


MAX_PARTIAL_OVERLAP_SCANS = 16


def _overlapping_entries(member: Member, infos: list[zipfile.ZipInfo], findings: list[Finding]) -> set[int]:
    """Indexes of entries whose local header another entry already uses (their bytes are scanned once).

    Entries that share or overlap byte ranges of the archive are never produced by a zip writer: they are how
    "overlap" zip bombs multiply a small member into many (and, nested, into exponentially many). The range of
    an entry is its local header, name and compressed data (local extra fields can only make it longer).
    """
    spans = sorted(
        (info.header_offset, info.header_offset + 30 + len(info.orig_filename.encode("utf-8", "replace"))
         + info.compress_size, index)
        for index, info in enumerate(infos)
        if not info.is_dir()
    )  # fmt: skip
    repeated: set[int] = set()
    overlapping: list[str] = []
    first_at: dict[int, int] = {}
    reach = -1
    partial = 0
    for start, end, index in spans:
        if start in first_at:
            repeated.add(index)
            overlapping.append(infos[index].filename)
        elif start < reach:
            # Starting inside another entry's bytes, it may decode to something else, so the first few are
            # scanned; past that, many of them only multiply the work (quadratic in the archive's size).
            partial += 1
            if partial > MAX_PARTIAL_OVERLAP_SCANS:
                repeated.add(index)
            overlapping.append(infos[index].filename)
        first_at.setdefault(start, index)
        reach = max(reach, end)
    if overlapping:
        shown = ", ".join(repr(n) for n in overlapping[:5])
        findings.append(
            finding(
                "container.overlap",
                Severity.HIGH,
                "Zip entries share or overlap the same bytes of the archive (an overlapping-entry zip bomb or a "
                "crafted archive); each distinct start was scanned once, and at most "
                f"{MAX_PARTIAL_OVERLAP_SCANS} entries starting inside another.",
                member.where,
                f"{len(overlapping)} overlapping entries, e.g. {shown}",
            )
        )
    return repeated


def case_collisions(names: list[str]) -> list[list[str]]:
    """Groups of distinct member names that differ only in case (``Model.pkl`` / ``model.pkl``)."""
    groups: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        groups.setdefault(name.lower(), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def _report_case_collisions(member: Member, listing: ZipListing, findings: list[Finding]) -> None:
    """``container.case-collision`` (HIGH) for every group of names that differ only in case.

    Extracted on a case-insensitive file system (Windows, macOS) one member overwrites the other, and loaders
    that match names case-insensitively pick one a case-sensitive reader does not show. PyTorch zips are left
    to the torch scanner, which reports the same rule (critical when one of the variants is dangerous).
    """
    names = listing.names
    groups = case_collisions(names)
    if not groups:
        return
    from clearsight.controls.artifacts.formats import refine_zip

    if refine_zip(names) == "torch-zip":
        return
    for group in groups[:_MAX_CASE_GROUPS]:
        findings.append(
            finding(
                "container.case-collision",
                Severity.HIGH,
                "Archive members whose names differ only in case: extracted on a case-insensitive file system "
                "one replaces the other, and a case-insensitive loader may read a member other than the one "
                "a case-sensitive reader (and this scan's report) shows.",
                member.where,
                ", ".join(repr(n) for n in group[:5]),
            )
        )
    if len(groups) > _MAX_CASE_GROUPS:
        findings.append(
            finding(
                "container.case-collision",
                Severity.HIGH,
                f"{len(groups) - _MAX_CASE_GROUPS} more groups of member names that differ only in case.",
                member.where,
            )
        )


_MAX_CASE_GROUPS = 20


def zip_members(
    member: Member,
    listing: ZipListing,
    findings: list[Finding],
    ctx: ScanContext | None = None,
    *,
    select: Callable[[zipfile.ZipInfo], bool] | None = None,
) -> Iterator[Member]:
    """The members of a zip as streams, with traversal, encryption, bomb and size checks."""
    ctx = ctx or current_context()
    limits = ctx.limits
    repeated = _overlapping_entries(member, listing.infos[: limits.max_members], findings)
    _report_case_collisions(member, listing, findings)
    for count, info in enumerate(listing.infos):
        if count in repeated:
            continue
        if count >= limits.max_members:
            findings.append(_too_many_members(member, limits))
            return
        where = f"{member.where}!{info.filename}"
        reason = unsafe_name(info.filename)
        if reason:
            findings.append(
                finding(
                    "container.path-traversal",
                    Severity.HIGH,
                    "An archive member's name would be written outside the extraction folder.",
                    where,
                    f"{info.filename!r}: {reason}",
                )
            )
        if info.is_dir() or (select is not None and not select(info)):
            continue
        if info.flag_bits & 0x1:
            findings.append(
                finding(
                    "container.encrypted",
                    Severity.MEDIUM,
                    "An encrypted archive member cannot be scanned.",
                    where,
                )
            )
            continue
        if info.compress_type != zipfile.ZIP_STORED:
            if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                findings.append(
                    finding(
                        "container.bomb",
                        Severity.HIGH,
                        f"Compression ratio above {limits.max_ratio:.0f}:1 on a large member: a decompression bomb. "
                        "It was not decompressed.",
                        where,
                        f"{info.file_size} bytes from {info.compress_size} compressed bytes",
                    )
                )
                continue
            if info.file_size > limits.max_member_bytes or ctx.decompressed + info.file_size > limits.max_total_bytes:
                findings.append(
                    finding(
                        "container.limit",
                        Severity.HIGH,
                        "The member would exceed the decompression limits; it was not scanned.",
                        where,
                        f"{info.file_size} bytes",
                    )
                )
                continue
            ctx.decompressed += info.file_size

        def opener(info: zipfile.ZipInfo = info, where: str = where) -> BinaryIO:
            try:
                return _safe(listing.archive.open(info), where, ctx)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError, zlib.error) as exc:
                ctx.report(
                    finding(
                        "container.corrupt",
                        Severity.HIGH,
                        "An archive member cannot be opened (corrupt header or unsupported compression), so it "
                        "was not scanned.",
                        where,
                        f"{type(exc).__name__}: {exc}",
                    )
                )
                return io.BytesIO(b"")

        yield Member(where=where, size=info.file_size, open=opener)


def tar_members(
    member: Member, stream: BinaryIO, findings: list[Finding], ctx: ScanContext | None = None
) -> Iterator[Member]:
    """Regular-file members of a tar, in archive order; link and name escapes become findings."""
    ctx = ctx or current_context()
    try:
        archive = tarfile.open(fileobj=stream, mode="r:")  # noqa: SIM115 - closed below, after the last member
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        findings.append(
            finding(
                "container.corrupt",
                Severity.HIGH,
                "The tar archive cannot be read, so its members were not scanned.",
                member.where,
                f"{type(exc).__name__}: {exc}",
            )
        )
        return
    with archive:
        yield from _tar_loop(member, archive, findings, ctx)


def _tar_loop(member: Member, archive: tarfile.TarFile, findings: list[Finding], ctx: ScanContext) -> Iterator[Member]:
    limits = ctx.limits
    count = 0
    while True:
        try:
            info = archive.next()
        except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
            findings.append(
                finding(
                    "container.corrupt",
                    Severity.HIGH,
                    "The tar archive is truncated or corrupt; members after this point were not scanned.",
                    member.where,
                    f"{type(exc).__name__}: {exc}",
                )
            )
            return
        if info is None:
            return
        count += 1
        if count > limits.max_members:
            findings.append(_too_many_members(member, limits))
            return
        where = f"{member.where}!{info.name}"
        reason = unsafe_name(info.name)
        if reason is None and (info.issym() or info.islnk()):
            reason = _link_escapes(info.name, info.linkname, hard=info.islnk())
        if reason:
            findings.append(
                finding(
                    "container.path-traversal",
                    Severity.HIGH,
                    "An archive member would be written, or would point, outside the extraction folder.",
                    where,
                    f"{info.name!r} -> {info.linkname!r}: {reason}" if info.linkname else f"{info.name!r}: {reason}",
                )
            )
        if not info.isfile():
            continue
        if info.size > limits.max_member_bytes:
            findings.append(
                finding(
                    "container.limit",
                    Severity.HIGH,
                    f"The member is larger than the per-member limit of {limits.max_member_bytes} bytes; "
                    "it was not scanned.",
                    where,
                )
            )
            continue

        def opener(info: tarfile.TarInfo = info, where: str = where) -> BinaryIO:
            handle = archive.extractfile(info)
            if handle is None:
                return io.BytesIO(b"")
            return _safe(handle, where, ctx)

        yield Member(where=where, size=info.size, open=opener)


def decompressed_member(member: Member, kind: str) -> Member:
    """The single member inside a gzip/bz2/xz/lzma/zlib stream."""
    inner = strip_compression_suffix(_leaf(member.where)) or f"<{kind} content>"
    where = f"{member.where}!{inner}"

    def opener() -> BinaryIO:
        source = member.open()
        if kind == "joblib-zf":
            # ``ZF`` and a hex length (19 characters, or 20 in files from old joblib versions) precede the data.
            header = source.read(22)
            source.seek(21 + (header[21:22] == b" "))
        return open_decompressed(source, kind, where)

    return Member(where=where, size=None, open=opener)


def iter_members(member: Member, fmt: str, findings: list[Finding]) -> Iterator[Member]:
    """Members of a zip, tar or compressed stream. Findings about the container go to ``findings``."""
    if fmt in COMPRESSED_STREAMS:
        yield decompressed_member(member, fmt)
        return
    with member.open() as stream:
        if fmt == "zip":
            listing = open_zip(member, stream, findings)
            if listing is not None:
                with listing.archive:
                    yield from zip_members(member, listing, findings)
        elif fmt == "tar":
            yield from tar_members(member, stream, findings)
        else:
            raise ValueError(f"not a container format: {fmt}")


def _too_many_members(member: Member, limits: Limits) -> Finding:
    """The member limit was reached: what follows is reported as unscanned, never passed as clean."""
    return finding(
        "container.limit",
        Severity.HIGH,
        f"The archive has more than {limits.max_members} members; the rest were not scanned.",
        member.where,
    )

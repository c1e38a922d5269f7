"""Pickle plumbing shared by the format scanners: the one call into the pickle reader, and an opcode walker.

The opcode walker only finds where pickles end and decodes small literal arguments; deciding what a pickle
imports is the pickle reader's job (``pickle_scan.scan_pickle_stream``). Nothing here unpickles anything.
"""

from __future__ import annotations

import pickletools
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from clearsight.controls.artifacts.pickle_reader import c_float_ok, c_int, python_int

if TYPE_CHECKING:  # only named here: discovery's model-file sniffer walks opcodes without the report models
    from clearsight.controls.artifacts.interface import Policy
    from clearsight.core.evidence import Finding


def scan_pickle(stream: BinaryIO, policy: Policy, where: str, *, joblib: bool = False) -> list[Finding]:
    """Scan one or more concatenated pickles in ``stream`` with the pickle reader (imported on first use).

    ``joblib=True`` reads the stream as ``joblib.load`` does (array bytes after each ``NumpyArrayWrapper``).
    """
    from clearsight.controls.artifacts.pickle_scan import scan_pickle_stream

    return scan_pickle_stream(stream, policy, where, joblib=joblib)


class PickleFormatError(ValueError):
    """The bytes are not a well-formed pickle opcode stream (unknown opcode, truncated argument)."""

    def __init__(self, message: str, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


@dataclass(frozen=True, slots=True)
class Skipped:
    """A length-prefixed argument too long to keep in memory; it was skipped, not read."""

    length: int


# (name, argument kind, fixed size or length-prefix code) per opcode byte, built from pickletools' own table.
_OPS: dict[int, tuple[str, str | None, int]] = {
    op.code.encode("latin-1")[0]: (op.name, op.arg.name if op.arg else None, op.arg.n if op.arg else 0)
    for op in pickletools.opcodes
}
PICKLE_OPCODES = frozenset(_OPS)
_PREFIX = {
    pickletools.TAKEN_FROM_ARGUMENT1: ("<B", 1),
    pickletools.TAKEN_FROM_ARGUMENT4: ("<i", 4),
    pickletools.TAKEN_FROM_ARGUMENT4U: ("<I", 4),
    pickletools.TAKEN_FROM_ARGUMENT8U: ("<Q", 8),
}
_FIXED_INT = {"uint1": False, "uint2": False, "int4": True, "uint4": False, "uint8": False}
_UNICODE = {"unicodestring1", "unicodestring4", "unicodestring8"}
_LONG = {"long1", "long4"}
_MAX_LINE = 1 << 16


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise PickleFormatError(f"{what}: expected {n} bytes, found {len(data)} (truncated)", truncated=True)
    return data


def _read_line(stream: BinaryIO, what: str) -> bytes:
    line = stream.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise PickleFormatError(f"{what}: no end of line (truncated or not a pickle)", truncated=True)
    return line[:-1]


def _line_value(kind: str, raw: bytes, name: str) -> object:
    """A text argument read the way the C unpickler reads it (see ``pickle_reader.c_int``): stricter reading
    made payloads after a lax number line look like "not a pickle"."""
    text = raw.decode("latin-1")
    number: int | None = 0
    if kind == "decimalnl_short":  # INT, and the memo keys of GET and PUT (base 10 in C)
        number = python_int(raw, 10) if name in ("GET", "PUT") else c_int(raw)
        if number is not None:
            return number == 1 if name == "INT" and len(raw) == 2 and number in (0, 1) else number
    elif kind == "decimalnl_long":
        number = python_int(raw[:-1] if raw.endswith(b"L") else raw, 0)
        if number is not None:
            return number
    elif kind == "floatnl":
        if c_float_ok(raw):
            return text
        number = None
    if number is None:
        raise PickleFormatError(f"{name}: bad number {text[:40]!r}")
    if kind == "stringnl":
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        raise PickleFormatError(f"{name}: string not quoted")
    if kind == "unicodestringnl":
        return raw.decode("raw-unicode-escape", errors="replace")
    return text


def iter_ops(stream: BinaryIO, *, max_arg: int = 1 << 20) -> Iterator[tuple[str, object, int]]:
    """``(opcode name, argument, offset)`` up to and including STOP, reading arguments as literals.

    Arguments longer than ``max_arg`` are skipped by seeking and come back as :class:`Skipped`. Raises
    :class:`PickleFormatError` on an unknown opcode or a truncated argument.
    """
    while True:
        pos = stream.tell()
        code = stream.read(1)
        if not code:
            raise PickleFormatError(f"pickle ends at offset {pos} before STOP (truncated)", truncated=True)
        spec = _OPS.get(code[0])
        if spec is None:
            raise PickleFormatError(f"unknown opcode {code!r} at offset {pos}")
        name, kind, n = spec
        arg: object = None
        if kind is None:
            pass
        elif kind == "stringnl_noescape_pair":
            module = _read_line(stream, name).decode("utf-8", errors="replace")
            qualname = _read_line(stream, name).decode("utf-8", errors="replace")
            arg = f"{module} {qualname}"
        elif n == pickletools.UP_TO_NEWLINE:
            arg = _line_value(kind, _read_line(stream, name), name)
        elif n in _PREFIX:
            fmt, size = _PREFIX[n]
            (length,) = struct.unpack(fmt, _read_exact(stream, size, name))
            if length < 0:
                raise PickleFormatError(f"{name}: negative length at offset {pos}")
            if length > max_arg:
                here = stream.tell()
                try:
                    stream.seek(here + length)
                except (OverflowError, OSError, ValueError) as exc:
                    raise PickleFormatError(f"{name}: {length}-byte argument (truncated)", truncated=True) from exc
                if stream.tell() != here + length or _past_end(stream):
                    raise PickleFormatError(
                        f"{name}: {length}-byte argument runs past the end (truncated)", truncated=True
                    )
                arg = Skipped(length)
            else:
                data = _read_exact(stream, length, name)
                if kind in _LONG:
                    arg = int.from_bytes(data, "little", signed=True)
                elif kind in _UNICODE:
                    arg = data.decode("utf-8", errors="replace")
                elif kind in ("string1", "string4"):
                    arg = data.decode("latin-1")
                else:
                    arg = data
        elif kind in _FIXED_INT:
            arg = int.from_bytes(_read_exact(stream, n, name), "little", signed=_FIXED_INT[kind])
        elif kind == "float8":
            (arg,) = struct.unpack(">d", _read_exact(stream, 8, name))
        else:  # pragma: no cover - every pickletools argument kind is handled above
            raise PickleFormatError(f"{name}: unhandled argument kind {kind}")
        yield name, arg, pos
        if name == "STOP":
            return


def _past_end(stream: BinaryIO) -> bool:
    """After a seek: is the position beyond the end of the data?"""
    here = stream.tell()
    if stream.read(1):
        stream.seek(here)
        return False
    end = stream.seek(0, 2)
    stream.seek(here)
    return here > end


def pickle_end(stream: BinaryIO) -> int:
    """Offset just after the STOP of the pickle starting at the stream's position (raises if there is none)."""
    end = stream.tell()
    for _name, _arg, pos in iter_ops(stream):
        end = pos + 1
    return end

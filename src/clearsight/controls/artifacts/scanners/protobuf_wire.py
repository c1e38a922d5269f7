"""A small, bounded reader of the protobuf wire format, for ONNX and TensorFlow files.

No generated classes and no ``protobuf`` dependency: fields are decoded straight from the bytes, long
length-delimited fields are skipped by offset (never read into memory), and every length is checked against
the end of its enclosing message, so a hostile file can only make the reader stop with :class:`WireError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (or they end early)."""


@dataclass(frozen=True, slots=True)
class WireField:
    number: int
    wire_type: int
    value: int
    """The decoded integer for VARINT, I64 and I32 fields; the payload offset for LEN fields."""
    length: int = 0
    """Payload length of a LEN field (0 for the other wire types)."""

    @property
    def end(self) -> int:
        return self.value + self.length


class WireSource:
    """Random access to a stream or a bytes object through one cached window, so memory stays bounded."""

    def __init__(self, data: BinaryIO | bytes, size: int | None = None, *, window: int = 1 << 20) -> None:
        if isinstance(data, bytes | bytearray | memoryview):
            self._stream: BinaryIO | None = None
            self._buf = bytes(data)
            self._buf_start = 0
            self.size = len(self._buf)
        else:
            self._stream = data
            self._buf = b""
            self._buf_start = 0
            if size is None:
                data.seek(0, 2)
                size = data.tell()
            self.size = size
        self._window = window

    def _fill(self, offset: int, need: int) -> None:
        if self._stream is None:
            return
        self._stream.seek(offset)
        self._buf = self._stream.read(max(self._window, need))
        self._buf_start = offset

    def read(self, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset`` (fewer only past the end of the source)."""
        rel = offset - self._buf_start
        if rel < 0 or rel + n > len(self._buf):
            if self._stream is None:
                return self._buf[offset : offset + n] if offset >= 0 else b""
            self._fill(offset, n)
            rel = 0
        return self._buf[rel : rel + n]

    def varint(self, offset: int, end: int) -> tuple[int, int]:
        """Decode a varint at ``offset``; returns (value, next offset)."""
        chunk = self.read(offset, min(_MAX_VARINT_BYTES, max(0, end - offset)))
        result = 0
        shift = 0
        for i, byte in enumerate(chunk):
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result & 0xFFFFFFFFFFFFFFFF, offset + i + 1
            shift += 7
        raise WireError(f"bad or truncated varint at offset {offset}")


def iter_fields(src: WireSource, start: int = 0, end: int | None = None) -> Iterator[WireField]:
    """The fields of the message stored in ``src[start:end]``, in order, validated against ``end``."""
    stop = src.size if end is None else min(end, src.size)
    if end is not None and end > src.size:
        raise WireError(f"message ends at {end}, past the end of the data ({src.size})")
    pos = start
    while pos < stop:
        key, pos = src.varint(pos, stop)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at offset {pos}")
        if wire_type == VARINT:
            value, pos = src.varint(pos, stop)
            yield WireField(number, wire_type, value)
        elif wire_type == I64:
            raw = src.read(pos, 8)
            if len(raw) < 8 or pos + 8 > stop:
                raise WireError(f"truncated 64-bit field {number} at offset {pos}")
            pos += 8
            yield WireField(number, wire_type, int.from_bytes(raw, "little"))
        elif wire_type == I32:
            raw = src.read(pos, 4)
            if len(raw) < 4 or pos + 4 > stop:
                raise WireError(f"truncated 32-bit field {number} at offset {pos}")
            pos += 4
            yield WireField(number, wire_type, int.from_bytes(raw, "little"))
        elif wire_type == LEN:
            length, pos = src.varint(pos, stop)
            if pos + length > stop:
                raise WireError(f"field {number} claims {length} bytes at offset {pos}, past the message end {stop}")
            yield WireField(number, wire_type, pos, length)
            pos += length
        else:
            raise WireError(f"unsupported wire type {wire_type} for field {number} at offset {pos}")


def read_bytes(src: WireSource, field: WireField, *, limit: int = 1 << 20) -> bytes:
    """The payload of a LEN field, refusing payloads longer than ``limit``."""
    if field.wire_type != LEN:
        raise WireError(f"field {field.number} is not length-delimited")
    if field.length > limit:
        raise WireError(f"field {field.number} is {field.length} bytes, over the {limit}-byte limit")
    return src.read(field.value, field.length)


def read_text(src: WireSource, field: WireField, *, limit: int = 1 << 20) -> str:
    return read_bytes(src, field, limit=limit).decode("utf-8", errors="replace")


def probe_message(head: bytes, allowed: dict[int, int]) -> list[WireField] | None:
    """Parse ``head`` as the start of a message whose field numbers and wire types are all in ``allowed``.

    A LEN field running past the end of ``head`` ends the probe successfully (the head is a prefix of a
    bigger file). Returns the fields seen, or None when the bytes cannot be such a message.
    """
    src = WireSource(head)
    fields: list[WireField] = []
    pos = 0
    try:
        while pos < len(head):
            key, pos = src.varint(pos, len(head))
            number, wire_type = key >> 3, key & 7
            if allowed.get(number) != wire_type:
                return None
            if wire_type == VARINT:
                value, pos = src.varint(pos, len(head))
                fields.append(WireField(number, wire_type, value))
            elif wire_type == LEN:
                length, pos = src.varint(pos, len(head))
                fields.append(WireField(number, wire_type, pos, length))
                if pos + length > len(head):
                    break
                pos += length
            elif wire_type in (I64, I32):
                pos += 8 if wire_type == I64 else 4
                fields.append(WireField(number, wire_type, 0))
            else:
                return None
    except WireError:
        if not fields:
            return None
    return fields

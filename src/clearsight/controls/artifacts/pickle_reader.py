"""A streaming reader of pickle opcodes that sees every import a pickle makes, without unpickling anything.

Why our own reader instead of :func:`pickletools.genops`: genops reads every argument into memory (a 4 GB
``BINBYTES8`` becomes a 4 GB ``bytes``) and stops at the first ``STOP``. This reader

* keeps at most one 64 KiB chunk of the stream plus short strings; big string/bytes payloads are skipped by
  seeking (or reading in chunks when the stream cannot seek), so memory stays flat on multi-GB files;
* understands every opcode of protocols 0-5 and emulates the stack and memo just enough to resolve
  ``STACK_GLOBAL`` operands (pushed directly or fetched from the memo) and to know which globals are *called*
  (``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``OBJ``, ``INST``, ``BUILD`` on a global, the class handed to
  ``copyreg._reconstructor``, arguments of a callable that is itself a call result such as ``partial(...)()``);
* keeps reading after ``STOP`` (several pickles in one file), reports data that is not a pickle, and looks for
  pickles embedded after junk or inside a broken pickle (a custom loader may ``seek`` there);
* follows joblib's layout, where raw NumPy array bytes (or a nested pickle for object arrays) sit right after
  the ``BUILD`` of a ``NumpyArrayWrapper``;
* stops at limits (opcodes, memo entries, stack items, MARK depth, bytes) and says so.

A truncated or malformed stream yields an :class:`Event` describing the failure plus everything read before it.
The reader never raises for bad content; only programming errors would escape, and the scanner catches those.

Values on the emulated stack: ``bytes`` stand for *strings* (the UTF-8 text of a ``str``; real ``bytes``
objects are never kept), ``int``/``bool``/``None``, ``tuple`` and small ``dict`` built from stack items,
:class:`GlobalRef`, :class:`Call` (the result of calling something) and a few sentinels.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from struct import Struct
from struct import error as struct_error
from typing import BinaryIO, Final

__all__ = [
    "INSTANTIATORS",
    "OPCODE_NAMES",
    "Call",
    "Event",
    "GlobalRef",
    "Limits",
    "PickleInfo",
    "ReadResult",
    "read_pickles",
]

_I4 = Struct("<i").unpack_from
_U4 = Struct("<I").unpack_from
_U8 = Struct("<Q").unpack_from
_U2 = Struct("<H").unpack_from

_CHUNK: Final = 1 << 16  # bytes read from the stream at a time
_SKIP_CHUNK: Final = 1 << 20  # bytes read at a time when skipping a payload on a stream that cannot seek
_DICT_KEEP: Final = 64  # entries remembered per dict (enough for joblib's wrapper state and dtype fields)

OPCODE_NAMES: Final[dict[int, str]] = {
    0x28: "MARK",
    0x2E: "STOP",
    0x30: "POP",
    0x31: "POP_MARK",
    0x32: "DUP",
    0x46: "FLOAT",
    0x49: "INT",
    0x4A: "BININT",
    0x4B: "BININT1",
    0x4C: "LONG",
    0x4D: "BININT2",
    0x4E: "NONE",
    0x50: "PERSID",
    0x51: "BINPERSID",
    0x52: "REDUCE",
    0x53: "STRING",
    0x54: "BINSTRING",
    0x55: "SHORT_BINSTRING",
    0x56: "UNICODE",
    0x58: "BINUNICODE",
    0x61: "APPEND",
    0x62: "BUILD",
    0x63: "GLOBAL",
    0x64: "DICT",
    0x7D: "EMPTY_DICT",
    0x65: "APPENDS",
    0x67: "GET",
    0x68: "BINGET",
    0x69: "INST",
    0x6A: "LONG_BINGET",
    0x6C: "LIST",
    0x5D: "EMPTY_LIST",
    0x6F: "OBJ",
    0x70: "PUT",
    0x71: "BINPUT",
    0x72: "LONG_BINPUT",
    0x73: "SETITEM",
    0x74: "TUPLE",
    0x29: "EMPTY_TUPLE",
    0x75: "SETITEMS",
    0x47: "BINFLOAT",
    0x80: "PROTO",
    0x81: "NEWOBJ",
    0x82: "EXT1",
    0x83: "EXT2",
    0x84: "EXT4",
    0x85: "TUPLE1",
    0x86: "TUPLE2",
    0x87: "TUPLE3",
    0x88: "NEWTRUE",
    0x89: "NEWFALSE",
    0x8A: "LONG1",
    0x8B: "LONG4",
    0x42: "BINBYTES",
    0x43: "SHORT_BINBYTES",
    0x8C: "SHORT_BINUNICODE",
    0x8D: "BINUNICODE8",
    0x8E: "BINBYTES8",
    0x8F: "EMPTY_SET",
    0x90: "ADDITEMS",
    0x91: "FROZENSET",
    0x92: "NEWOBJ_EX",
    0x93: "STACK_GLOBAL",
    0x94: "MEMOIZE",
    0x95: "FRAME",
    0x96: "BYTEARRAY8",
    0x97: "NEXT_BUFFER",
    0x98: "READONLY_BUFFER",
}

# Fixed argument bytes per opcode (before any counted payload); decides "truncated" versus "malformed".
_ARGLEN: Final[list[int]] = [0] * 256
for _op, _n in {
    0x80: 1,
    0x95: 8,
    0x4A: 4,
    0x4B: 1,
    0x4D: 2,
    0x47: 8,
    0x8A: 1,
    0x8B: 4,
    0x54: 4,
    0x55: 1,
    0x42: 4,
    0x43: 1,
    0x8E: 8,
    0x58: 4,
    0x8C: 1,
    0x8D: 8,
    0x96: 8,
    0x68: 1,
    0x6A: 4,
    0x71: 1,
    0x72: 4,
    0x82: 1,
    0x83: 2,
    0x84: 4,
}.items():
    _ARGLEN[_op] = _n

INSTANTIATORS: Final = frozenset(
    {
        ("copyreg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("copyreg", "__newobj_ex__"),
        ("copy_reg", "_reconstructor"),
        ("copy_reg", "__newobj__"),
        ("copy_reg", "__newobj_ex__"),
    }
)
"""Callables that instantiate the class given as their first argument (so that class counts as called)."""

_HIGHEST_PROTOCOL: Final = 5
_PROTO_RE: Final = re.compile(rb"\x80[\x00-\x05]")
_TEXT_GLOBAL_RE: Final = re.compile(rb"[ci][A-Za-z_][A-Za-z0-9_.]{0,200}\n[A-Za-z_][A-Za-z0-9_.]{0,200}\n")


class _Sentinel:
    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return self.what


_OTHER: Final = _Sentinel("a non-string value")  # float, list, set, bytes, buffer: certainly not a str
_LONGSTR: Final = _Sentinel("a string too long to keep")
_PERSISTENT: Final = _Sentinel("an object returned by persistent_load")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep a hostile file from exhausting time or memory; hitting one is reported."""

    max_opcodes: int = 20_000_000
    max_memo: int = 1_000_000
    max_stack: int = 1_000_000  # items on the stack, all MARK levels together
    max_marks: int = 100_000  # MARK nesting depth
    max_bytes: int | None = None  # stream bytes (None: no limit)
    max_pickles: int = 10_000  # pickles one after another in one stream
    max_string: int = 256  # longer strings are skipped, except as below (never a plausible plain module or name)
    max_global_line: int = 1 << 16  # GLOBAL/INST text lines kept up to this size (dotted attribute walks)
    # Pushed strings longer than max_string but within max_global_line are still kept (STACK_GLOBAL may take
    # them as a long dotted walk through a known module), until this many such bytes were kept per stream.
    max_long_string_bytes: int = 16 << 20
    max_resync_bytes: int = 8 << 20  # trailing data searched for embedded pickles after a failure
    max_resync_candidates: int = 2_000
    max_resync_opcodes: int = 2_000_000


class GlobalRef:
    """One import by the pickle (``GLOBAL``, ``STACK_GLOBAL``, ``INST`` or an ``EXT`` code).

    ``module``/``name`` are None when they cannot be known without executing the pickle (``reason`` says why)
    or for an unregistered extension code (``ext_code``). ``calls`` counts the calls seen on it.
    """

    __slots__ = (
        "call_args",
        "call_offset",
        "call_opcode",
        "calls",
        "embedded",
        "ext_code",
        "module",
        "name",
        "offset",
        "opcode",
        "pickle",
        "reason",
    )

    def __init__(
        self,
        module: str | None,
        name: str | None,
        opcode: str,
        offset: int,
        pickle: int,
        *,
        reason: str | None = None,
        ext_code: int | None = None,
        embedded: bool = False,
    ) -> None:
        self.module = module
        self.name = name
        self.opcode = opcode
        self.offset = offset
        self.pickle = pickle
        self.reason = reason
        self.ext_code = ext_code
        self.embedded = embedded
        self.calls = 0
        self.call_opcode: str | None = None
        self.call_offset: int | None = None
        self.call_args: str | None = None

    @property
    def resolved(self) -> bool:
        return self.module is not None and self.name is not None

    @property
    def qualname(self) -> str:
        if self.module is not None and self.name is not None:
            return f"{self.module}.{self.name}"
        if self.ext_code is not None:
            return f"<extension code {self.ext_code}>"
        return "<unresolved>"

    def __repr__(self) -> str:
        called = f", called by {self.call_opcode}" if self.calls else ""
        return f"GlobalRef({self.qualname} via {self.opcode} at {self.offset}{called})"


class Call:
    """The result of calling ``func`` with ``args`` (the object a ``REDUCE``/``NEWOBJ``/... would create)."""

    __slots__ = ("args", "func", "offset", "opcode", "state")

    def __init__(self, func: object, args: object, opcode: str, offset: int) -> None:
        self.func = func
        self.args = args
        self.opcode = opcode
        self.offset = offset
        self.state: object = None

    def __repr__(self) -> str:
        return f"Call({_describe(self.func)})"


@dataclass(slots=True)
class Event:
    """Something other than an import: a failure, a limit, trailing data, a persistent ID, ...

    Kinds: ``empty``, ``truncated``, ``malformed``, ``limit``, ``trailing-data``, ``embedded-pickle``,
    ``unsupported-protocol``, ``persistent-id``, ``out-of-band-buffer``, ``global-mutation``,
    ``unsized-array``.
    """

    kind: str
    offset: int
    pickle: int
    message: str
    embedded: bool = False


@dataclass(slots=True)
class PickleInfo:
    index: int  # 1-based position among the pickles read one after another (embedded ones: 0)
    start: int
    end: int | None = None  # offset just after STOP; None when the pickle did not finish
    protocol: int | None = None
    opcodes: int = 0
    embedded: bool = False
    error: str | None = None


@dataclass(slots=True)
class ReadResult:
    """Everything the reader saw. ``failure`` is the first truncation/malformation/limit of the main stream."""

    pickles: list[PickleInfo] = field(default_factory=list)
    globals: list[GlobalRef] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    opcodes: int = 0
    end: int = 0  # offset just after the last byte consumed by a complete pickle
    persistent_ids: int = 0
    torch_persistent_ids: int = 0
    buffers: int = 0
    failure: Event | None = None

    @property
    def complete(self) -> int:
        """Pickles read to their STOP in the main stream."""
        return sum(1 for p in self.pickles if not p.embedded and p.end is not None)


# ---------------------------------------------------------------------------------- numbers in text opcodes
# The C unpickler (``pickle.load``, ``torch.load``, ``joblib.load``) is laxer than the pure-Python one whose
# rules this reader first copied: a line it accepts where the stricter one fails let the opcodes after it (a
# payload) go unread, the file being called malformed instead of malicious. Accepting a little more than C does
# is harmless here (the reader just goes on); accepting less is a bypass.

_STRTOL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|([1-9][0-9]*)|(0[0-7]*))")
_STRTOD = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.IGNORECASE)
_C_LONG_MAX = (1 << 63) - 1


def python_int(line: bytes, base: int) -> int | None:
    """``PyLong_FromString`` on the C string of ``line``: Python's int syntax on the text before the first NUL
    (what C code sees of the line). LONG, GET and PUT are read this way; None where it fails."""
    try:
        return int(line.split(b"\0", 1)[0], base)
    except ValueError:  # not a number, or more digits than int() accepts (C refuses those too)
        return None


def c_int(line: bytes) -> int | None:
    """The value ``load_int`` reads from an INT line, or None where it fails.

    It calls ``strtol(line, base 0)``, so ``010`` is octal and ``0x10`` hex, and takes the number when ``strtol``
    stops at the newline or at a NUL byte (what follows a NUL is never looked at; with no digits at all it stops at
    the line's first byte). Otherwise, or on overflow, it retries with :func:`python_int` in base 0.
    """
    match = _STRTOL.match(line)
    if match is None:
        if line[:1] == b"\0":
            return 0
    else:
        end = match.end()
        if end == len(line) or line[end] == 0:
            sign, hexadecimal, decimal, octal = match.groups()
            value = (int(hexadecimal, 16) if hexadecimal is not None else int(decimal) if decimal is not None
                     else int(octal, 8))
            value = -value if sign == b"-" else value
            if -_C_LONG_MAX - 1 <= value <= _C_LONG_MAX:
                return value
    return python_int(line, 0)


def c_float_ok(line: bytes) -> bool:
    """Whether ``load_float`` accepts a FLOAT line: a number prefix (``PyOS_string_to_double``) ending at the
    newline or a NUL byte."""
    match = _STRTOD.match(line)
    if match is not None and (match.end() == len(line) or line[match.end()] == 0):
        return True
    try:
        float(line)
    except ValueError:
        return False
    return True


class _Fail(Exception):
    def __init__(self, kind: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.offset = offset


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _describe(value: object, depth: int = 0) -> str:
    """A short human description of an emulated stack value (for messages)."""
    if type(value) is bytes:
        return repr(_text(value[:60]) + ("…" if len(value) > 60 else ""))
    if isinstance(value, GlobalRef):
        return value.qualname
    if isinstance(value, Call):
        return f"the result of calling {_describe(value.func, depth + 1)}" if depth < 3 else "the result of a call"
    if isinstance(value, _Sentinel):
        return value.what
    if value is None:
        return "None"
    if type(value) is int:
        return str(value)
    return {tuple: "a tuple", dict: "a dict", bool: "a bool"}.get(type(value), "a value")


def _summarise_args(args: object) -> str:
    if not isinstance(args, tuple):
        return f"({_describe(args)})"
    shown = [_describe(a) for a in args[:4]]
    if len(args) > 4:
        shown.append("…")
    return "(" + ", ".join(shown) + ")"


class _Reader:
    def __init__(
        self,
        stream: BinaryIO,
        limits: Limits,
        extensions: Mapping[int, tuple[str, str]],
        result: ReadResult,
        *,
        base: int = 0,
        embedded: bool = False,
    ) -> None:
        self.stream = stream
        self.limits = limits
        self.extensions = dict(extensions)  # add_extension calls in the pickle extend it
        self.result = result
        self.embedded = embedded
        self.buf = b""
        self.pos = 0
        self.base = base  # stream offset of buf[0]
        self.eof = False
        try:
            self.seekable = bool(stream.seekable())
        except Exception:
            self.seekable = False
        self.frame_end = -1
        self.long_budget = limits.max_long_string_bytes  # bytes left for strings kept beyond max_string
        self.pickle = 0
        self.protocol: int | None = None
        self.joblib = True

    # ------------------------------------------------------------------ stream access (slow paths)

    def _read(self, n: int) -> bytes:
        if self.limits.max_bytes is not None and self.base + len(self.buf) >= self.limits.max_bytes:
            raise _Fail("limit", f"stopped after {self.limits.max_bytes} bytes (max_bytes)", self.base + len(self.buf))
        try:
            data = self.stream.read(n)
        except EOFError as exc:
            raise _Fail("truncated", f"the stream ended early ({exc})", self.base + len(self.buf)) from None
        except Exception as exc:
            raise _Fail(
                "malformed", f"could not read the stream ({type(exc).__name__}: {exc})", self.base + len(self.buf)
            ) from None
        return data or b""

    def _frame_runs_past_the_data(self) -> bool:
        """pickle.load reads a FRAME's declared bytes before running any of them, so a frame that claims more
        than the data holds is a truncated pickle, not a clean one. Only crafted files get here: the framer
        ends the last frame at STOP. Unseekable streams cannot tell without reading everything: not flagged."""
        if self.frame_end <= self.base + len(self.buf):
            return False
        if self.eof:
            return True
        if not self.seekable:
            return False
        try:
            here = self.stream.tell()
            end = self.stream.seek(0, 2)
            self.stream.seek(here)
        except Exception:
            return False
        return bool(end < self.frame_end)

    def _fill(self, need: int) -> None:
        """Make ``buf[pos:]`` hold at least ``need`` bytes, or everything left when the stream ends."""
        rest = self.buf[self.pos :]
        self.base += self.pos
        self.pos = 0
        chunks = [rest]
        have = len(rest)
        while have < need and not self.eof:
            data = self._read(max(_CHUNK, need - have))
            if not data:
                self.eof = True
                break
            chunks.append(data)
            have += len(data)
        self.buf = b"".join(chunks) if len(chunks) > 1 else rest

    def _take(self, n: int, offset: int) -> bytes:
        """The next ``n`` bytes (n is small: at most ``max_global_line``)."""
        if len(self.buf) - self.pos < n:
            self._fill(n)
            if len(self.buf) - self.pos < n:
                raise _Fail("truncated", f"the data ends inside the argument of the opcode at byte {offset}", offset)
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data

    def _skip(self, n: int, offset: int) -> None:
        """Move past ``n`` payload bytes without keeping them."""
        avail = len(self.buf) - self.pos
        if n <= avail:
            self.pos += n
            return
        n -= avail
        self.base += len(self.buf)
        self.buf = b""
        self.pos = 0
        limit = self.limits.max_bytes
        if limit is not None and self.base + n > limit:
            raise _Fail("limit", f"a payload at byte {offset} reaches past {limit} bytes (max_bytes)", offset)
        if self.seekable and n > _CHUNK:
            try:
                self.stream.seek(n - 1, io.SEEK_CUR)
                last = self.stream.read(1)
            except Exception as exc:  # EOFError from compressed streams, OverflowError for absurd lengths, ...
                raise _Fail(
                    "truncated",
                    f"could not move past the {n + avail}-byte payload of the opcode at byte {offset} "
                    f"({type(exc).__name__}: {exc})",
                    offset,
                ) from None
            if not last:
                self.eof = True
                raise _Fail(
                    "truncated",
                    f"the data ends inside the {n + avail}-byte payload of the opcode at byte {offset}",
                    offset,
                )
            self.base += n
            return
        while n > 0:
            data = self._read(min(n, _SKIP_CHUNK))
            if not data:
                self.eof = True
                raise _Fail("truncated", f"the data ends inside the payload of the opcode at byte {offset}", offset)
            n -= len(data)
            self.base += len(data)

    def _line(self, offset: int, keep: int) -> bytes | None:
        """The next line without its newline, or None when it is longer than ``keep`` (then skipped)."""
        nl = self.buf.find(b"\n", self.pos)
        if nl >= 0 and nl - self.pos <= keep:
            line = self.buf[self.pos : nl]
            self.pos = nl + 1
            return line
        kept: list[bytes] = []
        size = 0
        while True:
            nl = self.buf.find(b"\n", self.pos)
            end = nl if nl >= 0 else len(self.buf)
            if size <= keep:
                kept.append(self.buf[self.pos : end])
            size += end - self.pos
            if nl >= 0:
                self.pos = nl + 1
                break
            self.pos = end
            if self.eof:
                raise _Fail(
                    "truncated", f"the data ends inside the text argument of the opcode at byte {offset}", offset
                )
            self._fill(1)
            if self.pos >= len(self.buf):
                raise _Fail(
                    "truncated", f"the data ends inside the text argument of the opcode at byte {offset}", offset
                )
        return b"".join(kept) if size <= keep else None

    def at_eof(self) -> bool:
        if self.pos < len(self.buf):
            return False
        if not self.eof:
            self._fill(1)
        return self.pos >= len(self.buf)

    @property
    def offset(self) -> int:
        return self.base + self.pos

    # ------------------------------------------------------------------ helpers used by the loop

    def _global(self, module: bytes | None, name: bytes | None, opcode: str, offset: int) -> GlobalRef:
        if module is None or name is None:
            what = "module" if module is None else "name"
            g = GlobalRef(
                None,
                None,
                opcode,
                offset,
                self.pickle,
                embedded=self.embedded,
                reason=f"its {what} is a line longer than {self.limits.max_global_line} bytes",
            )
            if module is not None:
                g.module = _text(module)  # the module alone is judged (e.g. posixpath + a very long walk)
        else:
            g = GlobalRef(_text(module), _text(name), opcode, offset, self.pickle, embedded=self.embedded)
        self.result.globals.append(g)
        return g

    def _stack_global(self, module: object, name: object, offset: int) -> GlobalRef:
        if type(module) is bytes and type(name) is bytes:
            return self._global(module, name, "STACK_GLOBAL", offset)
        for what, value in (("module", module), ("name", name)):
            if value is _OTHER or value is None or type(value) in (int, bool, tuple, dict):
                # The real unpickler refuses these ("STACK_GLOBAL requires str") and stops here.
                raise _Fail(
                    "malformed",
                    f"STACK_GLOBAL at byte {offset} needs two strings but its {what} is {_describe(value)}",
                    offset,
                )
        parts = []
        if type(module) is not bytes:
            parts.append(f"the module is {_describe(module)}")
        if type(name) is not bytes:
            parts.append(f"the name is {_describe(name)}")
        g = GlobalRef(
            None, None, "STACK_GLOBAL", offset, self.pickle, embedded=self.embedded, reason=" and ".join(parts)
        )
        if type(module) is bytes:
            g.module = _text(module)  # name unknown: the module alone may already be telling (e.g. os)
        elif type(name) is bytes:
            g.reason = f"{g.reason} (the name is {_text(name)!r})"
        self.result.globals.append(g)
        return g

    def _ext(self, code: int, opcode: str, offset: int) -> GlobalRef:
        if code <= 0:
            raise _Fail("malformed", f"{opcode} at byte {offset} uses extension code {code} (must be > 0)", offset)
        key = self.extensions.get(code)
        if key is not None:
            g = GlobalRef(key[0], key[1], opcode, offset, self.pickle, ext_code=code, embedded=self.embedded)
        else:
            g = GlobalRef(
                None,
                None,
                opcode,
                offset,
                self.pickle,
                ext_code=code,
                embedded=self.embedded,
                reason=f"extension code {code} is resolved through the loading process's "
                "copyreg extension registry, which the file does not show",
            )
        self.result.globals.append(g)
        return g

    def _called(self, func: object, args: object, opcode: str, offset: int) -> None:
        if isinstance(func, GlobalRef):
            func.calls += 1
            if func.calls == 1:
                func.call_opcode = opcode
                func.call_offset = offset
                func.call_args = _summarise_args(args)
            if (func.module, func.name) in INSTANTIATORS and isinstance(args, tuple) and args:
                first = args[0]
                if isinstance(first, GlobalRef):
                    self._called(first, (), f"{opcode} via {func.qualname}", offset)
            elif func.name == "add_extension" and func.module in ("copyreg", "copy_reg"):
                self._register_extension(args, offset)
        elif isinstance(func, Call):
            # Calling the result of a call: partial(f, ...)(), getattr(x, "y")(), ... whatever the factory got
            # as arguments may be what runs now.
            inner = func.args
            if isinstance(inner, tuple):
                for item in inner:
                    if isinstance(item, GlobalRef):
                        self._called(item, args, f"{opcode} of the result of {_describe(func.func)}", offset)

    def _register_extension(self, args: object, offset: int) -> None:
        """``copyreg.add_extension(module, name, code)`` inside the pickle: later EXT codes resolve to it."""
        if not isinstance(args, tuple) or len(args) != 3:
            return
        module, name, code = args
        if type(module) is bytes and type(name) is bytes and type(code) is int:
            key = (_text(module), _text(name))
            self.extensions[code] = key
            # The registered callable is as good as imported: the loader imports it when the code is used.
            self.result.globals.append(
                GlobalRef(key[0], key[1], "copyreg.add_extension", offset, self.pickle, embedded=self.embedded)
            )

    def _mutation(self, target: GlobalRef, opcode: str, offset: int) -> None:
        self.result.events.append(
            Event(
                "global-mutation",
                offset,
                self.pickle,
                f"{opcode} at byte {offset} modifies the imported object {target.qualname} itself "
                "(attribute or item overwrite)",
                self.embedded,
            )
        )

    def _persistent(self, pid: object, offset: int) -> None:
        res = self.result
        res.persistent_ids += 1
        if isinstance(pid, tuple) and pid and pid[0] in (b"storage", b"module"):
            res.torch_persistent_ids += 1  # PyTorch: ('storage', storage class, key, location, numel)
            return
        if res.persistent_ids - res.torch_persistent_ids == 1:
            res.events.append(
                Event(
                    "persistent-id",
                    offset,
                    self.pickle,
                    f"persistent ID {_describe(pid)} at byte {offset}: its meaning is decided by "
                    "the loader's persistent_load",
                    self.embedded,
                )
            )

    # ------------------------------------------------------------------ joblib

    def _joblib_array(self, state: object, offset: int) -> None:
        """joblib writes the array bytes (or a nested pickle for object arrays) right after the BUILD."""
        if self.frame_end > self.offset:
            raise _Fail("malformed", f"joblib array at byte {offset} starts inside an unfinished frame", offset)
        size = _joblib_size(state)
        if size is None:
            raise _Fail(
                "malformed",
                f"cannot work out the size of the joblib array built at byte {offset}, so "
                "the data after it cannot be located",
                offset,
            )
        nbytes, hasobject, aligned = size
        if hasobject:
            self._one(nested=True)  # joblib calls pickle.load here: a plain, separate pickle
            return
        self._probe_plain(min(nbytes + (256 if aligned else 0), _CHUNK))
        if aligned:
            pad = self._take(1, offset)[0]
            if pad:
                self._skip(pad, offset)
        if nbytes:
            self._skip(nbytes, offset)

    def _probe_plain(self, size: int) -> None:
        """Read the start of a joblib array region as opcodes, as ``pickle.load`` (not joblib.load) would.

        Array bytes that also parse as an importing pickle are a payload aimed at loaders that are not joblib.
        """
        if len(self.buf) - self.pos < size and not self.eof:
            self._fill(size)
        window = self.buf[self.pos : self.pos + size]
        start = self.base + self.pos
        found = ReadResult(opcodes=self.result.opcodes)
        probe = _Reader(io.BytesIO(window), self.limits, self.extensions, found, base=start, embedded=True)
        error = None
        try:
            probe._one(nested=True)
        except _Fail as fail:
            error = fail.message
        self.result.opcodes = found.opcodes
        if not found.globals:
            return
        res = self.result
        res.globals.extend(found.globals)
        res.events.extend(e for e in found.events if e.kind not in ("truncated", "malformed", "limit"))
        res.pickles.append(
            PickleInfo(index=0, start=start, end=None if error else probe.offset, embedded=True, error=error)
        )
        res.events.append(
            Event(
                "embedded-pickle",
                start,
                0,
                f"the bytes joblib reads as array data at byte {start} also parse as pickle opcodes that import "
                "something: pickle.load (rather than joblib.load) would run them",
                True,
            )
        )

    # ------------------------------------------------------------------ the opcode loop

    def _one(self, nested: bool = False) -> None:
        """Read one pickle up to and including its STOP."""
        joblib = self.joblib and not nested
        limits = self.limits
        res = self.result
        max_memo = limits.max_memo
        max_string = limits.max_string
        max_global_line = limits.max_global_line
        stack: list[object] = []
        metastack: list[list[object]] = []
        memo: dict[int, object] = {}
        append = stack.append
        buf = self.buf
        pos = self.pos
        base = self.base
        blen = len(buf)
        n = res.opcodes
        check_at = min(n + 4096, limits.max_opcodes)
        op = 0
        start = pos
        try:
            while True:
                if blen - pos < 10:
                    if not self.eof:
                        self.pos = pos
                        self._fill(10)
                        buf = self.buf
                        pos = self.pos
                        base = self.base
                        blen = len(buf)
                    if pos >= blen:
                        raise _Fail(
                            "truncated", f"the data ends at byte {base + pos} before the STOP opcode", base + pos
                        )
                start = pos
                op = buf[pos]
                pos += 1
                n += 1
                if n >= check_at:
                    res.opcodes = n
                    self._check(n, stack, metastack, base + start)
                    check_at = min(n + 4096, limits.max_opcodes)
                if op == 0x71:  # BINPUT
                    memo[buf[pos]] = stack[-1]
                    pos += 1
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                    if len(memo) > max_memo:
                        raise _Fail("limit", f"more than {max_memo} memo entries", base + start)
                elif op == 0x68:  # BINGET
                    append(memo[buf[pos]])
                    pos += 1
                elif op == 0x8C or op == 0x58 or op == 0x8D or op == 0x55 or op == 0x54:
                    # SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING: a str
                    if op == 0x8C or op == 0x55:
                        k = buf[pos]
                        pos += 1
                    elif op == 0x58:
                        k = _U4(buf, pos)[0]
                        pos += 4
                    elif op == 0x54:
                        k = _I4(buf, pos)[0]
                        pos += 4
                        if k < 0:
                            raise _Fail(
                                "malformed", f"BINSTRING at byte {base + start} has a negative length", base + start
                            )
                    else:
                        k = _U8(buf, pos)[0]
                        pos += 8
                    end = pos + k
                    if end <= blen and k <= max_string:
                        append(buf[pos:end])
                        pos = end
                    else:
                        self.pos = pos
                        if k <= max_string:
                            append(self._take(k, base + start))
                        elif k <= max_global_line and k <= self.long_budget:
                            # Kept: STACK_GLOBAL may use it as a long dotted name, which must be judged.
                            self.long_budget -= k
                            append(self._take(k, base + start))
                        else:
                            self._skip(k, base + start)
                            append(_LONGSTR)
                        buf = self.buf
                        pos = self.pos
                        base = self.base
                        blen = len(buf)
                elif op == 0x4B:  # BININT1
                    append(buf[pos])
                    pos += 1
                elif op == 0x28:  # MARK
                    metastack.append(stack)
                    stack = []
                    append = stack.append
                    if len(metastack) > limits.max_marks:
                        raise _Fail("limit", f"MARK nested more than {limits.max_marks} deep", base + start)
                elif op == 0x74:  # TUPLE
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    append(tuple(items))
                elif op == 0x85:  # TUPLE1
                    stack[-1] = (stack[-1],)
                elif op == 0x86:  # TUPLE2
                    b = stack.pop()
                    stack[-1] = (stack[-1], b)
                elif op == 0x87:  # TUPLE3
                    c = stack.pop()
                    b = stack.pop()
                    stack[-1] = (stack[-1], b, c)
                elif op == 0x52:  # REDUCE
                    args = stack.pop()
                    func = stack[-1]
                    self._called(func, args, "REDUCE", base + start)
                    stack[-1] = Call(func, args, "REDUCE", base + start)
                elif op == 0x7D:  # EMPTY_DICT
                    append({})
                elif op == 0x75 or op == 0x64:  # SETITEMS, DICT
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    if len(items) & 1:
                        raise _Fail(
                            "malformed",
                            f"{OPCODE_NAMES[op]} at byte {base + start} has an odd number of items",
                            base + start,
                        )
                    if op == 0x64:
                        target: object = {}
                        append(target)
                    else:
                        target = stack[-1]
                    if isinstance(target, dict):
                        for i in range(0, min(len(items), 2 * _DICT_KEEP), 2):
                            key = items[i]
                            if key.__class__ is bytes and len(target) < _DICT_KEEP:
                                target[key] = items[i + 1]
                    elif isinstance(target, GlobalRef):
                        self._mutation(target, OPCODE_NAMES[op], base + start)
                elif op == 0x73:  # SETITEM
                    value = stack.pop()
                    key = stack.pop()
                    target = stack[-1]
                    if isinstance(target, dict):
                        if key.__class__ is bytes and len(target) < _DICT_KEEP:
                            target[key] = value
                    elif isinstance(target, GlobalRef):
                        self._mutation(target, "SETITEM", base + start)
                elif op == 0x4E:  # NONE
                    append(None)
                elif op == 0x88:  # NEWTRUE
                    append(True)
                elif op == 0x89:  # NEWFALSE
                    append(False)
                elif op == 0x29:  # EMPTY_TUPLE
                    append(())
                elif op == 0x5D or op == 0x8F:  # EMPTY_LIST, EMPTY_SET
                    append(_OTHER)
                elif op == 0x4A:  # BININT
                    append(_I4(buf, pos)[0])
                    pos += 4
                elif op == 0x4D:  # BININT2
                    append(_U2(buf, pos)[0])
                    pos += 2
                elif op == 0x47:  # BINFLOAT
                    _U8(buf, pos)
                    pos += 8
                    append(_OTHER)
                elif op == 0x72:  # LONG_BINPUT
                    memo[_U4(buf, pos)[0]] = stack[-1]
                    pos += 4
                    if len(memo) > max_memo:
                        raise _Fail("limit", f"more than {max_memo} memo entries", base + start)
                elif op == 0x6A:  # LONG_BINGET
                    append(memo[_U4(buf, pos)[0]])
                    pos += 4
                elif op == 0x51:  # BINPERSID
                    self._persistent(stack.pop(), base + start)
                    append(_PERSISTENT)
                elif op == 0x65 or op == 0x90:  # APPENDS, ADDITEMS
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    target = stack[-1]
                    if isinstance(target, GlobalRef):
                        self._mutation(target, OPCODE_NAMES[op], base + start)
                elif op == 0x61:  # APPEND
                    stack.pop()
                    target = stack[-1]
                    if isinstance(target, GlobalRef):
                        self._mutation(target, "APPEND", base + start)
                elif op == 0x93:  # STACK_GLOBAL
                    name = stack.pop()
                    module = stack.pop()
                    append(self._stack_global(module, name, base + start))
                elif op == 0x63 or op == 0x69:  # GLOBAL, INST
                    offset = base + start
                    self.pos = pos
                    raw_module = self._line(offset, max_global_line)
                    raw_name = self._line(offset, max_global_line)
                    buf = self.buf
                    pos = self.pos
                    base = self.base
                    blen = len(buf)
                    if op == 0x63:
                        append(self._global(raw_module, raw_name, "GLOBAL", offset))
                    else:
                        g = self._global(raw_module, raw_name, "INST", offset)
                        args = tuple(stack)
                        stack = metastack.pop()
                        append = stack.append
                        self._called(g, args, "INST", offset)
                        append(Call(g, args, "INST", offset))
                elif op == 0x62:  # BUILD
                    state = stack.pop()
                    inst = stack[-1]
                    if isinstance(inst, Call):
                        inst.state = state
                        if joblib and _is_numpy_wrapper(inst):
                            self.pos = pos
                            res.opcodes = n
                            self._joblib_array(state, base + start)
                            n = res.opcodes
                            buf = self.buf
                            pos = self.pos
                            base = self.base
                            blen = len(buf)
                            stack[-1] = _OTHER
                    elif isinstance(inst, GlobalRef):
                        self._called(inst, (state,), "BUILD", base + start)
                        self._mutation(inst, "BUILD", base + start)
                elif op == 0x81:  # NEWOBJ
                    args = stack.pop()
                    cls = stack.pop()
                    self._called(cls, args, "NEWOBJ", base + start)
                    append(Call(cls, args, "NEWOBJ", base + start))
                elif op == 0x92:  # NEWOBJ_EX
                    stack.pop()  # kwargs
                    args = stack.pop()
                    cls = stack.pop()
                    self._called(cls, args, "NEWOBJ_EX", base + start)
                    append(Call(cls, args, "NEWOBJ_EX", base + start))
                elif op == 0x6F:  # OBJ
                    items = stack
                    stack = metastack.pop()
                    append = stack.append
                    cls = items[0]
                    args = tuple(items[1:])
                    self._called(cls, args, "OBJ", base + start)
                    append(Call(cls, args, "OBJ", base + start))
                elif op == 0x2E:  # STOP
                    stack.pop()
                    self.pos = pos
                    res.opcodes = n
                    if self.frame_end > base + pos and self._frame_runs_past_the_data():
                        raise _Fail("truncated", f"the FRAME before byte {base + start} declares bytes up to "
                                    f"{self.frame_end}, past the end of the data (pickle.load refuses it)",
                                    base + start)
                    return
                elif op == 0x95:  # FRAME
                    size = _U8(buf, pos)[0]
                    pos += 8
                    self.frame_end = base + pos + size
                elif op == 0x80:  # PROTO
                    proto = buf[pos]
                    pos += 1
                    self.protocol = proto
                    if proto > _HIGHEST_PROTOCOL:
                        res.events.append(
                            Event(
                                "unsupported-protocol",
                                base + start,
                                self.pickle,
                                f"declares pickle protocol {proto} at byte {base + start}; "
                                f"Python knows 0-{_HIGHEST_PROTOCOL}",
                                self.embedded,
                            )
                        )
                elif op == 0x42 or op == 0x43 or op == 0x8E or op == 0x96:
                    # BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8: skipped, never kept
                    if op == 0x43:
                        k = buf[pos]
                        pos += 1
                    elif op == 0x42:
                        k = _U4(buf, pos)[0]
                        pos += 4
                    else:
                        k = _U8(buf, pos)[0]
                        pos += 8
                    if pos + k <= blen:
                        pos += k
                    else:
                        self.pos = pos
                        self._skip(k, base + start)
                        buf = self.buf
                        pos = self.pos
                        base = self.base
                        blen = len(buf)
                    append(_OTHER)
                elif op == 0x8A or op == 0x8B:  # LONG1, LONG4
                    if op == 0x8A:
                        k = buf[pos]
                        pos += 1
                    else:
                        k = _I4(buf, pos)[0]
                        pos += 4
                        if k < 0:
                            raise _Fail(
                                "malformed", f"LONG4 at byte {base + start} has a negative length", base + start
                            )
                    if pos + k <= blen and k <= 16:
                        append(int.from_bytes(buf[pos : pos + k], "little", signed=True))
                        pos += k
                    else:
                        self.pos = pos
                        self._skip(k, base + start)
                        buf = self.buf
                        pos = self.pos
                        base = self.base
                        blen = len(buf)
                        append(_OTHER)
                elif op == 0x32:  # DUP
                    append(stack[-1])
                elif op == 0x30:  # POP (with an empty stack it discards the MARK, as pickle does)
                    if stack:
                        stack.pop()
                    else:
                        stack = metastack.pop()
                        append = stack.append
                elif op == 0x31:  # POP_MARK
                    stack = metastack.pop()
                    append = stack.append
                elif op == 0x6C or op == 0x91:  # LIST, FROZENSET
                    stack = metastack.pop()
                    append = stack.append
                    append(_OTHER)
                elif op == 0x82 or op == 0x83 or op == 0x84:  # EXT1, EXT2, EXT4
                    if op == 0x82:
                        code = buf[pos]
                        pos += 1
                    elif op == 0x83:
                        code = _U2(buf, pos)[0]
                        pos += 2
                    else:
                        code = _I4(buf, pos)[0]
                        pos += 4
                    append(self._ext(code, OPCODE_NAMES[op], base + start))
                elif op == 0x50:  # PERSID
                    self.pos = pos
                    pid = self._line(base + start, max_string)
                    buf = self.buf
                    pos = self.pos
                    base = self.base
                    blen = len(buf)
                    self._persistent(pid if pid is not None else _LONGSTR, base + start)
                    append(_PERSISTENT)
                elif op == 0x97:  # NEXT_BUFFER
                    res.buffers += 1
                    if res.buffers == 1:
                        res.events.append(
                            Event(
                                "out-of-band-buffer",
                                base + start,
                                self.pickle,
                                f"NEXT_BUFFER at byte {base + start}: the data comes from buffers "
                                "the loader passes in (protocol 5 out-of-band data)",
                                self.embedded,
                            )
                        )
                    append(_OTHER)
                elif op == 0x98:  # READONLY_BUFFER
                    if not stack:
                        raise IndexError("READONLY_BUFFER needs a value")
                else:
                    # Text opcodes of protocol 0 (rare) and unknown bytes.
                    if op not in OPCODE_NAMES:
                        raise _Fail(
                            "malformed",
                            f"byte {base + start} holds 0x{op:02x}, which is not a pickle opcode",
                            base + start,
                        )
                    self.pos = pos
                    self._text_opcode(op, base + start, stack, memo)
                    buf = self.buf
                    pos = self.pos
                    base = self.base
                    blen = len(buf)
        except (IndexError, struct_error, KeyError) as exc:
            self.pos = pos
            res.opcodes = n
            offset = base + start
            if self.eof and start + 1 + _ARGLEN[op] > blen:
                raise _Fail(
                    "truncated",
                    f"the data ends inside the {OPCODE_NAMES.get(op, hex(op))} opcode at byte {offset}",
                    offset,
                ) from None
            if isinstance(exc, KeyError):
                raise _Fail(
                    "malformed",
                    f"{OPCODE_NAMES.get(op, hex(op))} at byte {offset} fetches memo entry "
                    f"{exc.args[0] if exc.args else '?'}, which was never stored",
                    offset,
                ) from None
            raise _Fail(
                "malformed",
                f"{OPCODE_NAMES.get(op, hex(op))} at byte {offset} finds too few items on the stack (or no MARK)",
                offset,
            ) from None
        except _Fail:
            res.opcodes = n
            raise

    def _text_opcode(self, op: int, offset: int, stack: list[object], memo: dict[int, object]) -> None:
        """INT, LONG, FLOAT, STRING, UNICODE, GET, PUT: the line-based opcodes of protocol 0."""
        keep = self.limits.max_string
        long_keep = min(self.limits.max_global_line, self.long_budget)  # see max_long_string_bytes
        line = self._line(offset, max(keep, 64) if op != 0x53 and op != 0x56 else max(keep, long_keep) * 4 + 2)
        name = OPCODE_NAMES[op]
        if op == 0x67 or op == 0x70:  # GET, PUT
            if line is None:
                raise _Fail("malformed", f"{name} at byte {offset} has an over-long memo key", offset)
            key = python_int(line, 10)  # load_get / load_put: PyLong_FromString(s, NULL, 10)
            if key is None:
                raise _Fail("malformed", f"{name} at byte {offset} has a memo key that is not a number", offset)
            if op == 0x67:
                if key not in memo:
                    raise _Fail(
                        "malformed", f"GET at byte {offset} fetches memo entry {key}, which was never stored", offset
                    )
                stack.append(memo[key])
            else:
                if key < 0:
                    raise _Fail("malformed", f"PUT at byte {offset} has a negative memo key", offset)
                memo[key] = stack[-1]
                if len(memo) > self.limits.max_memo:
                    raise _Fail("limit", f"more than {self.limits.max_memo} memo entries", offset)
            return
        if line is None:
            stack.append(_LONGSTR if op in (0x53, 0x56) else _OTHER)
            return
        if op == 0x49 or op == 0x4C:  # INT, LONG
            number = c_int(line) if op == 0x49 else python_int(line[:-1] if line.endswith(b"L") else line, 0)
            if number is None:
                raise _Fail("malformed", f"{name} at byte {offset} is not a number", offset)
            value: object = number == 1 if op == 0x49 and len(line) == 2 and number in (0, 1) else number
            stack.append(value)
        elif op == 0x46:  # FLOAT
            if not c_float_ok(line):
                raise _Fail("malformed", f"FLOAT at byte {offset} is not a number", offset)
            stack.append(_OTHER)
        elif op == 0x53:  # STRING
            if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b"'", b'"'):
                raise _Fail("malformed", f"STRING at byte {offset} is not quoted", offset)
            try:
                decoded = codecs.escape_decode(line[1:-1])[0]
            except Exception:
                raise _Fail("malformed", f"STRING at byte {offset} has a bad escape", offset) from None
            stack.append(self._kept(decoded))
        elif op == 0x56:  # UNICODE
            try:
                text_value = str(line, "raw-unicode-escape")
            except UnicodeDecodeError:
                raise _Fail("malformed", f"UNICODE at byte {offset} has a bad escape", offset) from None
            encoded = text_value.encode("utf-8", "surrogatepass")
            stack.append(self._kept(encoded))

    def _kept(self, value: bytes) -> object:
        """``value`` as a stack string, or _LONGSTR when it is too long (or the long-string budget is spent)."""
        k = len(value)
        if k <= self.limits.max_string:
            return value
        if k <= self.limits.max_global_line and k <= self.long_budget:
            self.long_budget -= k
            return value
        return _LONGSTR

    def _check(self, n: int, stack: list[object], metastack: list[list[object]], offset: int) -> None:
        limits = self.limits
        if n >= limits.max_opcodes:
            raise _Fail("limit", f"stopped after {limits.max_opcodes} opcodes (max_opcodes)", offset)
        depth = len(stack) + sum(len(s) for s in metastack)
        if depth > limits.max_stack:
            raise _Fail("limit", f"more than {limits.max_stack} items on the stack (max_stack)", offset)


def _is_numpy_wrapper(call: Call) -> bool:
    func = call.func
    if not isinstance(func, GlobalRef):
        return False
    args = call.args
    if (func.module, func.name) in INSTANTIATORS and isinstance(args, tuple) and args:
        func = args[0]
        if not isinstance(func, GlobalRef):
            return False
    return func.name == "NumpyArrayWrapper" and (func.module or "").endswith("numpy_pickle")


# numpy's pickled typestr: byte order, kind, size in bytes (characters for U), an optional datetime unit
_TYPESTR = re.compile(r"[<>|=]?([?bBiufcmMOSUVa])(\d*)(?:\[\w+\])?")


def _dtype_info(dtype: object) -> tuple[int, bool] | None:
    """(itemsize, has Python objects) of a pickled ``numpy.dtype(...)`` call and its BUILD state, or None."""
    if not isinstance(dtype, Call):
        return None
    args = dtype.args
    if not isinstance(args, tuple) or not args or type(args[0]) is not bytes:
        return None
    typestr = args[0].decode("ascii", "replace")
    state = dtype.state
    elsize = -1
    flags: int | None = None
    if isinstance(state, tuple):  # (version, byteorder, subarray, names, fields, elsize, alignment, flags, ...)
        if len(state) > 5 and type(state[5]) is int:
            elsize = state[5]
        if len(state) > 7 and type(state[7]) is int:
            flags = state[7]
    match = _TYPESTR.fullmatch(typestr)
    if match is None:
        return None  # "float64" counts bits, "f" is platform-sized: only numpy's own kind+bytes form is sized here
    kind, digits = match.groups()
    if kind == "O":
        return 8, True
    hasobject = bool(flags & 1) if flags is not None else False  # NPY_ITEM_HASOBJECT
    if kind in "SUVa":  # flexible: numpy takes the size from the state when it has one
        if elsize > 0:
            return elsize, hasobject
        return (int(digits) * (4 if kind == "U" else 1), hasobject) if digits else None
    # fixed-size kinds: numpy ignores an elsize in the state, so a lying one must not move the array's end
    return (int(digits), hasobject) if digits else None


def _joblib_size(state: object) -> tuple[int, bool, bool] | None:
    """(bytes of array data, is an object array, has an alignment byte) from a NumpyArrayWrapper state."""
    if not isinstance(state, dict):
        return None
    shape = state.get(b"shape")
    if not isinstance(shape, tuple):
        return None
    count = 1
    for dim in shape:
        if type(dim) is not int or dim < 0:
            return None
        count *= dim
    info = _dtype_info(state.get(b"dtype"))
    if info is None:
        return None
    itemsize, hasobject = info
    align = state.get(b"numpy_array_alignment_bytes")
    return count * itemsize, hasobject, type(align) is int


def read_pickles(
    stream: BinaryIO,
    *,
    limits: Limits | None = None,
    max_pickles: int | None = None,
    extensions: Mapping[int, tuple[str, str]] | None = None,
    joblib: bool = True,
) -> ReadResult:
    """Read every pickle in ``stream`` (one after another) without executing anything; never raises for content.

    ``max_pickles`` stops after that many complete pickles without looking at what follows (PyTorch's legacy
    format puts raw storage bytes after its pickles; ``ReadResult.end`` says where they stopped).
    ``extensions`` maps copyreg extension codes to ``(module, name)`` when the loading process's registry is
    known (it is empty in a plain Python process; ``copyreg.add_extension`` calls inside the pickle are
    followed). ``joblib`` (on by default) follows joblib's layout: the array bytes (or, for object arrays, a
    separate pickle) that ``joblib.dump`` writes right after each ``NumpyArrayWrapper``'s BUILD are skipped (or
    read as that nested pickle), as ``joblib.load`` does; only joblib can load such a file, and the start of
    each skipped region is also read as opcodes in case a plain ``pickle.load`` is the target. Offsets count
    from the start of the stream (its ``tell()`` when it can tell).
    """
    limits = limits or Limits()
    result = ReadResult()
    try:
        base = int(stream.tell())
    except Exception:
        base = 0
    reader = _Reader(stream, limits, extensions or {}, result, base=base)
    reader.joblib = joblib
    result.end = base
    try:
        _read_main(reader, result, max_pickles)
    except _Fail as fail:  # from at_eof() when reading the stream fails
        result.failure = result.failure or Event(fail.kind, fail.offset, reader.pickle, fail.message)
        result.events.append(result.failure)
    return result


def _read_main(reader: _Reader, result: ReadResult, max_pickles: int | None) -> None:
    limits = reader.limits
    if reader.at_eof():
        result.failure = Event("empty", reader.offset, 0, "the stream is empty: there is no pickle in it")
        result.events.append(result.failure)
        return
    while True:
        if max_pickles is not None and reader.pickle >= max_pickles:
            return
        if reader.pickle >= limits.max_pickles:
            result.failure = Event(
                "limit",
                reader.offset,
                reader.pickle,
                f"stopped after {limits.max_pickles} pickles (max_pickles); more data follows",
            )
            result.events.append(result.failure)
            return
        reader.pickle += 1
        reader.protocol = None
        reader.frame_end = -1
        start = reader.offset
        info = PickleInfo(index=reader.pickle, start=start)
        result.pickles.append(info)
        before = result.opcodes
        try:
            reader._one()
        except _Fail as fail:
            info.protocol = reader.protocol
            info.opcodes = result.opcodes - before
            info.error = fail.message
            if fail.kind == "limit" or info.index == 1:
                result.failure = Event(fail.kind, fail.offset, info.index, fail.message)
                result.events.append(result.failure)
            else:
                result.events.append(
                    Event(
                        "trailing-data",
                        start,
                        info.index,
                        f"the data from byte {start} on is not a complete pickle: {fail.message}",
                    )
                )
            if fail.kind != "limit":
                _resync(reader, result, start + 1)
            return
        info.end = reader.offset
        info.protocol = reader.protocol
        info.opcodes = result.opcodes - before
        result.end = info.end
        if reader.at_eof():
            return


def _resync(reader: _Reader, result: ReadResult, start: int) -> None:
    """Look for pickles embedded after junk or inside a broken pickle (a custom loader may seek to them).

    Candidates are protocol markers (``\\x80`` + version) and protocol-0 ``GLOBAL``/``INST`` text. Only
    candidates that import something not already seen at the same offset are kept.
    """
    limits = reader.limits
    window = _window(reader, start, limits.max_resync_bytes)
    if not window:
        return
    # The search gets its own opcode budget on top of what was read so far.
    limits = replace(limits, max_opcodes=min(limits.max_opcodes, result.opcodes + limits.max_resync_opcodes))
    known = {g.offset for g in result.globals}
    candidates = sorted(
        {m.start() for m in _PROTO_RE.finditer(window)} | {m.start() for m in _TEXT_GLOBAL_RE.finditer(window)}
    )
    budget = limits.max_resync_candidates
    covered_until = -1
    for pos in candidates:
        if pos < covered_until or start + pos in known:
            continue
        if budget <= 0 or result.opcodes >= limits.max_opcodes:
            result.events.append(
                Event(
                    "resync-limit",
                    start + pos,
                    0,
                    "stopped looking for embedded pickles in the data after the failure "
                    f"(checked {limits.max_resync_candidates} candidates)",
                )
            )
            return
        budget -= 1
        found = ReadResult(opcodes=result.opcodes)
        before = found.opcodes
        view = io.BytesIO(window)  # shares the window's buffer: no copy per candidate
        view.seek(pos)
        sub = _Reader(view, limits, reader.extensions, found, base=start + pos, embedded=True)
        error = None
        try:
            sub._one()
        except _Fail as fail:
            error = fail.message
        result.opcodes = found.opcodes
        new = [g for g in found.globals if g.offset not in known]
        if not new:
            continue
        known.update(g.offset for g in new)
        end = sub.offset if error is None else None
        result.pickles.append(
            PickleInfo(
                index=0,
                start=start + pos,
                end=end,
                protocol=sub.protocol,
                opcodes=found.opcodes - before,
                embedded=True,
                error=error,
            )
        )
        result.globals.extend(new)
        result.events.extend(e for e in found.events if e.kind not in ("truncated", "malformed", "limit"))
        result.events.append(
            Event(
                "embedded-pickle",
                start + pos,
                0,
                f"a pickle starts at byte {start + pos}, inside or after data that is not a "
                "complete pickle" + ("" if error is None else f" (it breaks off: {error})"),
                True,
            )
        )
        if end is not None:
            covered_until = end - start


def _window(reader: _Reader, start: int, size: int) -> bytes:
    """Up to ``size`` bytes of the stream from ``start`` (which is at or before the reader's position)."""
    if start < reader.base:
        if not reader.seekable:
            return b""
        try:
            reader.stream.seek(start)
            return reader.stream.read(size) or b""
        except Exception:
            return b""
    data = reader.buf[start - reader.base :]
    if len(data) < size and not reader.eof:
        try:
            more = reader.stream.read(size - len(data)) or b""
        except Exception:
            more = b""
        data += more
    return data[:size]

"""What a file is, decided by its content (magic bytes and structure), never by its name.

``sniff`` sees only the first bytes of a file or member (``Limits.head_bytes``); for a zip it guesses from the
local headers it can see, and :func:`refine_zip` decides from the full list of member names once the central
directory has been read.
"""

from __future__ import annotations

import io
import json
import lzma
import re
import zlib
from collections.abc import Iterable

from clearsight.controls.artifacts.scanners.pickles import PickleFormatError, iter_ops
from clearsight.controls.artifacts.scanners.protobuf_wire import LEN, VARINT, WireSource, iter_fields, probe_message

UNKNOWN = "unknown"
LZ4_FRAME_MAGIC = b'\x04"M\x18'
JOBLIB_ZF_HEADER = 21  # b"ZF" + the hex length of the data, left-justified to 19 characters (one more in old files)
_HEX_LENGTH = re.compile(rb"^\s*(0[xX])?[0-9a-fA-F]+\s*$")
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# Formats, and the extensions that claim one. ``None``: the extension is generic (many formats are normal).
MODEL_EXTENSIONS: dict[str, frozenset[str] | None] = {
    ".pt": None,
    ".pth": None,
    ".bin": None,
    ".ckpt": None,
    ".pkl": None,
    ".pickle": None,
    ".joblib": None,
    ".npy": frozenset({"numpy"}),
    ".npz": frozenset({"npz", "zip"}),
    ".h5": frozenset({"hdf5"}),
    ".hdf5": frozenset({"hdf5"}),
    ".keras": frozenset({"keras", "zip"}),
    ".onnx": frozenset({"onnx"}),
    ".safetensors": frozenset({"safetensors"}),
    ".gguf": frozenset({"gguf"}),
    ".pb": frozenset({"savedmodel", "tf-graphdef"}),
}

# Openers a protocol 0/1 pickle plausibly starts with (and that text rarely does in a way that parses).
_TEXT_PICKLE_STARTS = frozenset(b"(c]})ILFSVNKJMXUTGldiPhqg\x88\x89\x8c\x95")
_IDENT = re.compile(r"^[A-Za-z_][\w.]*$")

_ONNX_FIELDS = {
    1: VARINT,
    2: LEN,
    3: LEN,
    4: LEN,
    5: VARINT,
    6: LEN,
    7: LEN,
    8: LEN,
    14: LEN,
    20: LEN,
    25: LEN,
    26: LEN,
}
_SAVED_MODEL_FIELDS = {1: VARINT, 2: LEN}
_META_GRAPH_FIELDS = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: LEN}
_GRAPH_DEF_FIELDS = {1: LEN, 2: LEN, 3: VARINT, 4: LEN, 5: LEN}
_NODE_DEF_FIELDS = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: LEN}


def sniff(head: bytes, *, name: str = "") -> str:
    """The format of a file or member whose first bytes are ``head`` (``name`` is only a tie-breaker)."""
    if not head:
        return UNKNOWN
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return refine_zip(_local_names(head), partial=True)
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and len(head) >= 4 and head[3:4] in b"123456789":
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"ZF") and _is_joblib_zf(head):
        return "joblib-zf"
    if head.startswith(LZ4_FRAME_MAGIC):
        return "lz4"
    if head[0] == 0x80 and len(head) > 1 and head[1] <= 5:
        # PROTO 0 and 1 are accepted by pickle.load like any other protocol number up to the highest one.
        return _pickle_kind(head) or UNKNOWN
    if _is_safetensors(head):
        return "safetensors"
    if _is_zlib(head):
        return "zlib"
    if _is_lzma_alone(head):
        return "lzma"
    if head[0] in _TEXT_PICKLE_STARTS:
        kind = _pickle_kind(head)
        if kind:
            return kind
    proto = _protobuf_kind(head)
    if proto:
        return proto
    return UNKNOWN


# ------------------------------------------------------------------------------------------------------- zip


def _local_names(head: bytes) -> list[str]:
    """Member names from the local file headers visible in ``head``."""
    names: list[str] = []
    pos = 0
    while head.startswith(b"PK\x03\x04", pos) and pos + 30 <= len(head):
        flags = int.from_bytes(head[pos + 6 : pos + 8], "little")
        csize = int.from_bytes(head[pos + 18 : pos + 22], "little")
        nlen = int.from_bytes(head[pos + 26 : pos + 28], "little")
        xlen = int.from_bytes(head[pos + 28 : pos + 30], "little")
        names.append(head[pos + 30 : pos + 30 + nlen].decode("utf-8", errors="replace"))
        if flags & 0x8 or csize == 0xFFFFFFFF:
            break
        pos += 30 + nlen + xlen + csize
    return names


def refine_zip(names: Iterable[str], *, partial: bool = False) -> str:
    """Which kind of zip: ``torch-zip``, ``keras``, ``npz`` or a plain ``zip``, from its member names."""
    listed = [n for n in names if not n.endswith("/")]
    lowered = [n.lower() for n in listed]  # torch.load matches member names case-insensitively
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in lowered) and (
        partial or any(n.endswith("/version") or n == "version" for n in lowered)
    ):
        return "torch-zip"
    roots = {n for n in listed if "/" not in n}
    if "config.json" in roots and (partial or roots & {"model.weights.h5", "model.weights.npz", "metadata.json"}):
        return "keras"
    if listed and all(n.endswith(".npy") for n in listed):
        return "npz"
    return "zip"


# ---------------------------------------------------------------------------------------------------- pickle


_BINARY_BUDGET = 24


def _pickle_kind(head: bytes) -> str | None:
    """``pickle``, ``joblib`` or ``torch-legacy`` when ``head`` is the start of a pickle stream, else None."""
    stream = io.BytesIO(head)
    ops: list[tuple[str, object]] = []
    depth = 0
    # A binary-protocol header is already strong evidence; a few opcodes confirm it (and are enough to see the
    # legacy-torch magic number, which is the first pickle). Text protocols need the longer look.
    budget = _BINARY_BUDGET if len(head) > 1 and head[0] == 0x80 and head[1] <= 5 else 256
    try:
        for op_name, arg, _pos in iter_ops(stream, max_arg=1 << 16):
            ops.append((op_name, arg))
            if op_name in ("GLOBAL", "INST") and (
                not isinstance(arg, str) or not all(_IDENT.match(p) for p in arg.split(" ", 1)) or " " not in arg
            ):
                return None
            depth = _stack_step(op_name, depth)
            if depth < 0:
                return None
            if len(ops) >= budget:
                break
        complete = True
        truncated = False
    except PickleFormatError as exc:
        complete = False
        truncated = exc.truncated
    if not ops:
        return None
    if not complete:
        # Binary protocols: PROTO and a few valid opcodes are enough (joblib writes raw array bytes inside the
        # opcode stream, and a broken pickle is still a pickle to report). Text protocols: a valid prefix cut by
        # the end of the head is fine; a few opcodes that then fail is text.
        truncated_by_head = stream.tell() >= len(head) - 1 or len(ops) >= budget
        if head[0] == 0x80:
            if len(ops) < 3 and not truncated:
                return None
        elif len(ops) < 4 or not truncated_by_head:
            return None
    if head[0] != 0x80 and not complete and len(ops) < 8:
        return None
    if _is_torch_legacy(ops):
        return "torch-legacy"
    if b"NumpyArrayWrapper" in head or b"joblib.numpy_pickle" in head:
        return "joblib"
    return "pickle"


# Stack effect of each opcode on the number of items (marks count as items); None = not tracked.
_PUSH1 = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "NONE", "NEWTRUE", "NEWFALSE", "UNICODE",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT", "EMPTY_LIST", "EMPTY_TUPLE",
    "EMPTY_DICT", "EMPTY_SET", "MARK", "DUP", "GET", "BINGET", "LONG_BINGET", "EXT1", "EXT2", "EXT4",
    "GLOBAL", "PERSID", "NEXT_BUFFER",
}  # fmt: skip
_POP = {
    "APPEND": 1, "SETITEM": 2, "POP": 1, "STACK_GLOBAL": 1, "REDUCE": 1, "BUILD": 1, "NEWOBJ": 1,
    "NEWOBJ_EX": 2, "TUPLE2": 1, "TUPLE3": 2,
}  # fmt: skip
_NEEDS = {"APPEND": 2, "SETITEM": 3, "POP": 1, "STACK_GLOBAL": 2, "REDUCE": 2, "BUILD": 2, "NEWOBJ": 2,
          "NEWOBJ_EX": 3, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3, "BINPERSID": 1, "PUT": 1, "BINPUT": 1,
          "LONG_BINPUT": 1, "MEMOIZE": 1, "STOP": 1, "READONLY_BUFFER": 1}  # fmt: skip
_MARK_OPS = {"TUPLE", "LIST", "DICT", "APPENDS", "SETITEMS", "ADDITEMS", "FROZENSET", "POP_MARK", "OBJ", "INST"}


def _stack_step(op_name: str, depth: int) -> int:
    """An approximate stack depth after ``op_name``; negative means the opcodes cannot form a pickle."""
    if depth < _NEEDS.get(op_name, 0):
        return -1
    if op_name in _PUSH1:
        return depth + 1
    if op_name in _POP:
        return depth - _POP[op_name]
    if op_name in _MARK_OPS:
        # Consumes a mark and what follows it; at least the mark must be there.
        return depth if depth >= 1 else -1
    return depth


def _is_torch_legacy(ops: list[tuple[str, object]]) -> bool:
    values = [arg for name, arg in ops if name not in ("PROTO", "FRAME", "STOP")]
    return (
        len(values) == 1
        and values[0] == TORCH_LEGACY_MAGIC
        and ("STOP", None) in ops
        and any(name in ("LONG1", "LONG4", "LONG", "INT") for name, _ in ops)
    )


# --------------------------------------------------------------------------------------------- other magics


def joblib_zf_offset(head: bytes) -> int:
    """Where the zlib data of a joblib ``ZF`` file starts (``read_zfile`` skips one more space if there is one)."""
    return JOBLIB_ZF_HEADER + 1 if head[JOBLIB_ZF_HEADER : JOBLIB_ZF_HEADER + 1] == b" " else JOBLIB_ZF_HEADER


def _is_joblib_zf(head: bytes) -> bool:
    """joblib's old compressed format (``load_compatibility``): ``ZF``, hex length, then a zlib stream."""
    return bool(_HEX_LENGTH.match(head[2:JOBLIB_ZF_HEADER])) and _is_zlib(head[joblib_zf_offset(head) :])


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    length = int.from_bytes(head[:8], "little")
    if length < 2 or length > 100 * 1024 * 1024:
        return False
    start = head[8:].lstrip(b" ")[:1]
    if start != b"{":
        return False
    if len(head) >= 8 + length:
        try:
            return isinstance(json.loads(head[8 : 8 + length]), dict)
        except (ValueError, UnicodeDecodeError):
            return False
    return head[8:10] in (b'{"', b"{ ", b"{\n")


def _is_zlib(head: bytes) -> bool:
    if len(head) < 3 or head[0] != 0x78 or ((head[0] << 8) | head[1]) % 31 != 0 or head[1] & 0x20:
        return False
    try:
        zlib.decompressobj().decompress(head[:4096], 64)
    except zlib.error:
        return False
    return True


def _is_lzma_alone(head: bytes) -> bool:
    if len(head) < 14 or head[0] >= 9 * 5 * 5:
        return False
    dict_size = int.from_bytes(head[1:5], "little")
    if dict_size == 0 or not _two_power_or_three_halves(dict_size):
        # LZMA dictionaries are 2^n or 2^n + 2^(n-1); anything else is not a real header.
        return False
    size = int.from_bytes(head[5:13], "little")
    if size != 0xFFFFFFFFFFFFFFFF and size > 1 << 48:
        return False
    try:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
        decoder.decompress(head[:4096], 64)
    except lzma.LZMAError:
        return False
    return True


def _two_power_or_three_halves(n: int) -> bool:
    if n & (n - 1) == 0:
        return True
    low = n & -n
    return n == 3 * low


def _protobuf_kind(head: bytes) -> str | None:
    onnx = probe_message(head, _ONNX_FIELDS)
    if onnx and onnx[0].number == 1 and 1 <= onnx[0].value <= 64 and any(f.number in (7, 8) for f in onnx):
        return "onnx"
    saved = probe_message(head, _SAVED_MODEL_FIELDS)
    if saved and any(f.number == 2 for f in saved) and all(f.number != 1 or f.value < 16 for f in saved):
        first = next(f for f in saved if f.number == 2)
        if _prefix_is(head, first.value, first.length, _META_GRAPH_FIELDS):
            return "savedmodel"
    graph = probe_message(head, _GRAPH_DEF_FIELDS)
    if graph and graph[0].number == 1 and graph[0].wire_type == LEN:
        node = graph[0]
        if _prefix_is(head, node.value, node.length, _NODE_DEF_FIELDS) and _node_has_op(head, node.value, node.length):
            return "tf-graphdef"
    return None


def _prefix_is(head: bytes, start: int, length: int, allowed: dict[int, int]) -> bool:
    body = head[start : start + length]
    fields = probe_message(body, allowed)
    return bool(fields)


def _node_has_op(head: bytes, start: int, length: int) -> bool:
    src = WireSource(head[start : start + length])
    try:
        for f in iter_fields(src):
            if f.number == 2 and f.wire_type == LEN:
                op = src.read(f.value, f.length)
                return bool(re.fullmatch(rb"[A-Za-z_][A-Za-z0-9_>]*", op))
    except ValueError:
        return False
    return False

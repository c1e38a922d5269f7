"""NumPy ``.npy`` files and ``.npz`` archives, read without NumPy.

The ``.npy`` header is a Python literal (parsed with :func:`ast.literal_eval`, which evaluates literals only). An
object dtype means the data after the header is a pickle, which ``np.load(allow_pickle=True)`` would unpickle: it
goes to the pickle reader. Other dtypes are raw numbers, checked only for a consistent size.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any, BinaryIO

from clearsight.controls.artifacts.containers import current_context, finding, open_range, open_zip, zip_members
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners.pickles import scan_pickle
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity


def _numpy() -> Any:
    """NumPy when installed, imported on first use: it decides what a descr means exactly as np.load does
    (building a dtype unpickles nothing), and importing it up front would cost every scan 40 ms of start-up."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return numpy

MAGIC = b"\x93NUMPY"
_MAX_HEADER = 1 << 20
_SIMPLE = re.compile(r"^[<>|=]?([biufcmMSaUVO?])(\d*)(\[\w+\])?$")
_UNIT_SIZES = {"U": 4}


def _malformed(where: str, why: str) -> Finding:
    return finding(
        "numpy.malformed", Severity.HIGH, "The .npy header is malformed; np.load would reject it.", where, why
    )


def _descr_info(descr: object) -> tuple[int | None, bool]:
    """(itemsize or None when unknown, holds Python objects) of an ``.npy`` ``descr`` (already a literal).

    With NumPy, ``numpy.dtype`` answers (as ``np.load`` would build it). Without it, a descr this parser cannot
    read completely is taken to hold objects, so the data is read as the pickle it may be.
    """
    np = _numpy()
    if np is not None:
        try:
            dtype = _to_dtype(np, descr)
        except Exception:
            # np.load would reject the header; read the data as a pickle anyway rather than trust the guess.
            return None, True
        return (None if dtype.hasobject else dtype.itemsize), bool(dtype.hasobject)
    return _parse_descr(descr)


def _to_dtype(np: Any, descr: object) -> Any:
    """The dtype ``np.load`` builds from ``descr`` (``numpy.lib.format.descr_to_dtype``, else ``numpy.dtype``)."""
    fmt = getattr(getattr(np, "lib", None), "format", None)
    convert = getattr(fmt, "descr_to_dtype", None)
    if convert is not None:
        return convert(descr)
    return np.dtype(descr)


def _parse_descr(descr: object, depth: int = 0) -> tuple[int | None, bool]:
    """:func:`_descr_info` without NumPy: anything not fully understood may hold objects."""
    if depth > 32:
        return None, True
    if isinstance(descr, str):
        match = _SIMPLE.match(descr)
        if not match:
            return None, True
        kind, digits = match.group(1), match.group(2)
        if kind == "O":
            return None, True
        if not digits:
            return ({"b": 1, "?": 1}.get(kind), False)
        return int(digits) * _UNIT_SIZES.get(kind, 1), False
    if isinstance(descr, list):
        total: int | None = 0
        hasobject = False
        for item in descr:
            if not isinstance(item, tuple) or len(item) < 2:
                return None, True
            size, obj = _parse_descr(item[1], depth + 1)
            hasobject = hasobject or obj
            if len(item) > 2 and isinstance(item[2], tuple) and size is not None:
                dims = item[2]
                size = size * math.prod(d for d in dims if isinstance(d, int))
            total = None if total is None or size is None else total + size
        return total, hasobject
    if isinstance(descr, tuple) and len(descr) == 2:
        size, obj = _parse_descr(descr[0], depth + 1)
        if isinstance(descr[1], tuple) and size is not None:
            size *= math.prod(d for d in descr[1] if isinstance(d, int))
        return size, obj
    return None, True


def scan_npy_stream(stream: BinaryIO, size: int | None, policy: Policy, where: str) -> list[Finding]:
    head = stream.read(10)
    if len(head) < 10 or not head.startswith(MAGIC):
        return [_malformed(where, "missing or truncated magic and version")]
    major = head[6]
    if major == 1:
        header_len = int.from_bytes(head[8:10], "little")
        start = 10
    elif major in (2, 3):
        rest = stream.read(2)
        if len(rest) < 2:
            return [_malformed(where, "truncated header length")]
        header_len = int.from_bytes(head[8:10] + rest, "little")
        start = 12
    else:
        return [_malformed(where, f"unknown format version {major}")]
    if header_len > _MAX_HEADER:
        return [_malformed(where, f"header of {header_len} bytes")]
    raw = stream.read(header_len)
    if len(raw) < header_len:
        return [_malformed(where, "truncated header")]
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        return [_malformed(where, f"header is not a Python literal: {exc}")]
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        return [_malformed(where, "header lacks descr, fortran_order or shape")]
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return [_malformed(where, f"bad shape {shape!r}")]
    itemsize, hasobject = _descr_info(header["descr"])
    data_start = start + header_len
    if hasobject:
        end = size if size is not None else 1 << 62
        with open_range(stream, data_start, end) as pickled:
            return scan_pickle(pickled, policy, where)
    if itemsize is not None and size is not None:
        expected = math.prod(shape) * itemsize
        if data_start + expected > size:
            return [
                finding(
                    "numpy.truncated",
                    Severity.MEDIUM,
                    "The array data is shorter than its header says: the file is truncated.",
                    where,
                    f"{size - data_start} of {expected} bytes",
                )
            ]
    return []


def scan_npy(member: Member, policy: Policy) -> list[Finding]:
    """Scan one ``.npy`` file: header validation, and the pickle inside object arrays."""
    with member.open() as stream:
        size = member.size
        if size is None:
            size = stream.seek(0, 2)
            stream.seek(0)
        return scan_npy_stream(stream, size, policy, member.where)


def scan_npz(member: Member, policy: Policy) -> list[Finding]:
    """Scan every ``.npy`` member of an ``.npz`` archive (other members are never unpickled by np.load)."""
    findings: list[Finding] = []
    ctx = current_context()
    with member.open() as stream:
        listing = open_zip(member, stream, findings)
        if listing is None:
            return findings
        with listing.archive:
            for inner in zip_members(member, listing, findings, ctx):
                with inner.open() as data:
                    if data.read(len(MAGIC)) != MAGIC:
                        continue
                    data.seek(0)
                    findings.extend(scan_npy_stream(data, inner.size, policy, inner.where))
    return findings

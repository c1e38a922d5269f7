"""safetensors: no code by design, so what is checked is that the header is what the format promises.

A malformed header (a length past the file, invalid JSON, offsets outside the data or overlapping, unknown
dtypes, non-string metadata, bytes hidden between or after tensors) is how parser bugs get exploited and how data
gets smuggled, so it is reported as high severity.
"""

from __future__ import annotations

import json
import math

from clearsight.controls.artifacts.containers import current_context, finding
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's own limit
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E4M3FN": 8,
    "F8_E8M0": 8,
    "E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


def _bad(where: str, why: str) -> Finding:
    return finding(
        "safetensors.malformed", Severity.HIGH, "The safetensors header is malformed or inconsistent.", where, why
    )


def scan(member: Member, policy: Policy) -> list[Finding]:
    """Validate a safetensors file's header against the file."""
    where = member.where
    with member.open() as stream:
        size = member.size if member.size is not None else stream.seek(0, 2)
        stream.seek(0)
        prefix = stream.read(8)
        if len(prefix) < 8:
            return [_bad(where, "shorter than the 8-byte header length")]
        length = int.from_bytes(prefix, "little")
        if length > min(MAX_HEADER, current_context().limits.max_metadata_bytes):
            return [_bad(where, f"header length {length} is over the limit")]
        if 8 + length > size:
            return [_bad(where, f"header length {length} runs past the end of the {size}-byte file (truncated?)")]
        raw = stream.read(length)
    if len(raw) < length:
        return [_bad(where, "truncated header")]
    if not raw.lstrip(b" ").startswith(b"{"):
        return [_bad(where, "header does not start with '{'")]
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return [_bad(where, f"header is not valid JSON: {exc}")]
    if not isinstance(header, dict):
        return [_bad(where, "header is not a JSON object")]
    problems: list[str] = []
    data_size = size - 8 - length
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in entry.items()
            ):
                problems.append("__metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
            problems.append(f"{name}: entry is not {{dtype, shape, data_offsets}}")
            continue
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_BITS:
            problems.append(f"{name}: unknown dtype {dtype!r}")
            continue
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            problems.append(f"{name}: bad shape {shape!r}")
            continue
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            problems.append(f"{name}: bad data_offsets {offsets!r}")
            continue
        begin, end = offsets
        if not 0 <= begin <= end <= data_size:
            problems.append(f"{name}: data_offsets [{begin}, {end}] outside the {data_size}-byte data section")
            continue
        bits = math.prod(shape) * DTYPE_BITS[str(dtype)]
        if (bits + 7) // 8 != end - begin:
            problems.append(f"{name}: {end - begin} bytes stored for shape {shape} of {dtype}")
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin < cursor:
            problems.append(f"{name}: overlaps the previous tensor")
        elif begin > cursor:
            problems.append(f"{begin - cursor} unaccounted bytes before {name}")
        cursor = max(cursor, end)
    if not problems and cursor != data_size:
        problems.append(f"{data_size - cursor} bytes after the last tensor")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; … ({len(problems)} problems)" if len(problems) > 5 else "")
        return [_bad(where, shown)]
    return []

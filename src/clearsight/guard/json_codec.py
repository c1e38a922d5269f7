"""JSON on the guard's request path: orjson where it gives the standard library's answer, the standard library
everywhere else.

Every guarded request parses the request body and the model's answer, and re-encodes a hardened answer. With
the standard library those three cost ~14 us of a request whose whole budget is ~100 us; orjson does the same
work in under 2 us. orjson is stricter than ``json`` (no ``NaN``/``Infinity`` literals, no lone surrogates,
UTF-8 only, nesting up to 1,024), so whatever it refuses goes to ``json``. Where it is laxer it is not asked:
it reads an integer beyond 64 bits as a float without a word, so a document holding 19 or more digits in a row
goes to ``json`` too. What the guard accepts, refuses and writes back is exactly what ``json`` would; a property
test compares the two on generated documents. Without orjson installed everything runs on ``json``.
"""

from __future__ import annotations

import json
from typing import Any

try:  # an optional speed-up (in the ``guard`` extra); the guard is correct without it
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]

# An integer orjson would read as a float (beyond 64 bits) has at least 19 digits. Digits map to "1" and all
# else to "0", and the run is looked for as a substring: a third of the instructions of a regular expression
# search, which tries every position. Harmless runs (inside a string, a long fraction) merely take the slow path.
_DIGITS = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_LONG_RUN = b"1" * 19
__all__ = ["dumps", "loads", "orjson"]  # orjson: None when it is not installed

_COMPACT = json.JSONEncoder(separators=(",", ":"))  # json.dumps with separators builds an encoder per call


def loads(data: bytes) -> tuple[Any, bool]:
    """The document, and whether it is strict JSON (orjson read it): only a strict document may be written back
    with :func:`dumps` ``(strict=True)``, because orjson writes a ``NaN`` it was never given as ``null``.

    Raises what ``json.loads`` raises (``ValueError``, ``RecursionError``) for what neither accepts.
    """
    if orjson is not None and _LONG_RUN not in data.translate(_DIGITS):
        try:
            return orjson.loads(data), True
        except orjson.JSONDecodeError:
            pass
    return json.loads(data), False


def dumps(document: Any, *, strict: bool) -> bytes:
    """Compact JSON for a document :func:`loads` gave (possibly rewritten with finite numbers, strings, lists
    and objects). orjson writes non-ASCII text as UTF-8 where ``json`` escapes it; both are the same JSON."""
    if strict and orjson is not None:
        try:
            return orjson.dumps(document)
        except TypeError:  # a type orjson does not know: the standard encoder decides
            pass
    return _COMPACT.encode(document).encode()

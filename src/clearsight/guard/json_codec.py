"""JSON on the guard's request path: orjson where it gives the standard library's answer, the standard library
everywhere else.

Every guarded request parses the request body and the model's answer, and re-encodes a hardened answer. With
the standard library those three cost ~14 us of a request whose whole budget is ~100 us; orjson does the same
work in under 2 us. orjson is stricter than ``json`` (no ``NaN``/``Infinity`` literals, no lone surrogates,
UTF-8 only), so whatever it refuses goes to ``json``. Where it is laxer it is not asked: it reads an integer
beyond 64 bits as a float without a word, and nests deeper than ``json`` can, so a document holding 19 or more
digits in a row, or more than 200 brackets, goes to ``json`` too. What the guard accepts and refuses is
exactly what ``json`` would (a property test compares the two on generated documents), and what it writes back
is the same JSON, in ASCII, with numbers possibly spelt another way. Without orjson everything runs on ``json``.
"""

from __future__ import annotations

import json
from typing import Any

try:  # an optional speed-up (in the ``guard`` extra); the guard is correct without it
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]

# Two things orjson does differently from json are found in one byte translation: digits map to "1", brackets
# to "[", all else to "0". An integer beyond 64 bits (which orjson reads as a float without a word) has at least
# 19 digits in a row, looked for as a substring (a third of the instructions of a regular-expression search;
# with ``find``: ``in`` on bytes first tries the needle as an integer, and on 3.11 formats and drops a TypeError).
# Nesting: orjson reads up to 1,024 levels where json stops at the interpreter's recursion limit (fewer levels
# the deeper the caller's stack), so a document with more brackets than json could ever refuse goes to json.
# Harmless matches (digits or brackets inside strings) merely take the slow path.
_SHAPE = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x5B if byte in (0x5B, 0x7B) else 0x30 for byte in range(256))
_LONG_RUN = b"1" * 19
_MAX_BRACKETS = 200
_BINARY = frozenset({bytes, bytearray})  # exact types: what json reads as UTF-8 bytes
__all__ = ["dumps", "loads", "orjson"]  # orjson: None when it is not installed

# json.dumps with separators builds an encoder per call. allow_nan=False: what the guard writes is standard JSON,
# so a NaN or an infinity (``1e400`` reads as one) raises ValueError rather than going out as ``NaN``/``Infinity``
_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def loads(data: bytes) -> tuple[Any, bool]:
    """The document, and whether it is strict JSON (orjson read it): only a strict document may be written back
    with :func:`dumps` ``(strict=True)``, because orjson writes a ``NaN`` it was never given as ``null``.

    Raises what ``json.loads`` raises (``ValueError``, ``RecursionError``) for what neither accepts.
    """
    if orjson is not None and type(data) in _BINARY:  # text and other types: json's own handling
        shape = data.translate(_SHAPE)
        if shape.find(_LONG_RUN) < 0 and shape.count(b"[") <= _MAX_BRACKETS:
            try:
                return orjson.loads(data), True
            except orjson.JSONDecodeError:
                pass
    return json.loads(data), False


def dumps(document: Any, *, strict: bool) -> bytes:
    """Compact ASCII JSON for a document :func:`loads` gave (possibly rewritten with finite numbers, strings,
    lists and objects).

    orjson's text is used only when it is ASCII: it writes other text as UTF-8 where ``json`` escapes it, and
    a client decoding the answer in the charset its upstream declared would misread it. Numbers may be spelt
    differently (``0.00001`` for ``1e-05``, ``1e16`` for ``1e+16``): the same values. Raises ``ValueError`` for a
    document holding a NaN or an infinity, which standard JSON cannot carry.
    """
    if strict and orjson is not None:
        try:
            out = orjson.dumps(document)
        except TypeError:  # a type orjson does not know: the standard encoder decides
            pass
        else:
            if out.isascii():
                return out
    return _COMPACT.encode(document).encode()

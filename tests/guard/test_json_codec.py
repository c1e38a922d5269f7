"""The guard's JSON codec must accept, refuse and rebuild exactly what the standard library does."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.guard import json_codec

pytestmark = pytest.mark.skipif(json_codec.orjson is None, reason="orjson is not installed")

# documents the JSON grammar allows, with the corners where orjson and json differ: big integers, NaN and
# infinities (written by json, refused by orjson), lone surrogates, non-ASCII text
values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=500, deadline=None)
@given(values, st.booleans())
def test_loads_gives_what_json_gives(document: Any, ascii_only: bool) -> None:
    data = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError):
        with pytest.raises((ValueError, RecursionError)):
            json_codec.loads(data)
        return
    got, strict = json_codec.loads(data)
    assert _same(got, expected)
    # a strict document round-trips through the fast encoder to the same values
    if strict:
        assert _same(json.loads(json_codec.dumps(got, strict=True)), expected)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40) | st.sampled_from([
    b"[NaN]", b"[-Infinity]", b"[1e400]", b"[18446744073709551616]", b'"\\ud800"', b"\xef\xbb\xbf[1]",
    b"[1]\x00", b'{"a":1,"a":2}', b"[" * 2000 + b"]" * 2000, "[1]".encode("utf-16"), b"\t[1]\n", b"[1,]",
    b"[" * 300 + b"]" * 300, b'{"a":' * 250 + b"1" + b"}" * 250,  # more brackets than orjson is asked about
]))
def test_loads_accepts_and_refuses_what_json_does(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc) if isinstance(exc, RecursionError) else ValueError):
            json_codec.loads(data)
        return
    got, _strict = json_codec.loads(data)
    assert _same(got, expected)


def test_what_only_json_reads_is_not_strict_and_keeps_its_numbers() -> None:
    document, strict = json_codec.loads(b'{"score": 0.5, "big": 18446744073709551616}')
    assert not strict
    # written back by the standard encoder: the big integer survives (orjson would have read it as a float)
    assert json_codec.dumps(document, strict=strict) == b'{"score":0.5,"big":18446744073709551616}'


@pytest.mark.parametrize("text", [b'{"score": NaN}', b'{"score": 1e400}', b'{"score": -Infinity}'])
def test_a_nan_or_an_infinity_is_read_but_never_written(text: bytes) -> None:
    """Found by a review: a hardened ``1e400`` went out as ``Infinity``, which strict JSON parsers refuse. What
    the guard writes is standard JSON, so such a number is an error for the caller (and orjson, which would
    write null in its place, is not asked: the document is not strict)."""
    document, strict = json_codec.loads(text)
    assert not strict
    with pytest.raises(ValueError):
        json_codec.dumps(document, strict=strict)


def test_strict_documents_are_written_compact() -> None:
    document, strict = json_codec.loads(b'{"fraud_probability": 0.12, "label": "l\\u00e9git", "n": [1, 2]}')
    assert strict
    assert json.loads(json_codec.dumps(document, strict=True)) == {"fraud_probability": 0.12, "label": "légit",
                                                                    "n": [1, 2]}
    assert b" " not in json_codec.dumps(document, strict=True)


def test_a_type_orjson_does_not_know_goes_to_the_standard_encoder() -> None:
    class Score(float):
        pass

    assert json_codec.dumps({"s": Score(0.5)}, strict=True) == b'{"s":0.5}'


def test_non_ascii_text_is_written_escaped_as_json_writes_it() -> None:
    """A client decoding the answer in the charset its upstream declared must read what it read before."""
    document, strict = json_codec.loads('{"p": 0.12, "label": "caf\u00e9"}'.encode())
    assert strict
    assert json_codec.dumps(document, strict=strict) == b'{"p":0.12,"label":"caf\\u00e9"}'


def test_text_and_other_inputs_are_read_as_json_reads_them() -> None:
    assert json_codec.loads('{"a": 1}') == ({"a": 1}, False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        json_codec.loads(memoryview(b"[1]"))  # type: ignore[arg-type]


def test_nesting_json_cannot_read_is_refused_though_orjson_could_read_it() -> None:
    """orjson reads 1,024 levels; json stops at the interpreter's recursion limit. The guard must refuse what
    json refuses (a request's input.too-deep), so deep documents never reach orjson."""
    import inspect
    import sys

    data = b"[" * 600 + b"]" * 600
    assert json_codec.orjson is not None and json_codec.orjson.loads(data)  # orjson alone would read it
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 300)  # json can now nest only ~300 levels from here
    try:
        with pytest.raises(RecursionError):
            json.loads(data)
        with pytest.raises(RecursionError):
            json_codec.loads(data)
    finally:
        sys.setrecursionlimit(limit)

"""Property-based fuzzing of the pickle reader and scanner: random and mutated inputs never raise, never hang,
and keep memory bounded. Nothing is ever unpickled.
"""

from __future__ import annotations

import collections
import datetime
import io
import os
import pickle
import tracemalloc
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearsight.controls.artifacts.pickle_reader import Limits, read_pickles
from clearsight.controls.artifacts.pickle_scan import scan_pickle_bytes
from clearsight.controls.artifacts.policy import default_policy
from clearsight.core.artifact import verdict_of
from clearsight.core.evidence import Finding

POLICY = default_policy()
LIMITS = Limits(max_opcodes=200_000)  # keeps every example fast; the default is far higher


class Payload:
    def __init__(self, func: object, *args: object) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


SEEDS = [
    pickle.dumps(obj, protocol=protocol)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    for obj in (
        [1, -2, 2**70, 1.5, "text", "é", b"raw", bytearray(b"x"), (1,), (1, 2), (1, 2, 3), {"k": [None, True]}],
        {1, 2},
        frozenset([3]),
        Payload(os.system, "echo harmless"),
        collections.OrderedDict(a=1),
        datetime.datetime(2024, 1, 1),
        [[0] * 3] * 2,
    )
]

FUZZ = settings(
    max_examples=500,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def _check(data: bytes) -> list[Finding]:
    for joblib in (False, True):
        result = read_pickles(io.BytesIO(data), limits=LIMITS, joblib=joblib)
        assert result.failure is not None or result.complete >= 1
    findings = scan_pickle_bytes(data, POLICY, "fuzz.pkl", limits=LIMITS)
    assert all(isinstance(f, Finding) for f in findings)
    return findings


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    findings = _check(data)
    if not data:
        assert verdict_of(findings) != "clean"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "insert", "delete", "duplicate"]))
        size = len(data)
        if kind == "flip" and size:
            pos = draw(st.integers(0, size - 1))
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate" and size:
            del data[draw(st.integers(0, size - 1)):]
        elif kind == "splice":
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other)))
            piece = other[start:start + draw(st.integers(1, 40))]
            at = draw(st.integers(0, size))
            data[at:at] = piece
        elif kind == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete" and size:
            at = draw(st.integers(0, size - 1))
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "duplicate":
            data += draw(st.sampled_from(SEEDS))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_pickles(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_truncated_pickles_are_never_clean(seed: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(seed) - 1))
    assert verdict_of(scan_pickle_bytes(seed[:cut], POLICY, "cut.pkl")) != "clean"


@settings(max_examples=40, deadline=timedelta(milliseconds=1000), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.integers(1 << 20, 1 << 34))
def test_memory_stays_bounded_with_huge_declared_lengths(data: bytes, length: int) -> None:
    # A length prefix far beyond the data must not make the reader allocate it.
    blob = b"\x80\x04\x8e" + length.to_bytes(8, "little") + data
    tracemalloc.start()
    try:
        _check(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024

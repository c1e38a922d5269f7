"""safetensors: header validation (lengths, JSON, offsets, overlaps, dtypes, metadata)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file
from clearsight.core.artifact import FileScan


def _file(header: dict[str, object] | bytes, data: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _scan(data: bytes) -> FileScan:
    return scan_bytes(data, name="model.safetensors", policy=default_policy())


GOOD = {
    "__metadata__": {"format": "pt"},
    "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},
}


def test_real_file_is_clean(tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"w": np.ones((3, 3), dtype=np.float32), "b": np.zeros(3, dtype=np.int64)}, tmp_path / "m.safetensors")
    scan = scan_file(tmp_path / "m.safetensors", policy=default_policy())
    assert (scan.format, scan.verdict) == ("safetensors", "clean"), scan


def test_hand_built_good_file_is_clean() -> None:
    assert _scan(_file(GOOD, b"\x00" * 22)).verdict == "clean"


@pytest.mark.parametrize(
    ("header", "data"),
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, b"\x00" * 8),  # past the data
        ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\x00" * 16),  # overlap
        ({"a": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4),  # unknown dtype
        ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\x00" * 16),  # size vs shape
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\x00" * 4),  # negative dim
        ({"__metadata__": {"n": 1}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"),
        ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x00" + b"hidden pickle"),  # trailing
        ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [4, 5]}}, b"\x00" * 5),  # gap before
        ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "code": "x"}}, b"\x00"),  # extra key
    ],
)  # fmt: skip
def test_malformed_headers(header: dict[str, object], data: bytes) -> None:
    scan = _scan(_file(header, data))
    assert scan.verdict == "suspicious"
    assert [f.rule for f in scan.findings] == ["safetensors.malformed"]


def test_bad_lengths_and_json() -> None:
    assert _scan(struct.pack("<Q", 1 << 40) + b"{}").verdict == "suspicious"
    assert _scan(_file(b'{"a": ', b"")).verdict == "suspicious"
    assert _scan(_file(b"[1, 2]", b"")).verdict != "clean"
    good = _file(GOOD, b"\x00" * 22)
    for cut in (4, 12, 40, len(good) - 1):
        assert _scan(good[:cut]).verdict != "clean", cut

"""NumPy .npy (header parse; object arrays hold a pickle) and .npz archives, read without NumPy."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes
from clearsight.core.artifact import FileScan


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo never-run",))


def _npy(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array, allow_pickle=True)
    else:
        np.lib.format.write_array(buf, array, version=version, allow_pickle=True)
    return buf.getvalue()


def _scan(data: bytes, name: str) -> FileScan:
    return scan_bytes(data, name=name, policy=default_policy())


@pytest.mark.parametrize("version", [None, (1, 0), (2, 0), (3, 0)])
def test_numeric_arrays_are_clean(version: tuple[int, int] | None) -> None:
    for array in (
        np.arange(12).reshape(3, 4),
        np.zeros((2, 2), dtype="<U3"),
        np.ones(3, dtype=[("a", "<f4"), ("b", "u1")]),
    ):
        scan = _scan(_npy(array, version), "a.npy")
        assert (scan.format, scan.verdict) == ("numpy", "clean"), scan


def test_object_array_with_payload_is_malicious() -> None:
    scan = _scan(_npy(np.array([Evil(), 2], dtype=object)), "x.npy")
    assert scan.verdict == "malicious"
    benign = _scan(_npy(np.array([{"a": 1}, "s", None], dtype=object)), "x.npy")
    assert benign.verdict == "clean", benign


def test_structured_dtype_with_object_field() -> None:
    array = np.array([(1.0, Evil())], dtype=[("x", "<f8"), ("o", "O")])
    assert _scan(_npy(array), "s.npy").verdict == "malicious"


def test_npz_members() -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, weights=np.arange(5.0), objs=np.array([Evil()], dtype=object))
    scan = _scan(buf.getvalue(), "arrays.npz")
    assert scan.format == "npz"
    assert scan.verdict == "malicious"
    assert any(f.location and f.location.path == "arrays.npz!objs.npy" for f in scan.findings)
    clean = io.BytesIO()
    np.savez(clean, a=np.arange(3), b=np.eye(2))
    assert _scan(clean.getvalue(), "ok.npz").verdict == "clean"


def test_npz_non_npy_member_is_never_unpickled_by_numpy() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("a.npy", _npy(np.arange(3)))
        archive.writestr("notes.npy", b"plain bytes, returned as bytes by np.load")
    assert _scan(buf.getvalue(), "x.npz").verdict == "clean"


def test_malformed_and_truncated() -> None:
    good = _npy(np.arange(100))
    assert _scan(good[:60], "t.npy").verdict == "suspicious"  # data shorter than the header says
    assert _scan(good[:20], "t.npy").verdict == "suspicious"  # header cut
    obj = _npy(np.array([{"k": list(range(50))}], dtype=object))
    for cut in range(140, len(obj) - 1, 37):
        assert _scan(obj[:cut], "o.npy").verdict != "clean", cut
    bad_header = b"\x93NUMPY\x01\x00" + (40).to_bytes(2, "little") + b"{'descr': __import__('os'), 'shape': ()}"
    assert _scan(bad_header, "b.npy").verdict == "suspicious"
    assert _scan(b"\x93NUMPY\x09\x00", "v.npy").verdict == "suspicious"

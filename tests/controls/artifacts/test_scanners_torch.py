"""PyTorch checkpoints: zip and legacy formats, read without torch and without touching tensor storages."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest

from clearsight.controls.artifacts.containers import Limits
from clearsight.controls.artifacts.formats import TORCH_LEGACY_MAGIC
from clearsight.controls.artifacts.interface import Member
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file, scan_member


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo never-run",))


def _torch_like_zip(data_pkl: bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/data/0", b"\x00" * 64)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        archive.writestr("archive/version", b"3\n")
    return buf.getvalue()


def _legacy(main: bytes) -> bytes:
    return (
        pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
        + main
        + pickle.dumps(["0"], protocol=2)
        + struct.pack("<q", 4)
        + b"\x01\x02\x03\x04" * 4  # raw storage bytes: not a pickle, never scanned as one
    )


def test_real_torch_checkpoints(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = {"layer.weight": torch.randn(4, 3), "layer.bias": torch.zeros(4), "step": 3}
    torch.save(state, tmp_path / "model.pt")
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "pytorch_model.bin")
    for name, fmt in (("model.pt", "torch-zip"), ("legacy.pt", "torch-legacy"), ("pytorch_model.bin", "torch-zip")):
        scan = scan_file(tmp_path / name, policy=default_policy())
        assert (scan.format, scan.verdict) == (fmt, "clean"), scan


def test_malicious_data_pkl_in_zip() -> None:
    scan = scan_bytes(_torch_like_zip(pickle.dumps(Evil(), protocol=2)), name="model.pt", policy=default_policy())
    assert scan.format == "torch-zip"
    assert scan.verdict == "malicious"
    assert any(f.location and f.location.path == "model.pt!archive/data.pkl" for f in scan.findings)


def test_other_pickle_members_are_scanned_too() -> None:
    data = _torch_like_zip(pickle.dumps({"a": 1}, protocol=2), extra={"archive/constants.pkl": pickle.dumps(Evil())})
    assert scan_bytes(data, name="m.pt", policy=default_policy()).verdict == "malicious"


def test_malicious_legacy_file() -> None:
    data = _legacy(pickle.dumps({"w": Evil()}, protocol=2))
    scan = scan_bytes(data, name="old.pth", policy=default_policy())
    assert (scan.format, scan.verdict) == ("torch-legacy", "malicious")
    benign = scan_bytes(_legacy(pickle.dumps({"w": [1.0]}, protocol=2)), name="old.pth", policy=default_policy())
    assert benign.verdict == "clean", benign


def test_truncated_checkpoints_are_never_clean() -> None:
    legacy = _legacy(pickle.dumps({"w": [1.0] * 50}, protocol=2))
    for cut in (20, 40, len(legacy) // 2):
        assert scan_bytes(legacy[:cut], name="x.pt", policy=default_policy()).verdict != "clean"
    archive = _torch_like_zip(pickle.dumps({"w": [1.0] * 50}, protocol=2))
    for cut in (100, len(archive) // 2, len(archive) - 10):
        assert scan_bytes(archive[:cut], name="x.pt", policy=default_policy()).verdict != "clean"


def _sparse_checkpoint(path: Path, storage_bytes: int) -> None:
    """A torch-style zip whose tensor storage is ``storage_bytes`` long, written as a sparse file."""
    data_pkl = pickle.dumps({"w": 1}, protocol=2)
    members: list[tuple[bytes, int, int, int]] = []  # name, offset, size, crc
    with open(path, "wb") as out:
        for name, payload, size in (
            (b"archive/data.pkl", data_pkl, len(data_pkl)),
            (b"archive/data/0", None, storage_bytes),
            (b"archive/version", b"3\n", 2),
        ):
            offset = out.tell()
            crc = zlib.crc32(payload) if payload is not None else 0
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, size, size, len(name), 0) + name)
            if payload is None:
                out.seek(size, os.SEEK_CUR)
            else:
                out.write(payload)
            members.append((name, offset, size, crc))
        central = out.tell()
        for name, offset, size, crc in members:
            fields = (0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size, len(name), 0, 0, 0, 0, 0, offset)
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", *fields) + name)
        end = out.tell()
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), end - central, central, 0))


class _Counting(io.RawIOBase):
    def __init__(self, inner: BinaryIO, counter: list[int]) -> None:
        self._inner = inner
        self._counter = counter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._counter[0] += len(data)
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def test_one_gib_checkpoint_reads_only_its_pickle(tmp_path: Path) -> None:
    path = tmp_path / "big.pt"
    _sparse_checkpoint(path, 1 << 30)
    counter = [0]

    def opener() -> BinaryIO:
        return io.BufferedReader(_Counting(open(path, "rb"), counter))  # type: ignore[arg-type]

    scan = scan_member(Member(where="big.pt", size=path.stat().st_size, open=opener), policy=default_policy())
    assert (scan.format, scan.verdict) == ("torch-zip", "clean"), scan
    # the work is bounded by what is read, not by a clock (speed lives in benchmarks/)
    assert counter[0] < 2 << 20, f"read {counter[0]} bytes of a 1 GiB checkpoint"
    unhashed = scan_file(path, policy=default_policy(), limits=Limits(hash_files=False))
    assert unhashed.verdict == "clean" and unhashed.sha256 is None

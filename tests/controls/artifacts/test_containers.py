"""Containers: members as streams, nested to a bounded depth, with bomb, traversal and encryption findings."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from clearsight.controls.artifacts.containers import (
    Limits,
    iter_members,
    open_decompressed,
    scan_context,
    strip_compression_suffix,
    unsafe_name,
)
from clearsight.controls.artifacts.interface import Member
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_paths
from clearsight.core.artifact import FileScan


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo never-run",))


EVIL = pickle.dumps(Evil())
BENIGN = pickle.dumps({"weights": [0.5] * 10, "classes": ("a", "b")})


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], links: dict[str, tuple[str, bytes]] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (target, kind) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return buf.getvalue()


def _rules(scan: FileScan) -> set[str]:
    return {f.rule for f in scan.findings}


def _scan(data: bytes, name: str, limits: Limits | None = None) -> FileScan:
    return scan_bytes(data, name=name, policy=default_policy(), limits=limits)


COMPRESSORS = {
    "m.pkl.gz": gzip.compress,
    "m.pkl.bz2": bz2.compress,
    "m.pkl.xz": lzma.compress,
    "m.pkl.lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "m.pkl.z": zlib.compress,
}


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_pickle_in_every_compression(name: str) -> None:
    compress = COMPRESSORS[name]
    scan = _scan(compress(EVIL), name)
    assert scan.verdict == "malicious", (name, scan)
    assert any(f.location and f.location.path == f"{name}!m.pkl" for f in scan.findings)
    benign = _scan(compress(BENIGN), name)
    assert benign.verdict == "clean", (name, benign)


def test_concatenated_gzip_members_are_read_as_one_stream() -> None:
    data = gzip.compress(BENIGN) + gzip.compress(EVIL)
    assert _scan(data, "two.pkl.gz").verdict == "malicious"


def test_nested_zip_in_zip_in_tar_gz() -> None:
    inner = _zip({"evil.pkl": EVIL})
    outer = _zip({"inner.zip": inner, "readme.txt": b"hi"}, compression=zipfile.ZIP_STORED)
    data = gzip.compress(_tar({"outer.zip": outer}))
    scan = _scan(data, "bundle.tar.gz")
    assert scan.verdict == "malicious"
    assert scan.format == "gzip/tar"
    paths = {f.location.path for f in scan.findings if f.location and f.rule.startswith("pickle.")}
    assert "bundle.tar.gz!bundle.tar!outer.zip!inner.zip!evil.pkl" in paths


def test_depth_limit_is_reported_not_opened() -> None:
    data = _zip({"a.zip": _zip({"b.zip": _zip({"evil.pkl": EVIL})})})
    scan = _scan(data, "deep.zip", Limits(max_depth=2))
    assert "container.limit" in _rules(scan)
    assert scan.verdict == "suspicious"
    assert _scan(data, "deep.zip").verdict == "malicious"


def test_zip_bomb_member_is_not_decompressed() -> None:
    data = _zip({"zeros.pkl": b"\x00" * (17 << 20)})
    scan = _scan(data, "bomb.zip")
    assert "container.bomb" in _rules(scan)
    assert scan.verdict == "suspicious"


def test_gzip_bomb_is_stopped_while_decompressing() -> None:
    # A pickle holding a long run of zeros: reading past it means decompressing it.
    data = gzip.compress(pickle.dumps(b"\x00" * (3 << 20), protocol=4), 9)
    scan = _scan(data, "bomb.pkl.gz", Limits(ratio_min_bytes=1 << 20))
    assert "container.bomb" in _rules(scan)
    assert scan.verdict == "suspicious"


def test_total_and_member_limits() -> None:
    data = gzip.compress(pickle.dumps(os.urandom(1 << 20), protocol=4))
    scan = _scan(data, "big.bin.gz", Limits(max_member_bytes=256 << 10))
    assert "container.limit" in _rules(scan)
    archive = _zip({f"m{i}.txt": b"x" for i in range(20)})
    assert "container.limit" in _rules(_scan(archive, "many.zip", Limits(max_members=5)))


@pytest.mark.parametrize("name", ["../evil.pkl", "/abs/evil.pkl", "C:\\evil.pkl", "a/../../evil.pkl", "..\\x.pkl"])
def test_zip_traversal_names(name: str) -> None:
    scan = _scan(_zip({name: BENIGN}), "t.zip")
    assert "container.path-traversal" in _rules(scan)
    assert scan.verdict == "suspicious"


def test_zip_traversal_member_content_is_still_scanned() -> None:
    scan = _scan(_zip({"../../evil.pkl": EVIL}), "t.zip")
    assert {"container.path-traversal", "pickle.dangerous-call"} <= _rules(scan)
    assert scan.verdict == "malicious"


def test_tar_links_pointing_outside() -> None:
    data = _tar(
        {"ok.pkl": BENIGN},
        {
            "passwd": ("/etc/passwd", tarfile.SYMTYPE),
            "sub/up": ("../../x", tarfile.SYMTYPE),
            "hard": ("../outside", tarfile.LNKTYPE),
            "fine": ("ok.pkl", tarfile.SYMTYPE),
        },
    )
    scan = _scan(data, "links.tar")
    traversal = [f for f in scan.findings if f.rule == "container.path-traversal"]
    assert {f.location.path for f in traversal if f.location} == {
        "links.tar!passwd",
        "links.tar!sub/up",
        "links.tar!hard",
    }


def test_unsafe_name() -> None:
    assert unsafe_name("a/b.pkl") is None
    assert unsafe_name("a..b/c") is None
    assert unsafe_name("../x")
    assert unsafe_name("x\x00y")
    assert unsafe_name("D:x")


def test_encrypted_zip_member_is_never_clean() -> None:
    data = bytearray(_zip({"model.pkl": BENIGN}))
    # Set the "encrypted" flag bit in the local header and in the central directory entry.
    data[6] |= 1
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1
    scan = _scan(bytes(data), "locked.zip")
    assert "container.encrypted" in _rules(scan)
    assert scan.verdict == "suspicious"


def test_truncated_and_corrupt_containers() -> None:
    gz = gzip.compress(EVIL)
    assert _scan(gz[: len(gz) // 2], "cut.pkl.gz").verdict != "clean"
    benign_gz = gzip.compress(BENIGN * 20)
    cut = _scan(benign_gz[: len(benign_gz) - 10], "cut.pkl.gz")
    assert cut.verdict != "clean"
    assert "container.truncated" in _rules(cut) or any(r.startswith("pickle.") for r in _rules(cut))
    archive = _zip({"m.pkl": BENIGN})
    assert _scan(archive[:-30], "cut.zip").verdict != "clean"
    tar = _tar({"m.pkl": BENIGN * 50})
    assert _scan(tar[:700], "cut.tar").verdict != "clean"
    corrupt = bytearray(zlib.compress(BENIGN * 50))
    corrupt[20:30] = b"\xff" * 10
    assert _scan(bytes(corrupt), "bad.pkl.z").verdict != "clean"


def test_decompressed_stream_seeks_both_ways() -> None:
    payload = bytes(range(256)) * 1000
    with scan_context(Limits()):
        stream = open_decompressed(io.BytesIO(gzip.compress(payload)), "gzip", "x")
        assert stream.read(10) == payload[:10]
        stream.seek(200_000)
        assert stream.read(5) == payload[200_000:200_005]
        stream.seek(3)
        assert stream.read(4) == payload[3:7]
        assert stream.seek(0, 2) == len(payload)


def test_iter_members_and_names() -> None:
    data = _zip({"a.pkl": BENIGN, "dir/": b"", "b.txt": b"x"})
    member = Member(where="z.zip", size=len(data), open=lambda: io.BytesIO(data))
    found: list[str] = []
    with scan_context():
        for inner in iter_members(member, "zip", []):
            with inner.open() as stream:
                found.append(f"{inner.where}={len(stream.read())}")
    assert found == [f"z.zip!a.pkl={len(BENIGN)}", "z.zip!b.txt=1"]
    assert strip_compression_suffix("m.pkl.gz") == "m.pkl"
    assert strip_compression_suffix("x.tgz") == "x.tar"
    assert strip_compression_suffix("model.joblib") is None


def test_tar_gz_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "models.tgz"
    path.write_bytes(gzip.compress(_tar({"a/model.pkl": BENIGN, "a/evil.bin": EVIL})))
    report = scan_paths([path], policy=default_policy())
    (scan,) = report.files
    assert scan.verdict == "malicious"
    assert scan.format == "gzip/tar"
    assert any(f.location and f.location.path.endswith("models.tar!a/evil.bin") for f in scan.findings)

"""scan_paths: walking, hashing, dispatch, roll-up, verdicts, extension mismatch, truncation of every format."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import random
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from protobuf_bytes import field

from clearsight.controls.artifacts import scan as scan_module
from clearsight.controls.artifacts.containers import Limits
from clearsight.controls.artifacts.formats import TORCH_LEGACY_MAGIC
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file, scan_paths
from clearsight.controls.artifacts.scanners import SCANNERS
from clearsight.core.artifact import VERDICT_ORDER
from clearsight.core.evidence import Finding


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo never-run",))


EVIL = pickle.dumps(Evil())
BENIGN = pickle.dumps({"weights": [0.25] * 40, "labels": ["a", "b"], "n": 3}, protocol=4)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _legacy() -> tuple[bytes, int]:
    pickles = (
        pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"little_endian": True}, protocol=2)
        + pickle.dumps({"w": [1.0] * 20}, protocol=2)
        + pickle.dumps(["0"], protocol=2)
    )
    return pickles + struct.pack("<q", 4) + b"\x00" * 16, len(pickles)


def _fixtures() -> list[tuple[str, bytes, tuple[int, int] | None]]:
    """(name, benign bytes, byte range where a cut lands inside a pickle) for every format."""
    legacy, legacy_end = _legacy()
    obj_npy = _npy(np.array([{"k": list(range(30))}, "x"], dtype=object))
    torch_zip = _zip({"archive/data.pkl": BENIGN, "archive/data/0": b"\x00" * 32, "archive/version": b"3\n"})
    npz = _zip({"a.npy": _npy(np.arange(4)), "o.npy": obj_npy})
    st_header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    gguf = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 23) + b"tokenizer.chat_template"
    template = b"{% for m in messages %}{{ m['content'] }}{% endfor %}"
    gguf += struct.pack("<IQ", 8, len(template)) + template
    node = field(1, b"x") + field(2, b"Placeholder")
    graph = field(1, node) + field(1, field(1, b"y") + field(2, b"MatMul"))
    saved = field(1, 1) + field(2, field(1, field(4, b"serve")) + field(2, graph))
    relu = field(1, field(1, b"x") + field(2, b"y") + field(4, b"Relu"))
    onnx_like = field(1, 8) + field(2, b"test") + field(7, relu) + field(8, field(2, 17))
    config = json.dumps({"class_name": "Sequential", "config": {}}).encode()
    keras = _zip({"metadata.json": b"{}", "config.json": config, "model.weights.h5": b"\x89HDF\r\n\x1a\n"})
    fixtures: list[tuple[str, bytes, tuple[int, int] | None]] = [
        ("model.pkl", BENIGN, (1, len(BENIGN))),
        ("model0.pkl", pickle.dumps({"a": [1, 2]}, protocol=0), (1, len(pickle.dumps({"a": [1, 2]}, protocol=0)))),
        ("model.pt", torch_zip, (1, len(torch_zip))),
        ("legacy.pt", legacy, (1, legacy_end)),
        ("obj.npy", obj_npy, (1, len(obj_npy))),
        ("arrays.npz", npz, (1, len(npz))),
        ("model.pkl.gz", gzip.compress(BENIGN), (1, len(gzip.compress(BENIGN)))),
        ("model.pkl.bz2", bz2.compress(BENIGN), (1, len(bz2.compress(BENIGN)))),
        ("model.pkl.xz", lzma.compress(BENIGN), (1, len(lzma.compress(BENIGN)))),
        ("bundle.tar", _tar({"m.pkl": BENIGN}), (513, 512 + len(BENIGN))),
        ("m.keras", keras, None),
        ("m.safetensors", struct.pack("<Q", len(st_header)) + st_header + b"\x00" * 16, None),
        ("m.gguf", gguf, None),
        ("saved_model.pb", saved, None),
        ("m.onnx", onnx_like, None),
        ("m.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 40 + json.dumps({"class_name": "Sequential"}).encode(), None),
    ]
    try:
        import joblib

        buf = io.BytesIO()
        joblib.dump({"w": [1.0] * 100}, buf, compress=("zlib", 3))
        fixtures.append(("m.joblib", buf.getvalue(), (1, len(buf.getvalue()))))
    except ImportError:  # pragma: no cover - joblib is a test dependency
        pass
    return fixtures


@pytest.mark.parametrize(("name", "data", "pickle_range"), _fixtures(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_format_whole_and_truncated(name: str, data: bytes, pickle_range: tuple[int, int] | None) -> None:
    policy = default_policy()
    whole = scan_bytes(data, name=name, policy=policy)
    assert whole.verdict == "clean", (name, whole)
    cuts = sorted({*range(1, len(data), max(1, len(data) // 25)), len(data) - 1})
    for cut in cuts:
        scan = scan_bytes(data[:cut], name=name, policy=policy)
        assert scan.verdict in VERDICT_ORDER
        if pickle_range and pickle_range[0] <= cut < pickle_range[1]:
            assert scan.verdict != "clean", (name, cut, scan)


def test_mutated_files_never_crash() -> None:
    rng = random.Random(1234)
    policy = default_policy()
    for name, data, _ in _fixtures():
        for _ in range(15):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            scan = scan_bytes(bytes(mutated), name=name, policy=policy)
            assert scan.verdict in VERDICT_ORDER
            assert all(f.rule != "scan.error" for f in scan.findings), (name, scan.findings)


def test_folder_walk_pickle_named_bin_and_report(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pytorch_model.bin").write_bytes(EVIL)
    (tmp_path / "clean.pkl").write_bytes(BENIGN)
    (tmp_path / "README.md").write_text("# model\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "evil.pkl").write_bytes(EVIL)
    calls: list[tuple[int, int]] = []
    report = scan_paths([tmp_path], policy=default_policy(), progress=lambda done, total: calls.append((done, total)))
    by_name = {Path(f.path).name: f for f in report.files}
    assert set(by_name) == {"pytorch_model.bin", "clean.pkl", "README.md"}
    assert by_name["pytorch_model.bin"].verdict == "malicious"
    assert by_name["pytorch_model.bin"].sha256 == hashlib.sha256(EVIL).hexdigest()
    assert by_name["clean.pkl"].verdict == "clean"
    assert by_name["README.md"].verdict == "unsupported"
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert report.summary.files == 3
    assert report.summary.verdicts == {"clean": 1, "malicious": 1, "unsupported": 1}
    assert report.policy == "default"
    assert json.loads(report.model_dump_json())["files"][0]["verdict"] in VERDICT_ORDER


def test_format_mismatch(tmp_path: Path) -> None:
    (tmp_path / "fake.safetensors").write_text("not a tensor file")
    (tmp_path / "model.h5").write_bytes(BENIGN)
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "notes.txt").write_text("text")
    report = {Path(f.path).name: f for f in scan_paths([tmp_path], policy=default_policy()).files}
    for name in ("fake.safetensors", "model.h5", "random.bin"):
        assert "format.mismatch" in {f.rule for f in report[name].findings}, name
        assert report[name].verdict == "suspicious"
    assert report["model.h5"].format == "pickle"
    assert report["notes.txt"].verdict == "unsupported"


def test_symlinks_loops_and_escapes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pkl").write_bytes(EVIL)
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "model.pkl").write_bytes(BENIGN)
    (root / "a" / "loop").symlink_to(root)
    (root / "alias.pkl").symlink_to(root / "a" / "model.pkl")
    (root / "escape.pkl").symlink_to(outside / "secret.pkl")
    (root / "escape_dir").symlink_to(outside)
    report = scan_paths([root], policy=default_policy())
    names = sorted(Path(f.path).name for f in report.files)
    assert names.count("model.pkl") + names.count("alias.pkl") == 1
    skipped = [f for f in report.files if f.findings and f.findings[0].rule == "file.symlink-outside"]
    assert {Path(f.path).name for f in skipped} == {"escape.pkl", "escape_dir"}
    assert all(f.verdict == "unsupported" for f in skipped)
    assert not any(f.verdict == "malicious" for f in report.files)


def test_unreadable_and_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "locked.pkl"
    target.write_bytes(BENIGN)
    real_open = open

    def guarded(path: object, *args: object, **kwargs: object) -> object:
        if Path(str(path)) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(scan_module, "open", guarded, raising=False)
    report = scan_paths([target, tmp_path / "missing.pkl"], policy=default_policy())
    assert [f.verdict for f in report.files] == ["error", "error"]
    assert "Permission denied" in (report.files[0].findings[0].detail or "")


def test_special_files_are_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pkl"
    os.mkfifo(fifo)
    report = scan_paths([fifo, tmp_path], policy=default_policy())
    assert all(f.verdict != "clean" for f in report.files)


def test_scanner_bug_is_an_error_not_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(member: Member, policy: Policy) -> list[Finding]:
        raise RuntimeError("scanner bug")

    monkeypatch.setitem(SCANNERS, "pickle", boom)
    scan = scan_bytes(BENIGN, name="m.pkl", policy=default_policy())
    assert scan.verdict == "error"
    assert scan.findings[0].rule == "scan.error"


def test_limits_are_configurable_and_hash_optional(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(b"\x00" * (2 << 20))))
    scan = scan_file(path, policy=default_policy(), limits=Limits(ratio_min_bytes=1 << 20, hash_files=False))
    assert scan.sha256 is None
    assert "container.bomb" in {f.rule for f in scan.findings}
    assert scan_file(path, policy=default_policy()).verdict == "clean"

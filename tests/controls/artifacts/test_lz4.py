"""joblib's lz4 compression: scanned like the other streams when lz4 is installed, never passed as clean when not."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import lz4.frame
import pytest

from clearsight.controls.artifacts import containers, scan
from clearsight.controls.artifacts.containers import Limits
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes
from clearsight.core.artifact import FileScan

EVIL = b"cos\nsystem\n(S'echo x'\ntR."


def _scan(data: bytes, name: str, limits: Limits | None = None) -> FileScan:
    return scan_bytes(data, name=name, policy=default_policy(), limits=limits)


def test_malicious_pickle_in_an_lz4_frame_is_found() -> None:
    result = _scan(lz4.frame.compress(b"\x80\x02" + EVIL), "model.joblib")
    assert result.verdict == "malicious"
    assert result.format.startswith("lz4")
    assert any(f.rule.startswith("pickle.") for f in result.findings)


def test_benign_joblib_lz4_dump_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "weights.joblib"
    joblib.dump({"weights": list(range(1000)), "bias": 0.5}, path, compress="lz4")
    result = _scan(path.read_bytes(), path.name)
    assert result.format.startswith("lz4")
    assert result.verdict == "clean", result.findings


def test_lz4_bomb_is_stopped_while_decompressing() -> None:
    data = lz4.frame.compress(pickle.dumps(b"\x00" * (3 << 20), protocol=4), compression_level=16)
    result = _scan(data, "bomb.joblib", Limits(ratio_min_bytes=1 << 20))
    assert "container.bomb" in {f.rule for f in result.findings}
    assert result.verdict == "suspicious"


def test_truncated_lz4_stream_is_an_error_or_suspicious_never_clean() -> None:
    data = lz4.frame.compress(b"\x80\x02" + EVIL)[:12]
    assert _scan(data, "cut.joblib").verdict in ("suspicious", "error")


def test_without_the_lz4_package_the_file_is_unscannable_not_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "_lz4_frame", None)
    monkeypatch.setattr(containers, "LZ4_AVAILABLE", False)
    monkeypatch.setattr(scan, "LZ4_AVAILABLE", False)
    result = _scan(lz4.frame.compress(b"\x80\x02" + EVIL), "model.joblib")
    assert result.verdict == "suspicious"
    assert "format.unscannable" in {f.rule for f in result.findings}

"""joblib files, plain and compressed with every codec joblib offers; raw pickles."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file

joblib = pytest.importorskip("joblib")
CODECS = ["zlib", "gzip", "bz2", "lzma", "xz"]


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo never-run",))


def _dump(obj: object, path: Path, codec: str | None) -> Path:
    joblib.dump(obj, path, compress=(codec, 3) if codec else 0)
    return path


@pytest.mark.parametrize("codec", [None, *CODECS])
def test_malicious_joblib_detected_in_every_compression(tmp_path: Path, codec: str | None) -> None:
    path = _dump({"model": Evil(), "coef": np.arange(10.0)}, tmp_path / "m.joblib", codec)
    scan = scan_file(path, policy=default_policy())
    assert scan.verdict == "malicious", scan
    assert scan.format == (f"{codec}/joblib" if codec else "joblib")


@pytest.mark.parametrize("codec", [None, *CODECS])
def test_object_array_pickle_inside_joblib(tmp_path: Path, codec: str | None) -> None:
    path = _dump({"objs": np.array([Evil(), 1], dtype=object)}, tmp_path / "m.pkl", codec)
    assert scan_file(path, policy=default_policy()).verdict == "malicious"


@pytest.mark.parametrize("codec", [None, *CODECS])
def test_benign_estimator_is_clean(tmp_path: Path, codec: str | None) -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    model = sklearn.LogisticRegression().fit(np.random.default_rng(0).random((30, 3)), np.arange(30) % 2)
    path = _dump(model, tmp_path / "clf.joblib", codec)
    scan = scan_file(path, policy=default_policy())
    assert scan.verdict == "clean", [(f.rule, f.message) for f in scan.findings]


def test_compressed_joblib_truncated_is_never_clean(tmp_path: Path) -> None:
    for codec in CODECS:
        data = _dump({"m": [1.0] * 500, "a": np.arange(500.0)}, tmp_path / f"t.{codec}", codec).read_bytes()
        for cut in (len(data) // 3, len(data) - 8):
            scan = scan_bytes(data[:cut], name="t.joblib", policy=default_policy())
            assert scan.verdict != "clean", (codec, cut, scan)


def test_raw_pickle_with_junk_after_payload() -> None:
    data = pickle.dumps(Evil()) + os.urandom(64)
    assert scan_bytes(data, name="weights.bin", policy=default_policy()).verdict == "malicious"


def test_joblib_reading_keeps_critical_findings_of_a_plain_pickle_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes joblib treats as array data are opcodes to pickle.load: a payload there must not hide."""
    from clearsight.controls.artifacts.scanners import joblib as module
    from clearsight.core.evidence import Finding
    from clearsight.core.severity import Severity

    calls: list[bool] = []

    def fake(stream: object, policy: object, where: str, *, joblib: bool = False) -> list[Finding]:
        calls.append(joblib)
        if joblib:
            return []
        return [
            Finding(rule="pickle.malformed", severity=Severity.HIGH, message="array bytes are not opcodes"),
            Finding(rule="pickle.dangerous-call", severity=Severity.CRITICAL, message="os.system"),
        ]

    monkeypatch.setattr(module, "scan_pickle", fake)
    data = io.BytesIO()
    joblib.dump({"a": np.arange(3)}, data)
    scan = scan_bytes(data.getvalue(), name="m.joblib", policy=default_policy())
    assert calls == [True, False]
    assert [f.rule for f in scan.findings] == ["pickle.dangerous-call"]
    assert scan.verdict == "malicious"

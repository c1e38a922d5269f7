"""Keras .keras (config.json) and legacy HDF5 (.h5, model_config attribute): Lambda code and custom objects."""

from __future__ import annotations

import base64
import io
import json
import marshal
import zipfile
from pathlib import Path

import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file
from clearsight.controls.artifacts.scanners.keras import analyse_config
from clearsight.core.artifact import FileScan

CODE = base64.b64encode(marshal.dumps((lambda x: x).__code__)).decode()


def _dense(name: str) -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": name, "units": 2, "activation": "relu"},
        "registered_name": None,
    }


def _keras3_lambda() -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "evil",
            "function": {"class_name": "__lambda__", "config": {"code": CODE, "defaults": None, "closure": None}},
        },
        "registered_name": None,
    }


def _model(*layers: dict[str, object]) -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "seq", "layers": list(layers)},
        "registered_name": None,
    }


def _keras_zip(config: dict[str, object] | bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        archive.writestr("config.json", config if isinstance(config, bytes) else json.dumps(config))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    return buf.getvalue()


def _rules(scan: FileScan) -> set[str]:
    return {f.rule for f in scan.findings}


def test_benign_keras_archive_is_clean() -> None:
    scan = scan_bytes(_keras_zip(_model(_dense("d1"), _dense("d2"))), name="m.keras", policy=default_policy())
    assert (scan.format, scan.verdict) == ("keras", "clean"), scan


def test_keras3_lambda_is_critical() -> None:
    scan = scan_bytes(_keras_zip(_model(_dense("d"), _keras3_lambda())), name="m.keras", policy=default_policy())
    assert scan.verdict == "malicious"
    assert "keras.lambda-code" in _rules(scan)
    assert any(f.location and f.location.path == "m.keras!config.json" for f in scan.findings)


def test_custom_and_dangerous_module_references() -> None:
    custom = {
        "module": "my_company.layers",
        "class_name": "Fancy",
        "config": {"name": "f"},
        "registered_name": "x>Fancy",
    }
    scan = scan_bytes(_keras_zip(_model(custom)), name="m.keras", policy=default_policy())
    assert scan.verdict == "suspicious"
    assert "keras.custom-object" in _rules(scan)
    dangerous = {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    assert "keras.dangerous-reference" in _rules(
        scan_bytes(_keras_zip(_model(dangerous)), name="m.keras", policy=default_policy())
    )


def test_keras2_lambda_forms() -> None:
    keras2 = {
        "class_name": "Lambda",
        "config": {"name": "l", "function": [CODE, None, None], "function_type": "lambda", "module": "__main__"},
    }
    findings = analyse_config({"class_name": "Model", "config": {"layers": [keras2]}}, default_policy(), "x.h5")
    assert "keras.lambda-code" in {f.rule for f in findings}


def test_malformed_keras_archives() -> None:
    assert scan_bytes(_keras_zip(b"{not json"), name="m.keras", policy=default_policy()).verdict == "suspicious"
    data = _keras_zip(_model(_keras3_lambda()))
    for cut in (50, len(data) // 2, len(data) - 5):
        assert scan_bytes(data[:cut], name="m.keras", policy=default_policy()).verdict != "clean"


def _fake_h5(config: dict[str, object]) -> bytes:
    """HDF5 magic, binary header bytes, then the model_config attribute text as h5py stores it."""
    text = json.dumps(config).encode()
    return b"\x89HDF\r\n\x1a\n" + bytes(range(0, 32)) + b"model_config\x00\x13\x00\x00" + text + b"\x00\x01\x02" * 30


def test_h5_byte_search_finds_lambda_without_h5py() -> None:
    scan = scan_bytes(_fake_h5(_model(_dense("a"), _keras3_lambda())), name="m.h5", policy=default_policy())
    assert (scan.format, scan.verdict) == ("hdf5", "malicious")
    clean = scan_bytes(_fake_h5(_model(_dense("a"))), name="m.h5", policy=default_policy())
    assert clean.verdict == "clean"


def test_h5_decoy_does_not_hide_the_real_config() -> None:
    data = _fake_h5(_model(_dense("decoy"))) + _fake_h5(_model(_keras3_lambda()))[8:]
    assert scan_bytes(data, name="m.h5", policy=default_policy()).verdict == "malicious"


def test_real_h5_file_with_h5py(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(_model(_dense("d"), _keras3_lambda()))
        handle.attrs["keras_version"] = "2.15.0"
        handle.create_dataset("model_weights/d/kernel", data=np.zeros((3, 2)))
    assert scan_file(path, policy=default_policy()).verdict == "malicious"
    weights = tmp_path / "weights.h5"
    with h5py.File(weights, "w") as handle:
        handle.create_dataset("layer/kernel", data=np.ones((4, 4)))
    assert scan_file(weights, policy=default_policy()).verdict == "clean"

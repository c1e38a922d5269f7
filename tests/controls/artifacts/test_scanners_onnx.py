"""ONNX: external data escaping the model folder, custom domains, subgraphs, truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_file
from clearsight.controls.artifacts.scanners.onnx import location_escapes

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _model(location: str | None = None, *, domain: str = "", subgraph_location: str | None = None) -> bytes:
    weight = numpy_helper.from_array(np.ones((2, 2), dtype=np.float32), "W")
    if location is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "16")):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], domain=domain)]
    if subgraph_location is not None:
        inner_weight = numpy_helper.from_array(np.ones(1, dtype=np.float32), "B")
        inner_weight.ClearField("raw_data")
        inner_weight.data_location = TensorProto.EXTERNAL
        entry = inner_weight.external_data.add()
        entry.key, entry.value = "location", subgraph_location
        branch = helper.make_graph(
            [helper.make_node("Identity", ["B"], ["z"])], "b", [], [helper.make_tensor_value_info("z", 1, [1])],
            initializer=[inner_weight],
        )  # fmt: skip
        nodes.append(helper.make_node("If", ["c"], ["z"], then_branch=branch, else_branch=branch))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        initializer=[weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def test_benign_model_and_external_data_beside_it(tmp_path: Path) -> None:
    assert scan_bytes(_model(), name="m.onnx", policy=default_policy()).verdict == "clean"
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 16)
    (tmp_path / "m.onnx").write_bytes(_model("weights.bin"))
    scan = scan_file(tmp_path / "m.onnx", policy=default_policy())
    assert (scan.format, scan.verdict) == ("onnx", "clean"), scan


@pytest.mark.parametrize(
    "location", ["../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "sub/../../x", "file:///etc/passwd"]
)
def test_external_data_escape(location: str) -> None:
    scan = scan_bytes(_model(location), name="m.onnx", policy=default_policy())
    assert scan.verdict == "malicious"
    assert [f.rule for f in scan.findings] == ["onnx.external-data-escape"]
    assert repr(location) in (scan.findings[0].detail or "")


def test_escape_inside_a_subgraph() -> None:
    scan = scan_bytes(_model(subgraph_location="../../../root/.ssh/id_rsa"), name="m.onnx", policy=default_policy())
    assert "onnx.external-data-escape" in {f.rule for f in scan.findings}


def test_custom_domain_is_a_note() -> None:
    scan = scan_bytes(_model(domain="com.example.custom"), name="m.onnx", policy=default_policy())
    assert scan.verdict == "clean"
    assert [(f.rule, f.severity.value) for f in scan.findings] == [("onnx.custom-domain", "low")]


def test_truncated_model_is_not_clean() -> None:
    data = _model("../x")
    for cut in (30, len(data) // 2, len(data) - 3):
        assert scan_bytes(data[:cut], name="m.onnx", policy=default_policy()).verdict != "clean"


def test_location_escapes() -> None:
    assert location_escapes("weights/w.bin") is None
    assert location_escapes("a/../w.bin") is None
    assert location_escapes("../w.bin")
    assert location_escapes("~/w.bin")

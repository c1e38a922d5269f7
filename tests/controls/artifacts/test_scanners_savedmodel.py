"""TensorFlow SavedModel and frozen GraphDef: file and process ops found with the wire-format reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from protobuf_bytes import field

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes, scan_paths
from clearsight.controls.artifacts.scanners.protobuf_wire import WireError, WireSource, iter_fields


def _node(name: str, op: str, attrs: dict[str, bytes] | None = None) -> bytes:
    body = field(1, name.encode()) + field(2, op.encode())
    for key, value in (attrs or {}).items():
        body += field(5, field(1, key.encode()) + field(2, field(2, value)))  # attr map entry: AttrValue.s
    return body


def _graph(nodes: list[bytes], functions: list[list[bytes]] | None = None) -> bytes:
    body = b"".join(field(1, n) for n in nodes)
    if functions:
        library = b"".join(field(1, field(1, field(1, b"fn")) + b"".join(field(3, n) for n in fn)) for fn in functions)
        body += field(2, library)
    return body + field(4, field(1, 1087))


def _saved_model(graph: bytes) -> bytes:
    meta_info = field(1, field(4, b"serve"))
    return field(1, 1) + field(2, meta_info + field(2, graph))


BENIGN = [_node("x", "Placeholder"), _node("w", "Const"), _node("y", "MatMul"), _node("save/SaveV2", "SaveV2")]


def test_benign_saved_model_is_clean() -> None:
    scan = scan_bytes(_saved_model(_graph(BENIGN)), name="saved_model.pb", policy=default_policy())
    assert (scan.format, scan.verdict) == ("savedmodel", "clean"), scan


@pytest.mark.parametrize(
    ("op", "rule", "verdict"),
    [
        ("ReadFile", "savedmodel.file-read", "suspicious"),
        ("MatchingFiles", "savedmodel.file-read", "suspicious"),
        ("WriteFile", "savedmodel.file-write", "malicious"),
        ("PyFunc", "savedmodel.py-func", "malicious"),
        ("EagerPyFunc", "savedmodel.py-func", "malicious"),
    ],
)
def test_dangerous_ops(op: str, rule: str, verdict: str) -> None:
    scan = scan_bytes(_saved_model(_graph([*BENIGN, _node("bad", op)])), name="saved_model.pb", policy=default_policy())
    assert scan.verdict == verdict
    assert rule in {f.rule for f in scan.findings}


def test_ops_inside_library_functions_and_print_to_file() -> None:
    graph = _graph(BENIGN, functions=[[_node("inner", "PyFuncStateless")]])
    assert scan_bytes(_saved_model(graph), name="s.pb", policy=default_policy()).verdict == "malicious"
    printed = _graph([_node("p", "PrintV2", {"output_stream": b"file:///tmp/x"})])
    assert scan_bytes(_saved_model(printed), name="s.pb", policy=default_policy()).verdict == "malicious"
    to_stderr = _graph([_node("p", "PrintV2", {"output_stream": b"stderr"})])
    assert scan_bytes(_saved_model(to_stderr), name="s.pb", policy=default_policy()).verdict == "clean"


def test_frozen_graphdef() -> None:
    scan = scan_bytes(_graph([*BENIGN, _node("w", "WriteFile")]), name="frozen.pb", policy=default_policy())
    assert (scan.format, scan.verdict) == ("tf-graphdef", "malicious")


def test_saved_model_folder_is_one_unit(tmp_path: Path) -> None:
    folder = tmp_path / "export" / "1"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(_saved_model(_graph([*BENIGN, _node("r", "ReadFile")])))
    (folder / "variables" / "variables.index").write_bytes(b"\x00\x01binary index")
    (folder / "fingerprint.pb").write_bytes(field(1, 12345))
    lambda_layer = {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAAAAAAAAEAAAAB", 0, 0]}}
    (folder / "keras_metadata.pb").write_bytes(field(1, field(4, json.dumps(lambda_layer).encode())))
    report = scan_paths([tmp_path], policy=default_policy())
    assert [f.path for f in report.files] == [str(folder)]
    (unit,) = report.files
    assert unit.format == "savedmodel"
    assert {"savedmodel.file-read", "keras.lambda-code"} <= {f.rule for f in unit.findings}
    assert unit.verdict == "malicious"


def test_truncated_and_malformed_graphs_are_not_clean() -> None:
    data = _saved_model(_graph([*BENIGN, _node("bad", "PyFunc")]))
    for cut in range(5, len(data) - 1, 7):
        scan = scan_bytes(data[:cut], name="saved_model.pb", policy=default_policy())
        assert scan.verdict != "clean", (cut, scan.format)


def test_wire_reader_bounds() -> None:
    src = WireSource(field(1, b"abc") + field(2, 7))
    assert [(f.number, f.wire_type) for f in iter_fields(src)] == [(1, 2), (2, 0)]
    with pytest.raises(WireError):
        list(iter_fields(WireSource(b"\x0a\xff\x7f" + b"x" * 10)))  # length past the end
    with pytest.raises(WireError):
        list(iter_fields(WireSource(b"\x08" + b"\xff" * 11)))  # varint too long
    with pytest.raises(WireError):
        list(iter_fields(WireSource(b"\x0b")))  # group wire type

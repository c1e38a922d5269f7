"""Format sniffing by content: every format from its magic bytes or structure, and text that is not a pickle."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import pytest
from protobuf_bytes import field

from clearsight.controls.artifacts.formats import TORCH_LEGACY_MAGIC, refine_zip, sniff

PAYLOAD = pickle.dumps({"weights": [1.0, 2.0], "name": "m"}, protocol=4)


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_pickles_of_every_protocol(protocol: int) -> None:
    data = pickle.dumps(OrderedDict(a=[1, 2.5, "s", None, True]), protocol=protocol)
    assert sniff(data, name="x") == "pickle"


def test_protocol_0_payload_starting_with_global() -> None:
    assert sniff(b"cos\nsystem\n(S'echo hi'\ntR.", name="x") == "pickle"


def test_pickle_named_bin_is_still_a_pickle() -> None:
    assert sniff(PAYLOAD, name="pytorch_model.bin") == "pickle"


@pytest.mark.parametrize(
    "text",
    [
        b"hello world\n",
        b"import os\nprint(os.getcwd())\n",
        b"class Foo:\n    x = 1\n",
        b"(foo bar) baz\n",
        b"Name: value\nOther: 2\n",
        b"I am a sentence.\n",
        b"]]>\n",
        b"def f():\n    return 1\n",
        b"# README\n\nSome text.\n",
        b'{"json": true}\n',
        b"N/A, 1, 2\n",
        b"S3 bucket list\n",
        b"Version 1.0\nLicence MIT\n",
    ],
)
def test_text_is_not_a_pickle(text: bytes) -> None:
    assert sniff(text, name="notes.txt") == "unknown"


def test_compressed_streams() -> None:
    assert sniff(gzip.compress(PAYLOAD), name="") == "gzip"
    assert sniff(bz2.compress(PAYLOAD), name="") == "bz2"
    assert sniff(lzma.compress(PAYLOAD, format=lzma.FORMAT_XZ), name="") == "xz"
    assert sniff(lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE), name="") == "lzma"
    for level in (1, 6, 9):
        assert sniff(zlib.compress(PAYLOAD, level), name="") == "zlib"


def test_tar() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        info = tarfile.TarInfo("model.pkl")
        info.size = len(PAYLOAD)
        archive.addfile(info, io.BytesIO(PAYLOAD))
    assert sniff(buf.getvalue(), name="x") == "tar"


def test_zip_kinds_from_member_names() -> None:
    assert sniff(_zip(["archive/data.pkl", "archive/version", "archive/data/0"]), name="") == "torch-zip"
    assert sniff(_zip(["metadata.json", "config.json", "model.weights.h5"]), name="") in ("keras", "zip")
    assert refine_zip(["metadata.json", "config.json", "model.weights.h5"]) == "keras"
    assert sniff(_zip(["a.npy", "b.npy"]), name="") == "npz"
    assert sniff(_zip(["readme.txt"]), name="") == "zip"
    assert refine_zip(["archive/data.pkl", "archive/version"]) == "torch-zip"
    assert refine_zip(["x/data.pkl"]) == "zip"  # no version file: not what torch.load reads
    assert refine_zip(["config.json"]) == "zip"


def test_torch_legacy_magic() -> None:
    data = pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2) + pickle.dumps(1001, protocol=2) + b"\x80\x02}q\x00."
    assert sniff(data, name="") == "torch-legacy"


def test_joblib_by_wrapper() -> None:
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump({"a": np.arange(100, dtype=np.float64)}, buf)
    assert sniff(buf.getvalue(), name="m.pkl") == "joblib"


def test_npy_hdf5_gguf_safetensors() -> None:
    buf = io.BytesIO()
    np.save(buf, np.arange(4))
    assert sniff(buf.getvalue(), name="") == "numpy"
    assert sniff(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, name="") == "hdf5"
    assert sniff(b"GGUF\x03\x00\x00\x00" + b"\x00" * 16, name="") == "gguf"
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    assert sniff(struct.pack("<Q", len(header)) + header + b"\x00" * 4, name="") == "safetensors"
    # a long header: only its start is in the head
    big = json.dumps({f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i in range(9000)})
    assert sniff((struct.pack("<Q", len(big)) + big.encode())[:65536], name="") == "safetensors"


def test_onnx_savedmodel_graphdef_protobufs() -> None:
    node = field(1, b"x") + field(2, b"Const")
    graph = field(1, node)
    onnx_model = (
        field(1, 8) + field(2, b"pytorch") + field(7, field(1, field(4, b"Relu"))) + field(8, field(2, 17))
    )
    assert sniff(onnx_model, name="") == "onnx"
    saved = field(1, 1) + field(2, field(1, field(4, b"serve")) + field(2, graph))
    assert sniff(saved, name="") == "savedmodel"
    assert sniff(graph + field(4, field(1, 27)), name="") == "tf-graphdef"


def test_real_onnx_file() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    assert sniff(onnx.helper.make_model(graph).SerializeToString(), name="") == "onnx"


def test_empty_and_random_bytes() -> None:
    assert sniff(b"", name="x.pkl") == "unknown"
    assert sniff(bytes(range(256)) * 4, name="x") == "unknown"
    assert sniff(b"\x00" * 1024, name="x") == "unknown"

"""A generated corpus of benign and malicious model files, for the scanner tests and the benchmark.

Everything is written by this module's code; nothing is downloaded and no binary blob is checked in. The
malicious files carry harmless payloads only (``echo clearsight-test``, ``1+1``, reading a missing file) and
are never loaded, unpickled or executed: the scanner must judge them from their bytes.

    plan_corpus()        the entries (name, label, family, description, accepted verdicts), cheap: no writing
    build_corpus(root)   writes every entry under ``root`` and returns them with their paths
    missing_optional()   optional libraries that are not installed, so their families were left out

Benign files come from the real libraries where they are installed (torch, scikit-learn/joblib, numpy,
safetensors, onnx, h5py); formats without a library here (Keras ``.keras``, GGUF, TensorFlow SavedModel)
are assembled by hand following their specifications. Malicious pickles are assembled opcode by opcode
(:func:`asm`) or produced by :mod:`pickle` itself from an object whose ``__reduce__`` names the payload.
"""

from __future__ import annotations

import base64
import builtins
import bz2
import functools
import gzip
import importlib.util
import io
import json
import lzma
import marshal
import os
import pickle
import pickletools
import re
import struct
import tarfile
import types
import warnings
import zipfile
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple

Label = Literal["malicious", "benign"]
ECHO = "echo clearsight-test"
TRUNCATION = r"(?i)truncat|end of (file|data|stream|input)|ended early|incomplete|malformed"


@dataclass(frozen=True)
class CorpusFile:
    """One corpus entry. ``path`` is set by :func:`build_corpus` (a file, or a folder for a SavedModel)."""

    name: str
    label: Label
    family: str
    description: str
    expected: tuple[str, ...] = ()
    """Verdicts Clearsight may give; defaults to ``("malicious",)`` or ``("clean",)`` from the label."""
    reason: str | None = None
    """Regex one finding (rule, message or detail) must match when the verdict is ``suspicious``."""
    write: Callable[[Path], None] | None = field(default=None, repr=False, compare=False)
    path: Path | None = None

    def __post_init__(self) -> None:
        if not self.expected:
            object.__setattr__(self, "expected", ("malicious",) if self.label == "malicious" else ("clean",))

    @property
    def test_id(self) -> str:
        return f"{self.family}:{self.name}"


# --------------------------------------------------------------------------------------------------------
# A small pickle assembler: expressions in, opcode bytes out, for any protocol and either global opcode.


class Glob(NamedTuple):
    """A ``module.name`` global (GLOBAL or STACK_GLOBAL)."""

    module: str
    name: str


class Call(NamedTuple):
    """``func(*args)`` through REDUCE."""

    func: Any
    args: tuple[Any, ...] = ()


class Raw(NamedTuple):
    """Opcode bytes inserted as they are."""

    data: bytes


def _text0(s: str) -> bytes:
    """A protocol-0 UNICODE argument, escaped the way :mod:`pickle` does."""
    for ch, esc in (("\\", "\\u005c"), ("\0", "\\u0000"), ("\n", "\\u000a"), ("\r", "\\u000d"), ("\x1a", "\\u001a")):
        s = s.replace(ch, esc)
    return s.encode("raw-unicode-escape")


def _emit(x: Any, proto: int, stack_global: bool) -> bytes:
    def rec(y: Any) -> bytes:
        return _emit(y, proto, stack_global)

    if isinstance(x, Raw):
        return x.data
    if isinstance(x, Glob):
        if stack_global:
            return rec(x.module) + rec(x.name) + b"\x93"
        return b"c" + f"{x.module}\n{x.name}\n".encode()
    if isinstance(x, Call):
        return rec(x.func) + rec(tuple(x.args)) + b"R"
    if x is None:
        return b"N"
    if isinstance(x, bool):
        if proto >= 2:
            return b"\x88" if x else b"\x89"
        return b"I01\n" if x else b"I00\n"
    if isinstance(x, int):
        if proto == 0:
            return b"I%d\n" % x
        if 0 <= x < 256:
            return b"K" + bytes([x])
        if -(2**31) <= x < 2**31:
            return b"J" + struct.pack("<i", x)
        return b"L%dL\n" % x
    if isinstance(x, str):
        raw = x.encode()
        if proto >= 4 and len(raw) < 256:
            return b"\x8c" + bytes([len(raw)]) + raw
        if proto >= 1:
            return b"X" + struct.pack("<I", len(raw)) + raw
        return b"V" + _text0(x) + b"\n"
    if isinstance(x, bytes):
        if proto < 3:
            raise ValueError("bytes need protocol 3 or later in this assembler")
        if len(x) < 256:
            return b"C" + bytes([len(x)]) + x
        return b"B" + struct.pack("<I", len(x)) + x
    if isinstance(x, tuple):
        if not x:
            return b")" if proto >= 1 else b"(t"
        items = b"".join(rec(i) for i in x)
        if proto >= 2 and len(x) <= 3:
            return items + (b"\x85", b"\x86", b"\x87")[len(x) - 1]
        return b"(" + items + b"t"
    if isinstance(x, list):
        return b"(" + b"".join(rec(i) for i in x) + b"l"
    if isinstance(x, dict):
        return b"(" + b"".join(rec(k) + rec(v) for k, v in x.items()) + b"d"
    raise TypeError(f"cannot assemble {type(x).__name__}")


def body(expr: Any, *, proto: int = 4, stack_global: bool | None = None) -> bytes:
    """The opcodes that push ``expr``, without the PROTO header or STOP."""
    return _emit(expr, proto, proto >= 4 if stack_global is None else stack_global)


def asm(expr: Any, *, proto: int = 4, stack_global: bool | None = None, frame: bool | None = None,
        stop: bool = True) -> bytes:
    """A whole pickle pushing ``expr``: PROTO header (protocol 2+), one FRAME (4+), the body and STOP."""
    ops = body(expr, proto=proto, stack_global=stack_global) + (b"." if stop else b"")
    if frame if frame is not None else proto >= 4:
        ops = b"\x95" + struct.pack("<Q", len(ops)) + ops
    return (b"\x80" + bytes([proto]) if proto >= 2 else b"") + ops


def system(module: str = "os", command: str = ECHO) -> Call:
    return Call(Glob(module, "system"), (command,))


class _Reduce:
    """Pickles as ``func(*args)``: how a real attacker makes a payload with :func:`pickle.dumps`."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def _pickle_ends(data: bytes) -> list[int]:
    """End offsets of the pickles stacked in ``data`` (parsed with pickletools, never loaded)."""
    stream, ends = io.BytesIO(data), []
    while stream.tell() < len(data):
        for _ in pickletools.genops(stream):
            pass
        ends.append(stream.tell())
    return ends


# --------------------------------------------------------------------------------------------------------
# Containers, protobuf and GGUF writers.


def _zip(members: Iterable[tuple[str, bytes]], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return buf.getvalue()


def _tar(members: Iterable[tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1704067200
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb(number: int, value: int | str | bytes) -> bytes:
    """One protobuf field: an int as VARINT, str/bytes as LEN."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _tf_node(name: str, op: str, inputs: Iterable[str] = (), attrs: dict[str, bytes] | None = None) -> bytes:
    """A TensorFlow NodeDef; ``attrs`` maps attribute names to encoded AttrValue messages."""
    out = _pb(1, name) + _pb(2, op) + b"".join(_pb(3, i) for i in inputs)
    for key, value in (attrs or {}).items():
        out += _pb(5, _pb(1, key) + _pb(2, value))
    return out


def _tf_attr_type(dtype: int) -> bytes:
    return _pb(6, dtype)


def _tf_attr_str(s: str) -> bytes:
    return _pb(2, s)


def _tf_const(name: str, value: bytes, dtype: int) -> bytes:
    """A Const node holding a scalar (float: 4 little-endian bytes in tensor_content; string: string_val)."""
    tensor = _pb(1, dtype) + _pb(2, b"") + (_pb(8, value) if dtype == 7 else _pb(4, value))
    return _tf_node(name, "Const", attrs={"dtype": _tf_attr_type(dtype), "value": _pb(8, tensor)})


def _saved_model(nodes: list[bytes], functions: list[bytes] | None = None) -> bytes:
    """A SavedModel protobuf: one MetaGraphDef tagged ``serve`` with the given nodes and library functions."""
    graph = b"".join(_pb(1, n) for n in nodes)
    if functions:
        graph += _pb(2, b"".join(_pb(1, f) for f in functions))
    graph += _pb(4, _pb(1, 1766))
    meta_info = _pb(4, "serve") + _pb(5, "2.16.1") + _pb(6, "v2.16.1-0-g5bc9d26649c")
    meta_graph = _pb(1, meta_info) + _pb(2, graph)
    return _pb(1, 1) + _pb(2, meta_graph)


def _tf_function(name: str, nodes: list[bytes]) -> bytes:
    signature = _pb(1, name) + _pb(2, _pb(1, "x") + _pb(3, 1)) + _pb(3, _pb(1, "identity") + _pb(3, 1))
    ret = _pb(4, _pb(1, "identity") + _pb(2, "Identity:output:0"))
    return _pb(1, signature) + b"".join(_pb(3, n) for n in nodes) + ret


GGUF_STRING, GGUF_UINT32, GGUF_ARRAY, GGUF_FLOAT32 = 8, 4, 9, 6


def _gguf_str(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(kind: int, value: Any) -> bytes:
    if kind == GGUF_STRING:
        return _gguf_str(value)
    if kind == GGUF_UINT32:
        return struct.pack("<I", value)
    if kind == GGUF_FLOAT32:
        return struct.pack("<f", value)
    if kind == GGUF_ARRAY:
        elem_kind, items = value
        return struct.pack("<IQ", elem_kind, len(items)) + b"".join(_gguf_value(elem_kind, i) for i in items)
    raise ValueError(kind)


def _gguf(metadata: list[tuple[str, int, Any]]) -> bytes:
    """A GGUF v3 file (spec: ggml docs/gguf.md) with the metadata given and one 4x3 F32 tensor."""
    tensor = struct.pack("<12f", *[i / 10 for i in range(12)])
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(metadata))
    for key, kind, value in metadata:
        out += _gguf_str(key) + struct.pack("<I", kind) + _gguf_value(kind, value)
    out += _gguf_str("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 3, 4)
    out += struct.pack("<IQ", 0, 0)  # GGML_TYPE_F32 at offset 0 of the data section
    out += b"\0" * (-len(out) % 32)
    return out + tensor


def _gguf_metadata(templates: dict[str, str]) -> list[tuple[str, int, Any]]:
    meta: list[tuple[str, int, Any]] = [
        ("general.architecture", GGUF_STRING, "llama"),
        ("general.name", GGUF_STRING, "clearsight-tiny"),
        ("general.alignment", GGUF_UINT32, 32),
        ("llama.context_length", GGUF_UINT32, 128),
        ("llama.embedding_length", GGUF_UINT32, 4),
        ("llama.rope.freq_base", GGUF_FLOAT32, 10000.0),
        ("tokenizer.ggml.model", GGUF_STRING, "gpt2"),
        ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, ["<|im_start|>", "<|im_end|>", "a"])),
    ]
    return meta + [(key, GGUF_STRING, value) for key, value in templates.items()]


CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TOOL_TEMPLATE = (
    "{% if tools %}{{ '<|im_start|>system\\nTools: ' }}{% for tool in tools %}{{ tool['function']['name'] }}"
    "{% if not loop.last %}, {% endif %}{% endfor %}{{ '<|im_end|>\\n' }}{% endif %}" + CHATML
)


# --------------------------------------------------------------------------------------------------------
# Helpers that need the optional libraries (imported lazily, so planning stays cheap).


def missing_optional() -> list[str]:
    """Optional libraries this corpus would use but cannot, because they are not installed."""
    wanted = ["torch", "numpy", "sklearn", "joblib", "safetensors", "onnx", "h5py", "pandas", "xgboost", "lightgbm"]
    return [name for name in wanted if importlib.util.find_spec(name) is None]


def _have(*names: str) -> bool:
    return all(importlib.util.find_spec(n) is not None for n in names)


@functools.cache
def _sklearn_models() -> dict[str, Any]:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return {
        "logreg": LogisticRegression().fit(x, y),
        "forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
    }


def _torch_state_dict() -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    return net.state_dict()


def _torch_bytes(obj: Any, *, legacy: bool = False) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def _rewrite_data_pkl(zip_bytes: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """Rebuild a torch zip with its ``data.pkl`` changed, keeping every other member and the order."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    return _zip((n, change(d) if n.endswith("/data.pkl") else d) for n, d in members)


def _inject_first(pkl: bytes, payload: Any) -> bytes:
    """Run ``payload`` before the original pickle (protocol 2 header kept), discarding its result."""
    assert pkl[:1] == b"\x80"
    return pkl[:2] + body(payload, proto=2) + b"0" + pkl[2:]


def _inject_last(pkl: bytes, payload: Any) -> bytes:
    """Run ``payload`` after the original object was built, just before STOP; the result is unchanged."""
    assert pkl.endswith(b".")
    return pkl[:-1] + body(payload, proto=2) + b"0."


def _legacy_torch_injected() -> bytes:
    """A legacy (non-zip) torch file whose 4th pickle, the object itself, runs a payload first."""
    data = _torch_bytes(_torch_state_dict(), legacy=True)
    ends = _pickle_ends(data[: _legacy_pickles_end(data)])
    start, end = ends[2], ends[3]
    return data[:start] + _inject_first(data[start:end], system("posix")) + data[end:]


def _legacy_pickles_end(data: bytes) -> int:
    """Where the five pickles of a legacy torch file end (raw storage bytes follow)."""
    stream = io.BytesIO(data)
    for _ in range(5):
        for _ in pickletools.genops(stream):
            pass
    return stream.tell()


def _object_array(*items: Any) -> Any:
    import numpy as np

    arr = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        arr[i] = item
    return arr


def _npy_bytes(arr: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _npz_bytes(arrays: dict[str, Any], *, compressed: bool = False) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _joblib_bytes(obj: Any, compress: str | None) -> bytes:
    import tempfile

    import joblib

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.joblib"
        joblib.dump(obj, target, compress=(compress, 3) if compress else 0)
        return target.read_bytes()


def _h5_bytes(fill: Callable[[Any], None]) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        fill(f)
    return buf.getvalue()


H5_STUB = b"\x89HDF\r\n\x1a\n" + b"\0" * 88


def _keras_weights() -> bytes:
    if not _have("h5py", "numpy"):
        return H5_STUB
    import numpy as np

    def fill(f: Any) -> None:
        group = f.create_group("layers/dense/vars")
        group.create_dataset("0", data=np.ones((4, 2), np.float32))
        group.create_dataset("1", data=np.zeros(2, np.float32))

    return _h5_bytes(fill)


def _keras3_config(extra_layers: list[dict[str, Any]] | None = None, activation: Any = "relu") -> dict[str, Any]:
    layers: list[dict[str, Any]] = [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
         "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "build_config": {"input_shape": [None, 4]},
         "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 2, "activation": activation,
                    "use_bias": True,
                    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                           "config": {"seed": None}, "registered_name": None},
                    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                         "registered_name": None},
                    "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                    "bias_constraint": None}},
        *(extra_layers or []),
    ]
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "trainable": True, "dtype": "float32", "layers": layers},
            "build_config": {"input_shape": [None, 4]}, "compile_config": None}


def _keras_file(config: dict[str, Any]) -> bytes:
    metadata = {"keras_version": "3.5.0", "date_saved": "2024-06-01@12:00:00"}
    return _zip([("metadata.json", json.dumps(metadata).encode()), ("config.json", json.dumps(config).encode()),
                 ("model.weights.h5", _keras_weights())], compression=zipfile.ZIP_DEFLATED)


def _lambda_code() -> str:
    """Base64 of a marshalled lambda, as Keras's ``func_dump`` writes it (compiled here, never run)."""
    module = compile(f"lambda x: __import__('os').system('{ECHO}') or x", "<clearsight-corpus>", "eval")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return base64.b64encode(marshal.dumps(code)).decode()


def _keras2_h5(layers: list[dict[str, Any]]) -> bytes:
    import numpy as np

    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "name": "input_1"}},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 2,
                                           "activation": "softmax", "use_bias": True}},
        *layers]}}

    def fill(f: Any) -> None:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"dense"]
        dense = weights.create_group("dense/dense")
        dense.create_dataset("kernel:0", data=np.ones((4, 2), np.float32))
        dense.create_dataset("bias:0", data=np.zeros(2, np.float32))

    return _h5_bytes(fill)


def _onnx_model(external_location: str | None = None) -> bytes:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    if external_location is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external_location), ("offset", "0"), ("length", "32")):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["H"]), helper.make_node("Relu", ["H"], ["Y"])], "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="clearsight-corpus")
    model.ir_version = 8
    if external_location is None:
        onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _stdlib_data() -> dict[str, Any]:
    return {
        "created": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "day": date(2024, 1, 2),
        "window": timedelta(days=3, seconds=7), "price": Decimal("12.50"), "counts": Counter("abracadabra"),
        "ordered": OrderedDict([("b", 2), ("a", 1)]), "groups": defaultdict(list, {"x": [1, 2]}),
        "recent": deque([1, 2, 3], maxlen=5), "tags": {"fraud", "tabular"}, "frozen": frozenset({1, 2}),
        "raw": b"\x00\x01\xff", "blob": bytearray(b"xy"), "complex": complex(1, 2),
        "plain": [1, 2.5, None, True, "text", (1, "a")],
    }


# --------------------------------------------------------------------------------------------------------
# The plan.


def _w(data: Callable[[], bytes]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data())

    return write


def _benign() -> list[CorpusFile]:
    out: list[CorpusFile] = []

    def add(name: str, family: str, description: str, data: Callable[[], bytes], **kw: Any) -> None:
        out.append(CorpusFile(f"benign/{name}", "benign", family, description, write=_w(data), **kw))

    for proto in range(6):
        add(f"stdlib/state_p{proto}.pkl", "stdlib-pickle", f"datetime/decimal/collections/bytes data, protocol {proto}",
            lambda p=proto: pickle.dumps(_stdlib_data(), protocol=p))
    add("containers/state.pkl.gz", "container", "gzip of a plain-data pickle",
        lambda: gzip.compress(pickle.dumps(_stdlib_data(), protocol=4), mtime=0))

    if _have("torch"):
        add("torch/mlp_state_dict.pt", "torch", "torch.save(state_dict), zip format",
            lambda: _torch_bytes(_torch_state_dict()))
        add("torch/mlp_legacy.pt", "torch-legacy", "torch.save(state_dict, _use_new_zipfile_serialization=False)",
            lambda: _torch_bytes(_torch_state_dict(), legacy=True))
        add("torch/pytorch_model.bin", "torch", "Hugging Face style pytorch_model.bin (torch zip)",
            lambda: _torch_bytes(_torch_state_dict()))
        add("torch/checkpoint.pth", "torch", "training checkpoint: model + optimizer state + epoch/loss",
            _torch_checkpoint)
        add("torch/dtypes.pt", "torch", "tensors of float16/bfloat16/int8/bool/complex64/int64 dtypes",
            _torch_dtypes)
        add("torch/parameter.pt", "torch", "nn.Parameter values (torch._utils._rebuild_parameter)",
            _torch_parameter)
        add("torch/quantized.pt", "torch", "a per-tensor quantized qint8 tensor (_rebuild_qtensor)",
            _torch_quantized)
        add("torch/tensor_legacy.pt", "torch-legacy", "a single tensor in the legacy format",
            _torch_tensor_legacy)
        add("torch/full_module.pt", "torch-full-module",
            "torch.save of a whole nn.Module: references the user's own class (corpus._TinyNet), so a "
            "default-deny scanner can only call it unknown", _torch_full_module,
            expected=("suspicious",), reason=r"_TinyNet")
        add("containers/model_bundle.tar.gz", "container", "tar.gz with a torch state_dict and a JSON config",
            lambda: _tar([("model/pytorch_model.bin", _torch_bytes(_torch_state_dict())),
                          ("model/config.json", b'{"hidden": 8}')], "w:gz"))
    if _have("sklearn", "joblib", "numpy"):
        for key, proto in (("logreg", 5), ("forest", 2), ("pipeline", 4)):
            add(f"sklearn/{key}_p{proto}.pkl", "sklearn-pickle", f"scikit-learn {key} via pickle, protocol {proto}",
                lambda k=key, p=proto: pickle.dumps(_sklearn_models()[k], protocol=p))
        add("sklearn/forest.joblib", "joblib", "joblib.dump of a RandomForest (numpy arrays inline)",
            lambda: _joblib_bytes(_sklearn_models()["forest"], None))
        for method in ("zlib", "gzip", "bz2", "lzma", "xz"):
            add(f"sklearn/forest_{method}.joblib", "joblib-compressed", f"joblib.dump(compress=('{method}', 3))",
                lambda m=method: _joblib_bytes(_sklearn_models()["forest"], m))
    if _have("numpy"):
        add("numpy/weights_f32.npy", "numpy", "float32 matrix", lambda: _npy_bytes(_np_arange("float32", (3, 4))))
        add("numpy/ids_i64.npy", "numpy", "int64 vector", lambda: _npy_bytes(_np_arange("int64", (10,))))
        add("numpy/records.npy", "numpy", "structured dtype (name, score)", _np_structured)
        add("numpy/object_plain.npy", "numpy-object", "object array of plain data (str, int, dict, list)",
            lambda: _npy_bytes(_object_array("a", 1, {"k": [1, 2]}, [3.5, None])))
        add("numpy/arrays.npz", "numpy-npz", "np.savez of two arrays",
            lambda: _npz_bytes({"w": _np_arange("float32", (2, 2)), "b": _np_arange("int64", (2,))}))
        add("numpy/arrays_compressed.npz", "numpy-npz", "np.savez_compressed, one object array of plain data",
            lambda: _npz_bytes({"w": _np_arange("float64", (5,)), "names": _object_array("x", "y")},
                               compressed=True))
        add("numpy/ndarray_p5.pkl", "numpy-pickle", "pickled dict of ndarrays and numpy scalars, protocol 5",
            _np_pickle)
        add("numpy/ndarray_numpy1_names.pkl", "numpy-pickle",
            "ndarray pickle as NumPy 1.x wrote it (numpy.core.multiarray._reconstruct), protocol 2",
            lambda: pickle.dumps(_np_arange("float32", (4,)), protocol=2).replace(
                b"numpy._core.multiarray", b"numpy.core.multiarray"))
    if _have("safetensors", "numpy"):
        add("safetensors/model.safetensors", "safetensors", "safetensors.numpy with metadata", _safetensors_np)
        if _have("torch"):
            add("safetensors/torch_model.safetensors", "safetensors", "safetensors.torch of a state_dict",
                _safetensors_torch)
    if _have("onnx", "numpy"):
        add("onnx/tiny.onnx", "onnx", "MatMul+Relu graph built with onnx.helper", lambda: _onnx_model())
        out.append(CorpusFile("benign/onnx/external_ok/model.onnx", "benign", "onnx",
                              "external data in a file beside the model (weights.bin)", write=_onnx_external_ok))
    add("keras/model.keras", "keras", "Keras 3 .keras zip: Sequential(InputLayer, Dense)",
        lambda: _keras_file(_keras3_config()))
    if _have("h5py", "numpy"):
        add("keras/model.h5", "keras-h5", "Keras 2 HDF5 with a model_config of standard layers",
            lambda: _keras2_h5([]))
    add("gguf/tiny-chatml.gguf", "gguf", "GGUF v3 with a ChatML chat template",
        lambda: _gguf(_gguf_metadata({"tokenizer.chat_template": CHATML})))
    add("gguf/tiny-tools.gguf", "gguf", "GGUF v3 with a default and a named tool_use chat template",
        lambda: _gguf(_gguf_metadata({"tokenizer.chat_template": CHATML,
                                      "tokenizer.chat_template.tool_use": TOOL_TEMPLATE})))
    out.append(CorpusFile("benign/savedmodel/dense", "benign", "savedmodel",
                          "SavedModel folder: Placeholder/Const/MatMul/Identity and a library function",
                          write=_savedmodel_writer(_savedmodel_benign)))
    add("containers/model.zip", "container", "zip with a GGUF model and a JSON config",
        lambda: _zip([("model/tiny.gguf", _gguf(_gguf_metadata({"tokenizer.chat_template": CHATML}))),
                      ("model/config.json", b'{"arch": "llama"}')], compression=zipfile.ZIP_DEFLATED))
    return out


def _np_arange(dtype: str, shape: tuple[int, ...]) -> Any:
    import numpy as np

    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def _np_structured() -> bytes:
    import numpy as np

    return _npy_bytes(np.array([("a", 0.5), ("b", 0.25)], dtype=[("name", "U4"), ("score", "f8")]))


def _np_pickle() -> bytes:
    import numpy as np

    return pickle.dumps({"w": _np_arange("float32", (2, 3)), "mean": np.float64(0.5), "n": np.int64(3)},
                        protocol=5)


def _safetensors_np() -> bytes:
    from safetensors.numpy import save

    return bytes(save({"w": _np_arange("float32", (4, 2)), "b": _np_arange("float32", (2,))},
                      metadata={"format": "np", "source": "clearsight-corpus"}))


def _safetensors_torch() -> bytes:
    from safetensors.torch import save

    return bytes(save({k: v.contiguous() for k, v in _torch_state_dict().items()}, metadata={"format": "pt"}))


def _onnx_external_ok(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_onnx_model("weights.bin"))
    (path.parent / "weights.bin").write_bytes(struct.pack("<8f", *[1.0] * 8))


def _torch_checkpoint() -> bytes:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 4)).sum().backward()
    opt.step()
    return _torch_bytes({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "loss": 0.25,
                         "classes": ["fraud", "legit"]})


def _torch_dtypes() -> bytes:
    import torch

    return _torch_bytes({str(dt): torch.ones(3, dtype=dt) for dt in (
        torch.float16, torch.bfloat16, torch.int8, torch.bool, torch.complex64, torch.int64)})


def _torch_parameter() -> bytes:
    import torch

    return _torch_bytes({"scale": torch.nn.Parameter(torch.ones(3)), "shift": torch.zeros(3)})


def _torch_quantized() -> bytes:
    import torch

    with warnings.catch_warnings():  # quantized tensors are deprecated in torch 2.13 but still written
        warnings.simplefilter("ignore")
        return _torch_bytes({"q": torch.quantize_per_tensor(torch.linspace(-1, 1, 8), 0.1, 0, torch.qint8)})


def _torch_tensor_legacy() -> bytes:
    import torch

    return _torch_bytes(torch.arange(6, dtype=torch.float32).reshape(2, 3), legacy=True)


def _torch_full_module() -> bytes:
    import torch

    if "_TinyNet" not in globals():

        class _TinyNet(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc = torch.nn.Linear(4, 2)

        _TinyNet.__module__, _TinyNet.__qualname__ = __name__, "_TinyNet"
        globals()["_TinyNet"] = _TinyNet
    torch.manual_seed(0)
    return _torch_bytes(globals()["_TinyNet"]())


def _savedmodel_writer(make: Callable[[], bytes]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        (path / "variables").mkdir(parents=True, exist_ok=True)
        (path / "saved_model.pb").write_bytes(make())

    return write


def _savedmodel_benign() -> bytes:
    nodes = [
        _tf_node("x", "Placeholder", attrs={"dtype": _tf_attr_type(1)}),
        _tf_const("w", struct.pack("<f", 0.5), 1),
        _tf_node("matmul", "MatMul", ["x", "w"], {"T": _tf_attr_type(1)}),
        _tf_node("output", "Identity", ["matmul"], {"T": _tf_attr_type(1)}),
        _tf_node("call", "StatefulPartitionedCall", ["x"],
                 {"f": _pb(10, _pb(1, "__inference_serve_12")), "Tin": _pb(1, _pb(6, 1)),
                  "Tout": _pb(1, _pb(6, 1))}),
    ]
    function = _tf_function("__inference_serve_12",
                            [_tf_node("Identity", "Identity", ["x"], {"T": _tf_attr_type(1)})])
    return _saved_model(nodes, [function])


def _savedmodel_writefile() -> bytes:
    nodes = [
        _tf_node("x", "Placeholder", attrs={"dtype": _tf_attr_type(1)}),
        _tf_const("filename", b"/tmp/clearsight-test.txt", 7),
        _tf_const("contents", b"clearsight-test", 7),
        _tf_node("write", "WriteFile", ["filename", "contents"]),
        _tf_node("output", "Identity", ["x", "^write"], {"T": _tf_attr_type(1)}),
    ]
    return _saved_model(nodes)


def _savedmodel_pyfunc() -> bytes:
    function = _tf_function("__inference_serve_7", [
        _tf_node("PyFunc", "PyFunc", ["x"], {"token": _tf_attr_str("pyfunc_0"), "Tin": _pb(1, _pb(6, 1)),
                                              "Tout": _pb(1, _pb(6, 1))}),
        _tf_node("Identity", "Identity", ["PyFunc:output:0"], {"T": _tf_attr_type(1)}),
    ])
    nodes = [_tf_node("x", "Placeholder", attrs={"dtype": _tf_attr_type(1)}),
             _tf_node("call", "StatefulPartitionedCall", ["x"], {"f": _pb(10, _pb(1, "__inference_serve_7"))})]
    return _saved_model(nodes, [function])


# Payload callables: (module, name, args, protocol, description). All arguments are harmless.
_CODE = compile("print('clearsight-test')", "<clearsight-corpus>", "exec")
CALLABLES: list[tuple[str, str, tuple[Any, ...], int, str]] = [
    ("os", "system", (ECHO,), 2, "os.system"),
    ("posix", "system", (ECHO,), 3, "posix.system (what pickle writes for os.system on Linux)"),
    ("nt", "system", (ECHO,), 4, "nt.system (os.system as pickled on Windows)"),
    ("os", "popen", (ECHO,), 1, "os.popen"),
    ("os", "execvp", ("echo", ["echo", "clearsight-test"]), 5, "os.execvp"),
    ("subprocess", "Popen", (["echo", "clearsight-test"],), 0, "subprocess.Popen"),
    ("subprocess", "call", (["echo", "clearsight-test"],), 2, "subprocess.call"),
    ("subprocess", "check_output", (["echo", "clearsight-test"],), 4, "subprocess.check_output"),
    ("subprocess", "run", (["echo", "clearsight-test"],), 5, "subprocess.run"),
    ("builtins", "eval", ("1+1",), 4, "builtins.eval"),
    ("builtins", "exec", ("x = 1",), 3, "builtins.exec"),
    ("builtins", "compile", ("1+1", "<clearsight>", "eval"), 2, "builtins.compile"),
    ("builtins", "open", ("/tmp/clearsight-test.txt", "w"), 4, "builtins.open for writing"),
    ("builtins", "__import__", ("os",), 1, "builtins.__import__"),
    ("builtins", "setattr", (Glob("pathlib", "os"), "clearsight_test", 1), 4, "builtins.setattr on a module"),
    ("__builtin__", "eval", ("1+1",), 0, "__builtin__.eval (Python 2 name, mapped by fix_imports)"),
    ("runpy", "run_path", ("/tmp/clearsight-test-missing.py",), 3, "runpy.run_path"),
    ("runpy", "_run_code", ("x = 1", {}), 4, "runpy._run_code"),
    ("importlib", "import_module", ("os",), 2, "importlib.import_module"),
    ("pip", "main", (["--version"],), 4, "pip.main"),
    ("webbrowser", "open", ("http://127.0.0.1:9/clearsight-test",), 3, "webbrowser.open"),
    ("socket", "create_connection", (("127.0.0.1", 9),), 4, "socket.create_connection"),
    ("ctypes", "CDLL", ("libc.so.6",), 2, "ctypes.CDLL"),
    ("pty", "spawn", (["echo", "clearsight-test"],), 4, "pty.spawn"),
    ("shutil", "rmtree", ("/tmp/clearsight-test-missing",), 5, "shutil.rmtree"),
    ("timeit", "timeit", ("x = 1",), 4, "timeit.timeit runs a statement"),
    ("cProfile", "run", ("x = 1",), 3, "cProfile.run runs a statement"),
    ("pdb", "run", ("x = 1",), 2, "pdb.run runs a statement"),
    ("numpy.testing._private.utils", "runstring", ("x = 1", {}), 4,
     "numpy.testing runstring (exec inside an allowed-looking package)"),
]


def _gadgets() -> list[tuple[str, str, bytes]]:
    """(file stem, description, pickle) for payloads built from several globals."""
    os_mod = Glob("pathlib", "os")  # pathlib imports os: this global is the os module itself
    func = Call(Glob("types", "FunctionType"), (Call(Glob("marshal", "loads"), (marshal.dumps(_CODE),)), {}))
    code_args = (_CODE.co_argcount, _CODE.co_posonlyargcount, _CODE.co_kwonlyargcount, _CODE.co_nlocals,
                 _CODE.co_stacksize, _CODE.co_flags, _CODE.co_code, tuple(_CODE.co_consts), _CODE.co_names,
                 _CODE.co_varnames, _CODE.co_filename, _CODE.co_name, _CODE.co_qualname, _CODE.co_firstlineno,
                 _CODE.co_linetable, _CODE.co_exceptiontable, (), ())
    code_obj = Call(Glob("types", "CodeType"), code_args)
    inner = asm(system(), proto=4)
    return [
        ("marshal_functiontype", "types.FunctionType(marshal.loads(code), {})() - code from marshal bytes",
         asm(Call(func, ()), proto=4)),
        ("codetype", "types.CodeType(...) rebuilt field by field, then FunctionType and a call",
         asm(Call(Call(Glob("types", "FunctionType"), (code_obj, {})), ()), proto=4)),
        ("getattr_os", "builtins.getattr(pathlib.os, 'system')(cmd)",
         asm(Call(Call(Glob("builtins", "getattr"), (os_mod, "system")), (ECHO,)), proto=2)),
        ("sys_modules_getitem", "getattr(operator.getitem(sys.modules, 'os'), 'system')(cmd)",
         asm(Call(Call(Glob("builtins", "getattr"),
                       (Call(Glob("operator", "getitem"), (Glob("sys", "modules"), "os")), "system")), (ECHO,)),
             proto=4)),
        ("sys_modules_overwrite", "sys.modules['collections'] = os via SETITEM, then collections.system(cmd)",
         asm(Raw(body(Glob("sys", "modules")) + body("collections") + body(os_mod) + b"s0"
                 + body(Call(Glob("collections", "system"), (ECHO,)))), proto=4)),
        ("dotted_pathlib", "STACK_GLOBAL('pathlib', 'os.system'): a dotted name through an innocent module",
         asm(Call(Glob("pathlib", "os.system"), (ECHO,)), proto=4)),
        ("dotted_torch", "STACK_GLOBAL('torch', 'os.system'): a dotted name through an ML package",
         asm(Call(Glob("torch", "os.system"), (ECHO,)), proto=4)),
        ("attrgetter", "operator.attrgetter('system')(pathlib.os)(cmd)",
         asm(Call(Call(Call(Glob("operator", "attrgetter"), ("system",)), (os_mod,)), (ECHO,)), proto=4)),
        ("methodcaller", "operator.methodcaller('system', cmd)(importlib.import_module('os'))",
         asm(Call(Call(Glob("operator", "methodcaller"), ("system", ECHO)),
                  (Call(Glob("importlib", "import_module"), ("os",)),)), proto=3)),
        ("functools_partial", "functools.partial(os.system, cmd)()",
         asm(Call(Call(Glob("functools", "partial"), (Glob("os", "system"), ECHO)), ()), proto=4)),
        ("nested_pickle_loads", "pickle.loads(b'<a pickle calling os.system>')",
         asm(Call(Glob("pickle", "loads"), (inner,)), proto=4)),
        ("nested_c_pickle", "_pickle.loads(...) with the inner pickle in protocol 3",
         asm(Call(Glob("_pickle", "loads"), (inner,)), proto=3)),
        ("nested_base64", "pickle.loads(base64.b64decode('<payload>')): the inner pickle is not visible",
         asm(Call(Glob("pickle", "loads"), (Call(Glob("base64", "b64decode"), (base64.b64encode(inner).decode(),)),)),
             proto=4)),
    ]


def _opcode_variants() -> list[tuple[str, str, bytes]]:
    args = body((ECHO,), proto=2)
    return [
        ("global_in_proto4", "GLOBAL opcode in a protocol 4 pickle", asm(system(), proto=4, stack_global=False)),
        ("stack_global_in_proto2", "STACK_GLOBAL in a protocol 2 pickle", asm(system(), proto=2, stack_global=True)),
        ("memo_stack_global", "module and name memoised as dict keys, then BINGET x2 + STACK_GLOBAL",
         b"\x80\x04(\x8c\x02os\x94K\x01\x8c\x06system\x94K\x02d0h\x00h\x01\x93" + body((ECHO,)) + b"R."),
        ("memo_binget_global", "GLOBAL memoised with BINPUT, popped, fetched back with BINGET",
         b"\x80\x02cos\nsystem\nq\x070N0h\x07" + args + b"R."),
        ("memo_text_put_get", "protocol 0: GLOBAL stored with PUT, fetched back with GET",
         b"cposix\nsystem\np0\n0g0\n(V" + ECHO.encode() + b"\ntR."),
        ("memo_long_binget", "LONG_BINPUT/LONG_BINGET with memo index 100000",
         b"\x80\x03csubprocess\ncheck_output\nr" + struct.pack("<I", 100000) + b"0j" + struct.pack("<I", 100000)
         + body((["echo", "clearsight-test"],), proto=3) + b"R."),
        ("inst", "INST opcode (protocol 0): MARK args INST os system",
         b"(V" + ECHO.encode() + b"\nios\nsystem\n."),
        ("obj", "OBJ opcode: MARK GLOBAL args OBJ",
         b"(cposix\nsystem\nX" + struct.pack("<I", len(ECHO)) + ECHO.encode() + b"o."),
        ("newobj", "NEWOBJ on subprocess.Popen", asm(Raw(body(Glob("subprocess", "Popen"))
                                                         + body((["echo", "clearsight-test"],)) + b"\x81"))),
        ("newobj_ex", "NEWOBJ_EX on subprocess.Popen with kwargs",
         asm(Raw(body(Glob("subprocess", "Popen")) + body((["echo"],)) + b"}\x8c\x05shell\x89s\x92"), proto=4)),
        ("build_setstate", "BUILD sets an instance __setstate__ = os.system, a second BUILD calls it",
         asm(Raw(body(Call(Glob("argparse", "Namespace"), ())) + body((None, {"__setstate__": Glob("os", "system")}))
                 + b"b" + body(ECHO) + b"b"), proto=4)),
    ]


def _ext_variants() -> list[tuple[str, str, bytes, tuple[str, ...], str | None]]:
    def register(module: str, name: str, code: int, proto: int) -> bytes:
        return body(Call(Glob("copyreg", "add_extension"), (module, name, code)), proto=proto) + b"0"

    def call(arg: str, proto: int) -> bytes:
        return body((arg,), proto=proto) + b"R"

    return [
        ("ext1_registered", "copyreg.add_extension('os','system',0xE1) in the pickle, then EXT1 0xE1",
         asm(Raw(register("os", "system", 0xE1, 4) + b"\x82\xe1" + call(ECHO, 4))), ("malicious",), None),
        ("ext2_registered", "copyreg.add_extension('subprocess','getoutput',0x1234), then EXT2",
         asm(Raw(register("subprocess", "getoutput", 0x1234, 3) + b"\x83\x34\x12" + call(ECHO, 3)), proto=3),
         ("malicious",), None),
        ("ext4_registered", "copyreg.add_extension('builtins','exec',0x12345678), then EXT4",
         asm(Raw(register("builtins", "exec", 0x12345678, 2) + b"\x84\x78\x56\x34\x12" + call("x = 1", 2)),
             proto=2), ("malicious",), None),
        # Called with no registration in the file: the callee is hidden, and calling a hidden callable is
        # critical (pickle.unresolved-call), like any other unresolved import that is called.
        ("ext1_unregistered", "EXT1 0xF0 with no registration in the file, then called: the callee is hidden",
         asm(Raw(b"\x82\xf0" + call(ECHO, 2)), proto=2), ("malicious",), r"(?i)ext|extension"),
    ]


def _malicious() -> list[CorpusFile]:
    out: list[CorpusFile] = []

    def add(name: str, family: str, description: str, data: Callable[[], bytes], **kw: Any) -> None:
        out.append(CorpusFile(f"malicious/{name}", "malicious", family, description, write=_w(data), **kw))

    for proto in range(6):
        add(f"protocols/os_system_p{proto}.pkl", f"protocol-{proto}",
            f"pickle.dumps(protocol={proto}) of an object reducing to os.system",
            lambda p=proto: pickle.dumps(_Reduce(os.system, ECHO), protocol=p))
    for stem, description, data in _opcode_variants():
        family = "memo" if stem.startswith("memo") else ("global-opcode" if "global" in stem else "opcode")
        add(f"opcodes/{stem}.pkl", family, description, lambda d=data: d)
    for module, name, args, proto, description in CALLABLES:
        stem = f"{module}.{name}".replace("__", "").replace(".", "_")
        add(f"callables/{stem}_p{proto}.pkl", "callable", f"{description}, protocol {proto}",
            lambda m=module, n=name, a=args, p=proto: asm(Call(Glob(m, n), a), proto=p))
    for stem, description, data in _gadgets():
        add(f"gadgets/{stem}.pkl", "gadget", description, lambda d=data: d)
    for stem, description, data, expected, reason in _ext_variants():
        add(f"ext/{stem}.pkl", "ext-opcode", description, lambda d=data: d, expected=expected, reason=reason)

    benign_first = pickle.dumps({"weights": [0.1, 0.2], "name": "ok"}, protocol=4)
    add("stream/second_of_three.pkl", "multi-pickle", "benign pickle, then the payload, then another benign one",
        lambda: benign_first + asm(system("posix"), proto=4) + pickle.dumps([1, 2, 3], protocol=2))
    add("stream/last_of_two_proto0.pkl", "multi-pickle", "benign protocol 5 pickle, then a protocol 0 payload",
        lambda: pickle.dumps(_stdlib_data(), protocol=5) + asm(system(), proto=0))
    add("stream/junk_after_payload.pkl", "junk", "payload pickle followed by 1 KiB of non-pickle bytes",
        lambda: asm(system(), proto=2) + bytes(range(256)) * 4)
    add("stream/zeros_after_payload.pkl", "junk", "payload pickle followed by zero padding",
        lambda: asm(Call(Glob("builtins", "exec"), ("x = 1",)), proto=4) + b"\0" * 512)
    add("stream/truncated_after_payload.pkl", "truncated", "REDUCE of os.system, then the file ends mid-opcode",
        lambda: asm(system(), proto=4, stop=False, frame=False) + b"\x8c\x10abc")
    add("stream/truncated_in_global.pkl", "truncated",
        "cut inside the GLOBAL name: nothing resolvable, only suspicion is possible",
        lambda: asm(system(), proto=2)[:12], expected=("suspicious", "malicious"), reason=TRUNCATION)

    if _have("torch"):
        add("torch/injected_zip.pt", "torch-injected", "real torch zip, payload prepended to archive/data.pkl",
            lambda: _rewrite_data_pkl(_torch_bytes(_torch_state_dict()), lambda p: _inject_first(p, system())))
        add("torch/pytorch_model.bin", "torch-injected",
            "real torch zip named pytorch_model.bin, payload appended before STOP of data.pkl",
            lambda: _rewrite_data_pkl(_torch_bytes(_torch_state_dict()),
                                      lambda p: _inject_last(p, Call(Glob("builtins", "eval"), ("1+1",)))))
        add("torch/injected_legacy.pt", "torch-legacy-injected",
            "legacy (non-zip) torch file, payload in the 4th pickle (the object)", _legacy_torch_injected)
    if _have("sklearn", "joblib", "numpy"):
        def hooked() -> dict[str, Any]:
            return {"model": _sklearn_models()["forest"], "hook": _Reduce(os.system, ECHO)}

        add("joblib/forest_hooked.joblib", "joblib", "joblib.dump of a RandomForest plus an os.system reducer "
            "(after the inline numpy arrays)", lambda: _joblib_bytes(hooked(), None))
        for method in ("zlib", "gzip", "bz2", "lzma", "xz"):
            add(f"joblib/forest_hooked_{method}.joblib", "joblib-compressed",
                f"the same, joblib.dump(compress=('{method}', 3))", lambda m=method: _joblib_bytes(hooked(), m))

    payload = asm(system(), proto=2)
    for ext in ("bin", "pt", "txt", "safetensors", "onnx"):
        add(f"renamed/payload.{ext}", "renamed", f"raw payload pickle named .{ext}", lambda: payload)
    add("renamed/model", "renamed", "raw payload pickle without an extension", lambda: payload)

    add("containers/payload.pkl.gz", "container", "gzip of a payload pickle", lambda: gzip.compress(payload, mtime=0))
    add("containers/payload.pkl.bz2", "container", "bz2 of a payload pickle", lambda: bz2.compress(payload))
    add("containers/payload.pkl.xz", "container", "xz of a payload pickle", lambda: lzma.compress(payload))
    add("containers/model.tar", "container", "tar holding a config and a payload pickle",
        lambda: _tar([("model/config.json", b"{}"), ("model/model.pkl", payload)]))
    add("containers/model.tar.gz", "container", "tar.gz holding a payload pickle named .bin",
        lambda: _tar([("model/pytorch_model.bin", payload)], "w:gz"))
    add("containers/zip_in_zip.zip", "container", "zip holding a zip holding a payload pickle",
        lambda: _zip([("inner.zip", _zip([("model.pkl", payload)]))]))
    add("containers/nested_deep.zip", "container-limits",
        "payload pickle inside 12 nested zips: found, or reported as too deep",
        lambda: functools.reduce(lambda acc, _: _zip([("layer.zip", acc)]), range(11), _zip([("m.pkl", payload)])),
        expected=("malicious", "suspicious"), reason=r"(?i)depth|nest|limit")
    add("containers/traversal.zip", "zip-traversal", "zip member named ../../clearsight-test.pkl holding a payload",
        lambda: _zip([("../../clearsight-test.pkl", payload)]))
    add("containers/traversal_benign.zip", "zip-traversal",
        "zip member ../../../tmp/clearsight-test.json (plain JSON): zip-slip on extraction",
        lambda: _zip([("../../../tmp/clearsight-test.json", b"{}")]),
        expected=("malicious", "suspicious"), reason=r"(?i)travers|\.\./|outside|escape|path")
    add("containers/traversal.tar", "zip-traversal", "tar member with an absolute path /tmp/clearsight-test.pkl",
        lambda: _tar([("/tmp/clearsight-test.pkl", payload)]),
        expected=("malicious", "suspicious"), reason=r"(?i)travers|absolute|outside|escape|path")
    add("containers/encrypted.zip", "container-limits",
        "zip whose data.pkl member is flagged encrypted: it cannot be read, so it cannot pass as clean",
        _encrypted_zip, expected=("suspicious",), reason=r"(?i)encrypt")
    add("containers/bomb.zip", "container-limits", "64 MiB of zeros deflated to ~64 KiB (ratio > 1000)",
        lambda: _zip([("data.pkl", b"\0" * (64 << 20))], compression=zipfile.ZIP_DEFLATED),
        expected=("suspicious",), reason=r"(?i)bomb|ratio|limit|too large|size")

    if _have("numpy"):
        arr = functools.partial(_object_array, "ok", _Reduce(builtins.exec, "x = 1"))
        add("numpy/object_payload.npy", "numpy-object", ".npy object array whose pickle calls builtins.exec",
            lambda: _npy_bytes(arr()))
        add("numpy/object_payload.npz", "numpy-npz", ".npz holding that object array next to a float array",
            lambda: _npz_bytes({"w": _np_arange("float32", (3,)), "meta": arr()}))
        add("numpy/object_payload_compressed.npz", "numpy-npz", "savez_compressed of that object array",
            lambda: _npz_bytes({"meta": arr()}, compressed=True))

    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"name": "lambda", "trainable": True, "dtype": "float32", "arguments": {},
                               "function": {"class_name": "__lambda__",
                                            "config": {"value": [_lambda_code(), None, None]}},
                               "output_shape": None}}
    add("keras/lambda.keras", "keras", ".keras whose config has a Lambda layer with marshalled bytecode",
        lambda: _keras_file(_keras3_config([lambda_layer])))
    add("keras/module_injection.keras", "keras",
        ".keras whose Dense activation is {'module': 'os', 'class_name': 'function', 'config': 'system'}",
        lambda: _keras_file(_keras3_config(activation={"module": "os", "class_name": "function",
                                                       "config": "system", "registered_name": "system"})))
    if _have("h5py", "numpy"):
        add("keras/lambda.h5", "keras-h5", "Keras 2 HDF5 whose model_config has a Lambda layer",
            lambda: _keras2_h5([{"class_name": "Lambda", "config": {
                "name": "lambda", "trainable": True, "dtype": "float32", "function": [_lambda_code(), None, None],
                "function_type": "lambda", "module": "__main__", "output_shape": None,
                "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}]))
    out.append(CorpusFile("malicious/savedmodel/writefile", "malicious", "savedmodel",
                          "SavedModel graph with a WriteFile op", write=_savedmodel_writer(_savedmodel_writefile)))
    out.append(CorpusFile("malicious/savedmodel/pyfunc", "malicious", "savedmodel",
                          "SavedModel whose library function holds a PyFunc op",
                          write=_savedmodel_writer(_savedmodel_pyfunc)))
    if _have("onnx", "numpy"):
        add("onnx/external_traversal.onnx", "onnx", "initializer with external data location ../../etc/passwd",
            lambda: _onnx_model("../../etc/passwd"))
        add("onnx/external_absolute.onnx", "onnx", "initializer with external data location /etc/passwd",
            lambda: _onnx_model("/etc/passwd"))

    ssti = {
        "cycler": "{{ cycler.__init__.__globals__.os.popen('echo clearsight-test').read() }}" + CHATML,
        "subclasses": ("{% for c in ().__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
                       "{{ c()._module.__builtins__['__import__']('os').system('echo clearsight-test') }}"
                       "{% endif %}{% endfor %}" + CHATML),
        "attr_filter": ("{% set g = lipsum|attr('__glo' ~ 'bals__') %}{{ g['o' ~ 's'].popen('echo clearsight-test')"
                        ".read() }}" + CHATML),
    }
    for stem, template in ssti.items():
        add(f"gguf/ssti_{stem}.gguf", "gguf-ssti", f"GGUF chat template with a Jinja SSTI payload ({stem})",
            lambda t=template: _gguf(_gguf_metadata({"tokenizer.chat_template": t})))
    add("gguf/ssti_named_template.gguf", "gguf-ssti",
        "benign default template; the payload sits in tokenizer.chat_template.tool_use",
        lambda: _gguf(_gguf_metadata({
            "tokenizer.chat_template": CHATML,
            "tokenizer.chat_template.tool_use":
                "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.popen('id').read() }}"})))
    return out


def _encrypted_zip() -> bytes:
    """A zip whose only member has the 'encrypted' flag set (bit 0) in both headers, with opaque content."""
    content = bytes((i * 73 + 41) % 256 for i in range(12 + 96))
    data = bytearray(_zip([("archive/data.pkl", content)]))
    assert data[:4] == b"PK\x03\x04"
    data[6] |= 1
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 1
    return bytes(data)


def plan_corpus() -> list[CorpusFile]:
    """Every entry this machine can build (families needing a missing library are left out)."""
    entries = _benign() + _malicious()
    names = [e.name for e in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    return entries


def build_corpus(root: Path) -> list[CorpusFile]:
    """Write the corpus under ``root``; returns the entries with ``path`` set."""
    built = []
    for entry in plan_corpus():
        path = root / entry.name
        assert entry.write is not None
        entry.write(path)
        built.append(replace(entry, path=path))
    return built


# --------------------------------------------------------------------------------------------------------
# Reading results back: one verdict per entry from a scan report's files.

VERDICT_RANK = {"clean": 0, "unsupported": 1, "error": 2, "suspicious": 3, "malicious": 4}


def _outer(path: str) -> Path:
    return Path(re.split(r"!", path, maxsplit=1)[0]).resolve()


def results_for(entry: CorpusFile, files: Iterable[Any]) -> list[Any]:
    """The scan results that belong to an entry: its own file, members inside it, or files in its folder."""
    assert entry.path is not None
    target = entry.path.resolve()
    found = []
    for f in files:
        where = _outer(f["path"] if isinstance(f, dict) else f.path)
        if where == target or target in where.parents:
            found.append(f)
    return found


def verdict_for(entry: CorpusFile, files: Iterable[Any]) -> str | None:
    """The worst verdict among :func:`results_for` (None when the scanner reported nothing for it)."""
    verdicts = [f["verdict"] if isinstance(f, dict) else f.verdict for f in results_for(entry, files)]
    return max(verdicts, key=VERDICT_RANK.__getitem__) if verdicts else None

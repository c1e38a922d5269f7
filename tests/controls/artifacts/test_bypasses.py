"""Regressions for files a security review found passing as clean (every payload is built here, never loaded).

P is a protocol-0 ``os.system('echo x')`` call; nothing here unpickles, loads or executes anything.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import struct
import tarfile
import zipfile
import zlib

import pytest

from clearsight.controls.artifacts import containers
from clearsight.controls.artifacts.containers import Limits
from clearsight.controls.artifacts.formats import sniff
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes
from clearsight.controls.artifacts.scanners import keras as keras_scanner
from clearsight.controls.artifacts.scanners import numpy as numpy_scanner
from clearsight.core.artifact import FileScan

P = b"cos\nsystem\n(S'echo x'\ntR."
SG = b"\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."  # the same call through STACK_GLOBAL
POLICY = default_policy()

HIDDEN_PICKLES = {
    "proto1": b"\x80\x01" + P,
    "proto0": b"\x80\x00" + P,
    "hexint": b"\x80\x02I0x1\n0" + P,
    "hexint-noproto": b"I0x1\n0" + P,
    "emptyset": b"\x8f0" + P,
    "shortbinbytes": b"C\x000" + P,
    "long1": b"\x8a\x000" + P,
    "binunicode8": b"\x8d" + bytes(8) + b"0" + P,
    # number lines the C unpickler reads (strtol base 0, stop at a NUL byte) but the pure-Python one refuses,
    # in front of a STACK_GLOBAL payload that no resync of text GLOBALs can find (second review)
    "octal-int": b"I010\n0" + SG,
    "hex-then-octal": b"I0x10\n0I010\n0" + SG,
    "nul-in-int": b"I5\x00x\n0" + SG,
    "nul-in-long": b"L5\x00x\n0" + SG,
    "nul-in-float": b"F1.5\x00x\n0" + SG,
    "nul-memo-key": b"N\x80\x02p0\x00x\n0g0\x00y\n0" + SG,
    "proto-then-octal": b"\x80\x02I010\n0" + SG,
}


def _scan(data: bytes, name: str, limits: Limits | None = None) -> FileScan:
    return scan_bytes(data, name=name, policy=POLICY, limits=limits)


def _rules(scan: FileScan) -> set[str]:
    return {f.rule for f in scan.findings}


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _npy(descr: object, payload: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _assert_malicious(scan: FileScan) -> None:
    assert scan.verdict == "malicious", scan.findings
    assert any(f.rule == "pickle.dangerous-call" and "system" in f.message for f in scan.findings)


# ------------------------------------------------------------------------------ 1. pickles the sniffer missed


@pytest.mark.parametrize("data", list(HIDDEN_PICKLES.values()), ids=list(HIDDEN_PICKLES))
def test_unsniffed_pickle_top_level_is_malicious(data: bytes) -> None:
    _assert_malicious(_scan(data, "model.sav"))


@pytest.mark.parametrize("data", list(HIDDEN_PICKLES.values()), ids=list(HIDDEN_PICKLES))
def test_unsniffed_pickle_in_zip_and_tar_is_malicious(data: bytes) -> None:
    _assert_malicious(_scan(_zip([("model.sav", data)]), "bundle.zip"))
    _assert_malicious(_scan(_tar([("model.sav", data)]), "bundle.tar"))


def test_unsniffed_pickle_in_legacy_torch_tar_is_malicious() -> None:
    hidden = HIDDEN_PICKLES["proto1"]
    _assert_malicious(_scan(_tar([("storages", hidden), ("tensors", hidden), ("pickle", hidden)]), "legacy.pt"))


def test_proto_0_and_1_are_sniffed_as_pickles() -> None:
    assert sniff(pickle.dumps({"a": 1}, protocol=0).replace(b"(", b"\x80\x00(", 1)) == "pickle"
    assert sniff(b"\x80\x01" + pickle.dumps([1, 2], protocol=1)) == "pickle"


def test_text_member_that_is_no_pickle_stays_clean_with_a_note() -> None:
    scanned = _scan(_zip([("a.pkl", pickle.dumps([1, 2])), ("notes", b"hello, this is text\n")]), "bundle.zip")
    assert scanned.verdict == "clean"
    assert "container.unrecognised-member" in _rules(scanned)
    assert _scan(b"hello, this is text\n", "notes.txt").verdict == "unsupported"


# ------------------------------------------------------------------------------ 2. case-variant torch members


def test_torch_case_variant_data_pkl_is_malicious() -> None:
    data = _zip(
        [
            ("archive/DATA.PKL", b"\x80\x02" + P),
            ("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)),
            ("archive/version", b"3\n"),
        ]
    )
    scanned = _scan(data, "case.pt")
    _assert_malicious(scanned)
    collision = [f for f in scanned.findings if f.rule == "container.case-collision"]
    assert collision and collision[0].severity.name == "CRITICAL"


def test_torch_case_collision_without_payload_is_high() -> None:
    benign = pickle.dumps({"w": 1}, protocol=2)
    scanned = _scan(
        _zip([("archive/Data.pkl", benign), ("archive/data.pkl", benign), ("archive/version", b"3\n")]), "c.pt"
    )
    assert scanned.verdict == "suspicious"
    assert [f.severity.name for f in scanned.findings if f.rule == "container.case-collision"] == ["HIGH"]


# ------------------------------------------------------------------------------------- 3. npy object dtypes

DESCRS = ["object", "i4,O", "(2,)O", "object_", "|O", [("a", "<i4"), ("b", "|O")]]


@pytest.mark.parametrize("descr", DESCRS, ids=[str(d) for d in DESCRS])
def test_npy_object_descr_spellings_are_malicious(descr: object) -> None:
    _assert_malicious(_scan(_npy(descr, b"\x80\x02" + P), "obj.npy"))


@pytest.mark.parametrize("descr", DESCRS, ids=[str(d) for d in DESCRS])
def test_npy_object_descr_without_numpy_is_malicious(descr: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numpy_scanner, "_numpy", lambda: None)
    _assert_malicious(_scan(_npy(descr, b"\x80\x02" + P), "obj.npy"))


def test_npy_plain_descr_without_numpy_stays_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numpy_scanner, "_numpy", lambda: None)
    assert _scan(_npy("<f4", bytes(4)), "x.npy").verdict == "clean"


# ------------------------------------------------------------------- 4. torch/keras look-alikes hide members


def test_torch_lookalike_zip_scans_every_member() -> None:
    data = _zip(
        [
            ("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)),
            ("archive/version", b"3\n"),
            ("payload.joblib", b"\x80\x02" + P),
        ]
    )
    _assert_malicious(_scan(data, "masq.zip"))
    data = _zip(
        [
            ("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)),
            ("archive/version", b"3\n"),
            ("x.npy", _npy("|O", b"\x80\x02" + P)),
        ]
    )
    _assert_malicious(_scan(data, "masq.zip"))


def test_keras_lookalike_zip_scans_every_member() -> None:
    data = _zip(
        [
            ("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}).encode()),
            ("metadata.json", b"{}"),
            ("payload.joblib", b"\x80\x02" + P),
        ]
    )
    scanned = _scan(data, "masq.keras")
    assert scanned.format == "keras"
    _assert_malicious(scanned)


# ---------------------------------------------------------------------------------------- 5. joblib formats


@pytest.mark.parametrize("width", [19, 20])
def test_joblib_zf_compat_file_is_malicious(width: int) -> None:
    inner = b"\x80\x02" + P
    data = b"ZF" + hex(len(inner)).ljust(width).encode("ascii") + zlib.compress(inner)
    scanned = _scan(data, "model.joblib")
    assert scanned.format.startswith("joblib-zf")
    _assert_malicious(scanned)


def test_joblib_lz4_is_never_clean() -> None:
    data = b'\x04"M\x18' + bytes(40)
    scanned = _scan(data, "model.joblib")
    assert scanned.verdict != "clean"
    if not containers.LZ4_AVAILABLE:
        assert scanned.verdict == "suspicious"
        assert "format.unscannable" in _rules(scanned)


# ----------------------------------------------------------------------------------- 6. overlapping entries


def _overlap_zip(payload: bytes, n: int, inner_name: bytes = b"m.zip") -> bytes:
    """``n`` central-directory entries that all point at one stored local member (the reviewer's bomb)."""
    crc = zlib.crc32(payload)
    size = len(payload)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, size, size, len(inner_name), 0)
    body = local + inner_name + payload
    entry = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size, len(inner_name), 0, 0, 0, 0, 0, 0
    )
    directory = (entry + inner_name) * n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(directory), len(body), 0)
    return body + directory + end


def test_overlapping_zip_entries_are_reported_and_scanned_once() -> None:
    data = _zip([("w.pkl", pickle.dumps(list(range(100)), protocol=2))])
    for _ in range(4):
        data = _overlap_zip(data, 30)
    scanned = _scan(data, "ov.zip")  # 82 s and 2.6 GB before the fix; now each entry is scanned once
    assert scanned.verdict == "suspicious"
    overlap = [f for f in scanned.findings if f.rule == "container.overlap"]
    assert overlap and all(f.severity.name == "HIGH" for f in overlap)
    assert len(scanned.findings) < 20


def test_overlapping_entries_with_payload_stay_malicious() -> None:
    data = _overlap_zip(_zip([("w.pkl", b"\x80\x02" + P)]), 50)
    scanned = _scan(data, "ov.zip")
    _assert_malicious(scanned)
    assert "container.overlap" in _rules(scanned)
    assert sum(f.rule == "pickle.dangerous-call" for f in scanned.findings) == 1


def test_findings_budget_dedupes_and_summarises() -> None:
    data = _tar([(f"m{i}.pkl", b"\x80\x02" + P) for i in range(40)])
    scanned = _scan(data, "many.tar", Limits(max_findings=10))
    assert scanned.verdict == "malicious"
    assert len(scanned.findings) <= 11
    summary = [f for f in scanned.findings if f.rule == "scan.findings-limit"]
    assert summary and "dropped" in (summary[0].detail or "")


def test_member_budget_stops_scanning() -> None:
    data = _tar([(f"m{i}.pkl", pickle.dumps(i)) for i in range(30)])
    scanned = _scan(data, "many.tar", Limits(max_scanned_members=10))
    assert scanned.verdict == "suspicious"
    assert "container.limit" in _rules(scanned)


# ------------------------------------------------------------------------------------ 7. keras nesting depth

_CODE = base64.b64encode(b"\xe3" + bytes(40)).decode()


def _nested_keras(levels: int) -> bytes:
    node: dict[str, object] = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "lam", "function": {"class_name": "__lambda__", "config": {"code": _CODE}}},
    }
    for i in range(levels):
        node = {"module": "keras", "class_name": "Sequential", "config": {"name": f"s{i}", "layers": [node]}}
    config = {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": "f", "layers": [node]},
    }
    return _zip([("config.json", json.dumps(config).encode()), ("metadata.json", b"{}")])


def test_keras_shallow_lambda_is_malicious() -> None:
    scanned = _scan(_nested_keras(1), "m.keras")
    assert scanned.verdict == "malicious"
    assert "keras.lambda-code" in _rules(scanned)


@pytest.mark.parametrize("levels", [67, 300])
def test_keras_deeply_nested_lambda_is_malicious(levels: int) -> None:
    # The walk is iterative (explicit stack), so nesting depth no longer hides the Lambda at the bottom.
    scanned = _scan(_nested_keras(levels), "m.keras")
    assert scanned.verdict == "malicious", scanned.findings
    assert "keras.lambda-code" in _rules(scanned)
    assert "keras.depth-limit" not in _rules(scanned)


def test_keras_node_budget_is_reported() -> None:
    config = json.loads(_zip_member(_nested_keras(67), "config.json"))
    findings = keras_scanner.analyse_config(config, POLICY, "m.keras", max_nodes=50)
    assert "keras.depth-limit" in {f.rule for f in findings}
    assert "keras.lambda-code" not in {f.rule for f in findings}
    full = keras_scanner.analyse_config(config, POLICY, "m.keras")
    assert "keras.lambda-code" in {f.rule for f in full}


def _zip_member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


# ------------------------------------------------------------------- 8. called EXT codes and long STACK_GLOBAL


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw if len(raw) < 256 else b"X" + struct.pack("<I", len(raw)) + raw


def test_called_unregistered_ext_code_is_malicious() -> None:
    # EXT1 7 + REDUCE, no copyreg.add_extension in the file: a hidden callable that is called.
    scanned = _scan(b"\x80\x02\x82\x07)R.", "model.pkl")
    assert scanned.verdict == "malicious", scanned.findings
    assert "pickle.unresolved-call" in _rules(scanned)


@pytest.mark.parametrize("encoding", ["binunicode", "unicode-text"])
def test_long_stack_global_name_through_known_module_is_malicious(encoding: str) -> None:
    walk = "core." * 60 + "os.system"  # > max_string (256): was skipped and reported as unresolved only
    if encoding == "binunicode":
        data = b"\x80\x04" + _u("numpy") + _u(walk) + b"\x93" + _u("echo x") + b"\x85R."
    else:
        data = b"\x80\x02Vnumpy\nV" + walk.encode() + b"\n\x93Vecho x\n\x85R."
    scanned = _scan(data, "model.pkl")
    assert scanned.verdict == "malicious", scanned.findings
    assert "pickle.dangerous-call" in _rules(scanned)
    assert "pickle.unresolved-global" not in _rules(scanned)


def test_long_stack_global_module_is_judged() -> None:
    data = b"\x80\x04" + _u("os." * 100 + "path") + _u("system") + b"\x93."
    assert _scan(data, "model.pkl").verdict == "malicious"


def test_long_string_budget_keeps_the_reader_bounded() -> None:
    from clearsight.controls.artifacts.pickle_reader import Limits as ReaderLimits
    from clearsight.controls.artifacts.pickle_reader import read_pickles

    junk = b"".join(_u("x" * 1000) + b"0" for _ in range(5))  # 5 kept long strings, each popped again
    data = b"\x80\x04" + junk + _u("numpy") + _u("core." * 60 + "os.system") + b"\x93."
    result = read_pickles(io.BytesIO(data), limits=ReaderLimits(max_long_string_bytes=3000))
    [g] = result.globals
    assert g.name is None and g.module == "numpy"  # budget spent: the name is not kept, the module still is


# ---------------------------------------------------------------------------- 9. case collisions in any zip


@pytest.mark.parametrize(
    ("names", "archive"),
    [
        (["Model.pkl", "model.pkl"], "bundle.zip"),
        (["weights/A.npy", "weights/a.npy"], "arrays.npz"),
        (["config.json", "CONFIG.JSON", "metadata.json"], "m.keras"),
        (["deep/dir/Readme.txt", "deep/DIR/readme.txt"], "docs.zip"),
    ],
)
def test_case_collision_in_any_zip_is_high(names: list[str], archive: str) -> None:
    benign = {"pkl": pickle.dumps([1, 2]), "npy": _npy("<i4", bytes(4)), "json": b"{}", "txt": b"hello\n"}
    data = _zip([(n, benign[n.rsplit(".", 1)[-1].lower()]) for n in names])
    scanned = _scan(data, archive)
    collision = [f for f in scanned.findings if f.rule == "container.case-collision"]
    assert len(collision) == 1 and collision[0].severity.name == "HIGH", scanned.findings
    assert scanned.verdict in ("suspicious", "malicious")


def test_zip_without_case_collision_has_none() -> None:
    scanned = _scan(_zip([("a.pkl", pickle.dumps([1])), ("b.pkl", pickle.dumps([2]))]), "bundle.zip")
    assert "container.case-collision" not in _rules(scanned)
    assert scanned.verdict == "clean"


def _staggered_zip(payload: bytes, n: int, step: int) -> bytes:
    """``n`` stored entries whose data starts ``step`` bytes apart inside one run of bytes (partial overlaps)."""
    name = b"m.pkl"
    size = len(payload)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, zlib.crc32(payload), size, size, len(name), 0)
    body = local + name + payload
    directory = b""
    for i in range(n):
        offset = i * step  # the i-th entry claims its local header i*step bytes into the first one
        part = size - offset - 30 - len(name) if i else size
        entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, part, part, len(name), 0, 0,
                            0, 0, 0, offset)
        directory += entry + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(directory), len(body), 0)
    return body + directory + end


def test_partially_overlapping_entries_are_bounded_and_reported() -> None:
    payload = pickle.dumps(b"\x00" * 200_000, protocol=4)
    data = _staggered_zip(payload, 400, 64)
    # a member budget just above what the cap lets through: scanning all 400 entries would exhaust it
    budget = Limits(max_scanned_members=containers.MAX_PARTIAL_OVERLAP_SCANS + 5)
    scanned = _scan(data, "staggered.zip", budget)
    assert scanned.verdict != "clean"
    overlap = [f for f in scanned.findings if f.rule == "container.overlap"]
    assert overlap and "399 overlapping entries" in (overlap[0].detail or "")
    assert "container.limit" not in _rules(scanned)
    capped = containers.MAX_PARTIAL_OVERLAP_SCANS
    try:  # without the cap the same archive does run into the budget, so the check above can fail
        containers.MAX_PARTIAL_OVERLAP_SCANS = 10_000
        assert "container.limit" in _rules(_scan(data, "staggered.zip", budget))
    finally:
        containers.MAX_PARTIAL_OVERLAP_SCANS = capped


# ------------------------------------------------------ joblib arrays whose dtype spelling moves their end (review 2)

def _joblib_with_dtype(spelling: bytes, *, elsize: int | None = None) -> bytes:
    """``joblib.dump(np.zeros(4))`` (written by joblib, never loaded) with its dtype respelled, and a STACK_GLOBAL
    payload where joblib.load really resumes (after 4 x 8 bytes), hidden from a reader that takes another size."""
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    joblib.dump(np.zeros(4), buffer, protocol=2)
    template = buffer.getvalue()
    head = template[: template.index(b"K\x10ub") + 4].replace(b"X\x02\x00\x00\x00f8",
                                                             b"X" + struct.pack("<I", len(spelling)) + spelling)
    if elsize is not None:  # a lying elsize in the dtype's BUILD state: (3, '<', N, N, N, -1, -1, 0)
        minus_one = b"J\xff\xff\xff\xff"
        head = head.replace(minus_one * 2, b"J" + struct.pack("<i", elsize) + minus_one, 1)
    pad, count, claimed = 0x8E, 4, 64
    region = bytearray(1 + pad + claimed * count)  # where a reader sizing float64 as 64 bytes resumes: the STOP
    region[0] = pad
    region[1:9] = struct.pack("<Q", len(region) - 9)  # plain pickle.load skips to the final STOP as well
    real = 1 + pad + 8 * count
    tail = SG[:-1] + b"0\x8e" + struct.pack("<Q", len(region) - (real + len(SG) + 9))
    region[real:real + len(tail)] = tail
    return head + bytes(region) + b"."


@pytest.mark.parametrize(("spelling", "elsize"), [(b"float64", None), (b"f8", 64)])
def test_a_respelled_joblib_dtype_never_hides_what_follows_the_array(spelling: bytes, elsize: int | None) -> None:
    scan = _scan(_joblib_with_dtype(spelling, elsize=elsize), "model.joblib")
    assert scan.verdict in ("malicious", "suspicious"), scan.findings
    assert scan.verdict == "malicious" or any(f.severity.value == "high" for f in scan.findings)


def test_numpy_own_dtype_spelling_still_sizes_the_array() -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    buffer = io.BytesIO()
    joblib.dump({"w": np.zeros(4), "names": np.array(["ab", "c"]), "when": np.zeros(2, "M8[ns]")}, buffer)
    assert _scan(buffer.getvalue(), "model.joblib").verdict == "clean"


# ------------------------------------------------------------------- frames that claim more than the data (review 2)

@pytest.mark.parametrize("size", [2, 64, 1 << 40, (1 << 63) - 1])
def test_a_frame_running_past_the_data_is_never_clean(size: int) -> None:
    # pickle.load reads a frame's declared bytes before running them, so it refuses these; they were "clean"
    data = b"\x80\x04\x95" + struct.pack("<Q", size + 2) + b"N."
    scan = _scan(data, "model.pkl")
    assert scan.verdict == "suspicious" and "truncated" in " ".join(f.message for f in scan.findings)


@pytest.mark.parametrize("protocol", [4, 5])
def test_framed_pickles_as_python_writes_them_stay_clean(protocol: int) -> None:
    data = pickle.dumps({"weights": list(range(50_000)), "names": ["a" * 70_000]}, protocol=protocol)
    assert data.count(b"\x95") >= 1
    assert _scan(data, "model.pkl").verdict == "clean"
    assert _scan(data + data, "two.pkl").verdict == "clean"

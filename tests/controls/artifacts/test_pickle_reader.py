"""The streaming pickle reader, on pickles generated here (pickle.dumps or hand-assembled opcodes).

Nothing in this file ever loads a pickle: the malicious ones only *reference* os.system & co. by name.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import io
import os
import pickle
import pickletools
import struct
import tracemalloc

import pytest

from clearsight.controls.artifacts.pickle_reader import OPCODE_NAMES, Limits, ReadResult, read_pickles

SYSTEM = f"{os.system.__module__}.system"  # posix.system (nt.system on Windows)


class Payload:
    """``__reduce__`` returns a call of ``func``: pickling it writes a reference, never a call."""

    def __init__(self, func: object, *args: object) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.func, self.args


class Plain:
    def __init__(self) -> None:
        self.x = 1


def s(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def read(data: bytes, **kw: object) -> ReadResult:
    return read_pickles(io.BytesIO(data), **kw)  # type: ignore[arg-type]


def names(result: ReadResult) -> list[str]:
    return [g.qualname for g in result.globals]


def malicious(protocol: int = 4) -> bytes:
    return pickle.dumps(Payload(os.system, "echo harmless"), protocol=protocol)


BENIGN = {
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**70, -(2**70)],
    "floats": [0.5, -1e300, float("inf")],
    "strings": ["", "x", "é" * 100, "y" * 300, "z" * 70000],
    "bytes": [b"", b"ab", b"c" * 300, bytearray(b"d" * 10)],
    "containers": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, {"a": [1, {2, 3}]}, frozenset([1])],
    "shared": [[1, 2]] * 3,
    "special": [None, True, False, ..., NotImplemented, complex(1, 2), slice(1, 9, 2), range(4)],
    "stdlib": [
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        datetime.date(2024, 1, 2),
        datetime.timedelta(days=2),
        decimal.Decimal("1.25"),
        collections.OrderedDict(a=1),
        collections.deque([1]),
    ],
    "object": Plain(),
}


def test_every_opcode_of_protocols_0_to_5_is_known() -> None:
    for op in pickletools.opcodes:
        assert OPCODE_NAMES[op.code.encode("latin-1")[0]] == op.name


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_benign_objects_in_every_protocol(protocol: int) -> None:
    data = pickle.dumps(BENIGN, protocol=protocol)
    result = read(data)
    assert result.failure is None
    assert result.complete == 1
    assert result.pickles[0].end == len(data)
    assert result.pickles[0].protocol == (protocol if protocol >= 2 else None)
    assert all(g.resolved for g in result.globals)
    expected_opcode = "STACK_GLOBAL" if protocol >= 4 else "GLOBAL"
    assert {g.opcode for g in result.globals} == {expected_opcode}
    assert f"{__name__}.Plain" in names(result)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_reduce_payload_is_an_import_that_is_called(protocol: int) -> None:
    data = malicious(protocol)
    result = read(data)
    [g] = [g for g in result.globals if g.qualname == SYSTEM]
    assert g.calls == 1 and g.call_opcode == "REDUCE"
    assert g.call_args == "('echo harmless')"
    assert data[g.offset] in (ord("c"), 0x93)  # GLOBAL or STACK_GLOBAL sits at the recorded offset
    assert data[g.call_offset] == ord("R")  # type: ignore[index]


def test_reference_without_call() -> None:
    result = read(pickle.dumps({"f": os.system}, protocol=4))
    [g] = result.globals
    assert g.qualname == SYSTEM and g.calls == 0


def test_stack_global_through_the_memo() -> None:
    # module and name are memoised (MEMOIZE, BINPUT, LONG_BINPUT, PUT), dropped, and fetched back.
    data = (
        b"\x80\x04"
        + s("posix") + b"\x94"
        + s("system") + b"q\x05"
        + b"00"
        + b"h\x00" + b"j\x05\x00\x00\x00" + b"\x93"
        + s("echo") + b"\x85R0"
        + s("nt") + b"p9\n0" + s("system") + b"r\x07\x00\x00\x00" + b"0"
        + b"g9\nh\x07\x93."
    )
    result = read(data)
    assert result.failure is None
    assert names(result) == ["posix.system", "nt.system"]
    assert result.globals[0].calls == 1 and result.globals[1].calls == 0


def test_global_inst_obj_newobj_newobj_ex_and_build_are_calls() -> None:
    cases = {
        "INST": b"(S'echo'\nios\nsystem\n.",
        "OBJ": b"(cos\nsystem\nS'echo'\no.",
        "NEWOBJ": b"\x80\x02csubprocess\nPopen\nX\x04\x00\x00\x00echo\x85\x81.",
        "NEWOBJ_EX": b"\x80\x04" + s("subprocess") + s("Popen") + b"\x93" + s("echo") + b"\x85}\x92.",
        "BUILD": b"\x80\x04" + s("random") + s("_inst") + b"\x93}b.",
    }
    for opcode, data in cases.items():
        result = read(data)
        assert result.failure is None, opcode
        [g] = result.globals
        assert g.calls == 1 and g.call_opcode == opcode, opcode
        assert g.opcode == ("INST" if opcode == "INST" else "GLOBAL" if data[0] != 0x80 or data[1] == 2 else
                            "STACK_GLOBAL")


def test_copyreg_reconstructor_counts_its_class_as_called() -> None:
    result = read(pickle.dumps(Plain(), protocol=0))
    by_name = {g.qualname: g for g in result.globals}
    assert by_name["copy_reg._reconstructor"].calls == 1
    assert by_name[f"{__name__}.Plain"].calls == 1
    assert "via copy_reg._reconstructor" in (by_name[f"{__name__}.Plain"].call_opcode or "")


def test_calling_a_call_result_marks_the_wrapped_callable_called() -> None:
    data = b"\x80\x02cfunctools\npartial\ncposix\nsystem\nX\x04\x00\x00\x00echo\x86R)R."
    by_name = {g.qualname: g for g in read(data).globals}
    assert by_name["posix.system"].calls == 1
    assert "functools.partial" in (by_name["posix.system"].call_opcode or "")


def test_names_computed_at_load_time_are_unresolved() -> None:
    data = (
        b"\x80\x04" + s("operator") + s("add") + b"\x93" + s("o") + s("s") + b"\x86R"
        + s("system") + b"\x93" + s("echo") + b"\x85R."
    )
    result = read(data)
    assert result.failure is None
    computed = result.globals[1]
    assert not computed.resolved
    assert "operator.add" in (computed.reason or "") and "'system'" in (computed.reason or "")
    assert computed.calls == 1


def test_stack_global_with_a_known_module_keeps_it() -> None:
    data = b"\x80\x04" + s("os") + s("builtins") + s("str") + b"\x93" + s("system") + b"\x85R\x93."
    g = read(data).globals[-1]
    assert g.module == "os" and g.name is None and not g.resolved


def test_stack_global_on_non_strings_is_malformed() -> None:
    result = read(b"\x80\x04K\x01K\x02\x93.")
    assert result.failure is not None and result.failure.kind == "malformed"
    assert "STACK_GLOBAL" in result.failure.message


def test_strings_too_long_to_be_names_are_not_kept() -> None:
    # Beyond max_global_line (64 KiB, the GLOBAL line limit) a string is skipped, never kept.
    data = b"\x80\x04X" + struct.pack("<I", 70000) + b"p" * 70000 + s("system") + b"\x93."
    result = read(data)
    [g] = result.globals
    assert not g.resolved and "too long" in (g.reason or "")


def test_long_strings_up_to_the_global_line_limit_are_kept_for_stack_global() -> None:
    # Longer than max_string (256) but within max_global_line: kept, so a long dotted walk is judged.
    data = b"\x80\x04X" + struct.pack("<I", 5000) + b"p" * 5000 + s("system") + b"\x93."
    [g] = read(data).globals
    assert g.resolved and g.module == "p" * 5000 and g.name == "system"


def test_extension_codes() -> None:
    for data, code in ((b"\x80\x02\x82\x07)R.", 7), (b"\x80\x02\x83\x01\x01.", 257),
                       (b"\x80\x02\x84\x00\x00\x01\x00.", 65536)):
        [g] = read(data).globals
        assert g.ext_code == code and not g.resolved
    [g] = read(b"\x80\x02\x82\x07.", extensions={7: ("posix", "system")}).globals
    assert g.qualname == "posix.system" and g.opcode == "EXT1"
    result = read(b"\x80\x02\x84\x00\x00\x00\x00.")
    assert result.failure is not None and result.failure.kind == "malformed"


def test_extension_registered_inside_the_pickle_resolves() -> None:
    register = b"\x80\x04" + s("copyreg") + s("add_extension") + b"\x93" + s("os") + s("system") + b"K\xe1\x87R0"
    result = read(register + b"\x82\xe1" + s("echo") + b"\x85R.")
    assert result.failure is None
    by_opcode = {g.opcode: g for g in result.globals}
    assert by_opcode["copyreg.add_extension"].qualname == "os.system"
    assert by_opcode["EXT1"].qualname == "os.system" and by_opcode["EXT1"].calls == 1


def test_persistent_ids_torch_style_and_other() -> None:
    torch_like = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storageq\x00ctorch\nFloatStorage\n"
        b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR."
    )
    result = read(torch_like)
    assert result.failure is None
    assert result.persistent_ids == 1 and result.torch_persistent_ids == 1
    assert not [e for e in result.events if e.kind == "persistent-id"]
    result = read(b"Pmy-id\n.")
    assert result.persistent_ids == 1 and result.torch_persistent_ids == 0
    assert [e.kind for e in result.events] == ["persistent-id"]


def test_protocol_5_out_of_band_buffers() -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(pickle.PickleBuffer(b"abc"), protocol=5, buffer_callback=buffers.append)
    result = read(data)
    assert result.failure is None and result.buffers == 1
    assert [e.kind for e in result.events] == ["out-of-band-buffer"]


def test_modifying_an_imported_object_is_recorded() -> None:
    data = b"\x80\x04" + s("collections") + s("OrderedDict") + b"\x93N}" + s("x") + b"K\x01s\x86b."
    result = read(data)
    assert [e.kind for e in result.events] == ["global-mutation"]
    setitem = b"\x80\x04" + s("copyreg") + s("_extension_registry") + b"\x93" + s("k") + s("v") + b"s."
    assert [e.kind for e in read(setitem).events] == ["global-mutation"]


def test_several_pickles_in_one_stream() -> None:
    data = pickle.dumps([1]) + pickle.dumps({"a": 2}, protocol=0) + malicious(2)
    result = read(data)
    assert result.failure is None
    assert [p.index for p in result.pickles] == [1, 2, 3] and result.complete == 3
    [g] = result.globals
    assert g.pickle == 3 and g.qualname == SYSTEM
    assert result.end == len(data)


def test_max_pickles_stops_before_raw_data() -> None:
    head = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps({"w": 1}, protocol=2)
    result = read(head + os.urandom(256), max_pickles=2)
    assert result.failure is None and not result.events
    assert result.end == len(head)


def test_trailing_junk_is_reported_and_not_fatal() -> None:
    data = pickle.dumps([1]) + b"\xff\xfe not a pickle"
    result = read(data)
    assert result.complete == 1 and result.failure is None
    assert [e.kind for e in result.events] == ["trailing-data"]


def test_payload_after_junk_is_found() -> None:
    for data in (pickle.dumps([1]) + b"garbage!" + malicious(), b"NOT A PICKLE" + malicious(2),
                 pickle.dumps([1]) + b"X\xff\xff\x00\x00" + malicious(3), b"junk\ncos\nsystem\n(S'x'\ntR."):
        result = read(data)
        embedded = [g for g in result.globals if g.embedded]
        assert [g.name for g in embedded] == ["system"], data
        assert "embedded-pickle" in [e.kind for e in result.events]


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_truncation_at_every_offset_is_reported(protocol: int) -> None:
    data = malicious(protocol)
    for cut in range(len(data)):
        result = read(data[:cut])
        assert result.failure is not None, cut
        assert result.failure.kind in ("truncated", "malformed", "empty"), cut


class Sparse(io.RawIOBase):
    """``head`` + ``size`` zero bytes + ``tail``, produced on demand (never held in memory)."""

    def __init__(self, head: bytes, size: int, tail: bytes, *, seekable: bool = True) -> None:
        self.head, self.size, self.tail = head, size, tail
        self.total = len(head) + size + len(tail)
        self.pos = 0
        self._seekable = seekable

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("seek")
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.total + offset
        return self.pos

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        done = 0
        while done < len(buffer) and self.pos < self.total:
            pos, want = self.pos, len(buffer) - done
            if pos < len(self.head):
                chunk = self.head[pos:pos + want]
            elif pos < len(self.head) + self.size:
                chunk = bytes(min(want, len(self.head) + self.size - pos, 1 << 20))
            else:
                start = pos - len(self.head) - self.size
                chunk = self.tail[start:start + want]
            buffer[done:done + len(chunk)] = chunk
            done += len(chunk)
            self.pos += len(chunk)
        return done


HUGE = 200 * 1024 * 1024


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x96", b"\x8d"])  # BINBYTES8, BYTEARRAY8, BINUNICODE8
@pytest.mark.parametrize("seekable", [True, False])
def test_huge_payload_is_skipped_with_bounded_memory(opcode: bytes, seekable: bool) -> None:
    head = b"\x80\x04" + opcode + struct.pack("<Q", HUGE)
    tail = b"0" + s("posix") + s("system") + b"\x93" + s("echo") + b"\x85R."
    stream = io.BufferedReader(Sparse(head, HUGE, tail, seekable=seekable))
    tracemalloc.start()
    try:
        result = read_pickles(stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
    assert result.failure is None
    [g] = result.globals
    assert g.qualname == "posix.system" and g.offset == len(head) + HUGE + 1 + 7 + 8


@pytest.mark.parametrize("seekable", [True, False])
def test_huge_payload_cut_short_is_truncated(seekable: bool) -> None:
    head = b"\x80\x04\x8e" + struct.pack("<Q", HUGE)
    result = read_pickles(io.BufferedReader(Sparse(head, HUGE - 1, b"", seekable=seekable)))
    assert result.failure is not None and result.failure.kind == "truncated"


def test_limits_are_reported() -> None:
    many = pickle.dumps(list(range(5000)), protocol=4)
    result = read(many, limits=Limits(max_opcodes=1000))
    assert result.failure is not None and result.failure.kind == "limit" and "max_opcodes" in result.failure.message
    memo = pickle.dumps([str(i) for i in range(300)], protocol=4)
    result = read(memo, limits=Limits(max_memo=100))
    assert result.failure is not None and result.failure.kind == "limit"
    deep = b"(" * 200 + b"N."
    result = read(deep, limits=Limits(max_marks=100))
    assert result.failure is not None and result.failure.kind == "limit"
    wide = b"\x80\x04" + b"N" * 10000 + b"."
    result = read(wide, limits=Limits(max_stack=5000))
    assert result.failure is not None and result.failure.kind == "limit"
    result = read(pickle.dumps(b"x" * 100_000, protocol=4), limits=Limits(max_bytes=50_000))
    assert result.failure is not None and result.failure.kind == "limit"
    result = read(pickle.dumps(1) * 5, limits=Limits(max_pickles=3))
    assert result.failure is not None and result.failure.kind == "limit" and result.complete == 3


def test_stack_underflow_and_missing_memo_are_malformed() -> None:
    for data in (b"R.", b"0.", b"t.", b"\x80\x02h\x03.", b"g12\n.", b"(K\x01u.", b"\xff"):
        result = read(data)
        assert result.failure is not None and result.failure.kind == "malformed", data


def test_pop_with_an_empty_stack_discards_the_mark() -> None:
    result = read(b"(0N.")
    assert result.failure is None and result.complete == 1


def test_protocol_0_text_opcodes() -> None:
    data = b"(I01\nI00\nI42\nL123L\nF1.5\nS'a\\x41'\nVb\\u0041\nNp0\ng0\ntp1\n."
    result = read(data)
    assert result.failure is None
    for bad in (b"Ix\n.", b"Fx\n.", b"Sunquoted\n.", b"Lx\n."):
        result = read(bad)
        assert result.failure is not None and result.failure.kind == "malformed", bad


def test_escaped_protocol_0_strings_resolve() -> None:
    data = b"\x80\x04S'po\\x73ix'\nVs\\u0079stem\n\x93."
    assert names(read(data)) == ["posix.system"]


def test_unsupported_protocol_is_recorded() -> None:
    result = read(b"\x80\x09N.")
    assert result.failure is None and [e.kind for e in result.events] == ["unsupported-protocol"]


def test_offsets_count_from_the_start_of_the_stream() -> None:
    prefix = b"HEADER--"
    stream = io.BytesIO(prefix + malicious())
    stream.seek(len(prefix))
    result = read_pickles(stream)
    [g] = result.globals
    assert g.offset == len(prefix) + malicious().index(b"\x93")


def test_stream_read_errors_are_reported_not_raised() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    result = read_pickles(Broken())  # type: ignore[arg-type]
    assert result.failure is not None and "disk on fire" in result.failure.message


def joblib_like(payload: bytes, *, aligned: bool = False) -> bytes:
    """A joblib-style pickle: a uint8 NumpyArrayWrapper whose raw array bytes are ``payload``."""
    dtype = (
        s("numpy") + s("dtype") + b"\x93" + s("u1") + b"\x89\x88\x87R"
        + b"(K\x03" + s("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    state = (
        b"}(" + s("shape") + b"J" + struct.pack("<i", len(payload)) + b"\x85" + s("dtype") + dtype
        + s("order") + s("C") + s("allow_mmap") + b"\x89"
        + (s("numpy_array_alignment_bytes") + b"K\x10" if aligned else b"") + b"u"
    )
    head = b"\x80\x04" + s("joblib.numpy_pickle") + s("NumpyArrayWrapper") + b"\x93)\x81" + state + b"b"
    return head + (b"\x00" if aligned else b"") + payload + b"."


def test_joblib_array_bytes_are_skipped_but_probed() -> None:
    benign = read(joblib_like(bytes(range(256)) * 4))
    assert benign.failure is None and not benign.events
    assert names(benign) == ["joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtype"]
    assert read(joblib_like(b"\x01" * 9, aligned=True)).failure is None
    # Array bytes that a plain pickle.load would run as opcodes.
    hostile = read(joblib_like(b"cposix\nsystem\n(S'echo'\ntR."))
    assert hostile.failure is None and hostile.complete == 1
    [g] = [g for g in hostile.globals if g.embedded]
    assert g.qualname == "posix.system" and g.calls == 1
    assert "embedded-pickle" in [e.kind for e in hostile.events]
    assert read(joblib_like(b"\x00" * 100), joblib=False).failure is not None


def test_joblib_layout_is_followed() -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    stream = io.BytesIO()
    payload = np.array([1, Payload(os.system, "echo harmless")], dtype=object)
    joblib.dump({"w": np.arange(1000, dtype=np.float32), "m": np.ones((3, 4)), "o": payload}, stream)
    data = stream.getvalue()
    result = read(data, joblib=True)
    assert result.failure is None and result.complete == 1 and not result.events
    assert SYSTEM in names(result)
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in names(result)


# ---- regression: a GLOBAL name longer than max_string no longer loses its module

LONG_WALK = "path." + "os.path." * 40 + "os.system"  # > 256 bytes


def test_long_global_name_keeps_module_and_name() -> None:
    data = b"\x80\x04c" + b"posixpath\n" + LONG_WALK.encode() + b"\n(S'echo x'\ntR."
    result = read(data)
    assert result.failure is None
    [g] = result.globals
    assert (g.module, g.name) == ("posixpath", LONG_WALK)
    assert g.calls == 1


def test_global_name_beyond_the_line_limit_keeps_the_module() -> None:
    data = b"\x80\x04cposixpath\n" + b"a." * 40_000 + b"b\n(S'echo x'\ntR."
    [g] = read(data, limits=Limits(max_global_line=1 << 12)).globals
    assert g.module == "posixpath" and g.name is None and not g.resolved
    assert "name" in (g.reason or "") and g.calls == 1


def test_rot13_stack_global_is_unresolved_and_called() -> None:
    data = (
        b"\x80\x04" + s("codecs") + s("encode") + b"\x93q\x00" + s("bf") + s("rot13") + b"\x86R"
        + b"h\x00" + s("flfgrz") + s("rot13") + b"\x86R\x93" + s("echo x") + b"\x85R."
    )
    result = read(data)
    assert result.failure is None
    computed = result.globals[-1]
    assert not computed.resolved and computed.module is None
    assert computed.calls == 1 and computed.call_opcode == "REDUCE"

"""TensorFlow SavedModel (``saved_model.pb``) and frozen GraphDef (``.pb``) files: ops that reach outside the graph.

The graph's ``NodeDef.op`` names are read with the wire-format reader from the graph and from every function in
its library. Ops that run Python (``PyFunc``…) or write files are critical; ops that read files are reported
as suspicious, since a served model has no business listing or reading the host's files.
"""

from __future__ import annotations

from collections import defaultdict

from clearsight.controls.artifacts.containers import current_context, finding
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners.keras import analyse_config, json_blobs
from clearsight.controls.artifacts.scanners.protobuf_wire import LEN, WireError, WireSource, iter_fields, read_bytes
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

PY_FUNC_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc", "ExecuteFn"})
FILE_WRITE_OPS = frozenset(
    {
        "WriteFile",
        "CreateSummaryFileWriter",
        "CreateSummaryDbWriter",
        "WriteSummary",
        "WriteRawProtoSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteImageSummary",
        "WriteAudioSummary",
        "WriteGraphSummary",
        "DatasetToTFRecord",
        "SaveDataset",
        "SaveDatasetV2",
    }
)
FILE_READ_OPS = frozenset(
    {
        "ReadFile",
        "MatchingFiles",
        "ImmutableConst",
        "WholeFileReader",
        "WholeFileReaderV2",
        "TextLineReader",
        "TextLineReaderV2",
        "TFRecordReader",
        "TFRecordReaderV2",
        "FixedLengthRecordReader",
        "FixedLengthRecordReaderV2",
        "TextLineDataset",
        "TFRecordDataset",
        "TFRecordDatasetV2",
        "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2",
        "LoadDataset",
    }
)
_MAX_NESTING = 64
_EXAMPLES = 5

# (message kind) -> {field number: child message kind}; "node" is a NodeDef, whose op we read.
_SCHEMA: dict[str, dict[int, str]] = {
    "saved_model": {2: "meta_graph"},
    "meta_graph": {2: "graph"},
    "graph": {1: "node", 2: "library"},
    "library": {1: "function"},
    "function": {3: "node"},
}


def _node(src: WireSource, start: int, end: int) -> tuple[str, str, str | None]:
    """(name, op, PrintV2 output_stream) of one NodeDef."""
    name = op = ""
    stream: str | None = None
    for field in iter_fields(src, start, end):
        if field.wire_type != LEN:
            continue
        if field.number == 1:
            name = read_bytes(src, field, limit=1 << 16).decode("utf-8", errors="replace")
        elif field.number == 2:
            op = read_bytes(src, field, limit=1 << 16).decode("utf-8", errors="replace")
        elif field.number == 5:
            key = ""
            value: tuple[int, int] | None = None
            for entry in iter_fields(src, field.value, field.end):
                if entry.number == 1 and entry.wire_type == LEN:
                    key = read_bytes(src, entry, limit=1 << 16).decode("utf-8", errors="replace")
                elif entry.number == 2 and entry.wire_type == LEN:
                    value = (entry.value, entry.end)
            if key == "output_stream" and value is not None:
                for attr in iter_fields(src, *value):
                    if attr.number == 2 and attr.wire_type == LEN:
                        stream = read_bytes(src, attr, limit=1 << 16).decode("utf-8", errors="replace")
    return name, op, stream


def graph_ops(src: WireSource, root: str) -> dict[str, list[str]]:
    """op -> names of the nodes running it, over the graph and its function library."""
    ops: dict[str, list[str]] = defaultdict(list)
    todo: list[tuple[str, int, int, int]] = [(root, 0, src.size, 0)]
    while todo:
        kind, start, end, depth = todo.pop()
        if depth > _MAX_NESTING:
            raise WireError("messages nested too deeply")
        if kind == "node":
            name, op, stream = _node(src, start, end)
            key = op
            if op == "PrintV2" and stream and stream.startswith("file://"):
                key = "PrintV2>file"
            ops[key].append(name)
            continue
        schema = _SCHEMA[kind]
        children = [
            (schema[f.number], f.value, f.end, depth + 1)
            for f in iter_fields(src, start, end)
            if f.number in schema and f.wire_type == LEN
        ]
        todo.extend(reversed(children))  # depth-first in file order, so the read window moves forward
    return ops


def _findings_for(ops: dict[str, list[str]], where: str) -> list[Finding]:
    findings: list[Finding] = []
    for op, nodes in sorted(ops.items()):
        detail = f"op {op} in node(s) {', '.join(nodes[:_EXAMPLES])}" + (" …" if len(nodes) > _EXAMPLES else "")
        if op in PY_FUNC_OPS:
            findings.append(
                finding(
                    "savedmodel.py-func",
                    Severity.CRITICAL,
                    "The graph runs arbitrary Python through a py_func op when it executes.",
                    where,
                    detail,
                )
            )
        elif op in FILE_WRITE_OPS or op == "PrintV2>file":
            findings.append(
                finding(
                    "savedmodel.file-write", Severity.CRITICAL, "The graph writes files on the host.", where, detail
                )
            )
        elif op in FILE_READ_OPS:
            findings.append(
                finding(
                    "savedmodel.file-read",
                    Severity.MEDIUM,
                    "The graph reads or lists files on the host.",
                    where,
                    detail,
                )
            )
    return findings


def _scan(member: Member, root: str) -> list[Finding]:
    with member.open() as stream:
        size = member.size if member.size is not None else stream.seek(0, 2)
        src = WireSource(stream, size)
        try:
            ops = graph_ops(src, root)
        except WireError as exc:
            return [
                finding(
                    "savedmodel.malformed",
                    Severity.HIGH,
                    "The TensorFlow graph file is truncated or malformed, so its ops could not all be read.",
                    member.where,
                    str(exc),
                )
            ]
    return _findings_for(ops, member.where)


def scan_saved_model(member: Member, policy: Policy) -> list[Finding]:
    """Scan a ``saved_model.pb`` (SavedModel protobuf)."""
    return _scan(member, "saved_model")


def scan_graphdef(member: Member, policy: Policy) -> list[Finding]:
    """Scan a frozen GraphDef ``.pb``."""
    return _scan(member, "graph")


def scan_keras_metadata(member: Member, policy: Policy) -> list[Finding]:
    """Scan a SavedModel's ``keras_metadata.pb``: it holds Keras layer configurations (Lambda code included)."""
    findings: list[Finding] = []
    with member.open() as stream:
        for blob in json_blobs(stream, limit=current_context().limits.max_metadata_bytes):
            findings.extend(analyse_config(blob, policy, member.where))
    return findings

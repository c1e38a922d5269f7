"""ONNX models: external-data paths that leave the model folder, and operators from custom domains.

A tensor stored outside the model names its file in ``external_data["location"]``; a runtime that follows an
absolute path or ``..`` reads (and may disclose) any file on the host. Nodes, subgraphs (If/Loop/Scan bodies held
in attributes), functions and training graphs are all walked with the bounded wire-format reader; tensor payloads
(``raw_data``) are skipped by offset, never read.
"""

from __future__ import annotations

import posixpath
import re

from clearsight.controls.artifacts.containers import finding
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners.protobuf_wire import LEN, WireError, WireSource, iter_fields, read_bytes
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

STANDARD_DOMAINS = frozenset(
    {
        "",
        "ai.onnx",
        "ai.onnx.ml",
        "ai.onnx.training",
        "ai.onnx.preview.training",
        "com.microsoft",
        "com.microsoft.nchwc",
    }
)
_MAX_NESTING = 64
_DRIVE = re.compile(r"^[A-Za-z]:")

_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "function": {7: "node"},
    "training": {1: "graph", 2: "graph"},
    "tensor": {},
}


def location_escapes(location: str) -> str | None:
    """Why an external-data location points outside the model's folder, or None."""
    if "\x00" in location:
        return "contains a NUL byte"
    if location.startswith(("/", "\\", "~")) or _DRIVE.match(location):
        return "absolute path"
    if "://" in location:
        return "URL"
    norm = posixpath.normpath(location.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        return "'..' leaves the model folder"
    return None


def _text(src: WireSource, start: int, length: int) -> str:
    return src.read(start, min(length, 1 << 16)).decode("utf-8", errors="replace")


def scan(member: Member, policy: Policy) -> list[Finding]:
    """Scan an ONNX model file."""
    findings: list[Finding] = []
    domains: set[str] = set()
    with member.open() as stream:
        size = member.size if member.size is not None else stream.seek(0, 2)
        src = WireSource(stream, size)
        todo: list[tuple[str, int, int, int]] = [("model", 0, src.size, 0)]
        try:
            while todo:
                kind, start, end, depth = todo.pop()
                if depth > _MAX_NESTING:
                    raise WireError("messages nested too deeply")
                schema = _SCHEMA[kind]
                children: list[tuple[str, int, int, int]] = []
                tensor_name = ""
                for field in iter_fields(src, start, end):
                    if field.wire_type != LEN:
                        continue
                    child = schema.get(field.number)
                    if child is not None:
                        children.append((child, field.value, field.end, depth + 1))
                    elif kind == "node" and field.number == 7:
                        domains.add(_text(src, field.value, field.length))
                    elif kind == "tensor" and field.number == 8:
                        tensor_name = _text(src, field.value, field.length)
                    elif kind == "tensor" and field.number == 13:
                        key = value = ""
                        for entry in iter_fields(src, field.value, field.end):
                            if entry.wire_type == LEN and entry.number == 1:
                                key = read_bytes(src, entry, limit=1 << 16).decode("utf-8", errors="replace")
                            elif entry.wire_type == LEN and entry.number == 2:
                                value = read_bytes(src, entry, limit=1 << 16).decode("utf-8", errors="replace")
                        reason = location_escapes(value) if key == "location" else None
                        if reason:
                            findings.append(
                                finding(
                                    "onnx.external-data-escape",
                                    # no legitimate model needs it, and it is a known exploit (CVE-2022-25882)
                                    Severity.CRITICAL,
                                    "A tensor's external data points outside the model folder; loading it reads "
                                    "an arbitrary file of the host.",
                                    member.where,
                                    f"tensor {tensor_name or '?'}: location {value!r} ({reason})",
                                )
                            )
                todo.extend(reversed(children))
        except WireError as exc:
            findings.append(
                finding(
                    "onnx.malformed",
                    Severity.HIGH,
                    "The ONNX file is truncated or malformed, so it could not be fully checked.",
                    member.where,
                    str(exc),
                )
            )
    custom = sorted(d for d in domains if d not in STANDARD_DOMAINS)
    if custom:
        findings.append(
            finding(
                "onnx.custom-domain",
                Severity.LOW,
                "Operators from custom domains need a runtime extension library to be loaded.",
                member.where,
                ", ".join(custom),
            )
        )
    return findings

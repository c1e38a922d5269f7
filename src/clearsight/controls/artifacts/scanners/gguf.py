"""GGUF (llama.cpp) files: a bounded parse of the header, metadata and tensor table, and the chat template.

The chat template (``tokenizer.chat_template`` and its named variants) is a Jinja2 template that many runtimes
render with a non-sandboxed environment; server-side template injection through it reaches Python objects and,
from there, the operating system. Its code blocks are searched for the constructs such payloads need.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

from clearsight.controls.artifacts.containers import current_context, finding
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

MAX_KV = 1 << 20
MAX_TENSORS = 1 << 24
MAX_KEY = 1 << 16
MAX_DIMS = 8
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# Jinja code blocks ({{ }}, {% %}); constructs inside them that template-injection payloads rely on.
_CODE_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_RISKY_ANYWHERE = re.compile(
    r"__(?:class|globals|builtins|subclasses|mro|base|bases|init|import|getattribute|dict|code|func|self|reduce"
    r"|reduce_ex|loader|spec)__|\\x5f|\\u005f|\\137|\|\s*attr\s*\(",
    re.IGNORECASE,
)
_RISKY_CODE = re.compile(
    r"\b(?:lipsum|cycler|joiner|namespace\s*\.\s*__init__|import|include|extends|os\s*\.\s*\w+|subprocess|popen"
    r"|eval|exec|getattr|self\s*\._\w*|config\s*\.\s*\w+|request\s*\.\s*\w+|url_for|get_flashed_messages)\b",
    re.IGNORECASE,
)


class _Malformed(Exception):
    pass


class _Reader:
    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size

    def remaining(self) -> int:
        return self.size - self.stream.tell()

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.remaining():
            raise _Malformed(f"{what}: {n} bytes claimed, {self.remaining()} left")
        data = self.stream.read(n)
        if len(data) != n:
            raise _Malformed(f"{what}: truncated")
        return data

    def skip(self, n: int, what: str) -> None:
        if n < 0 or n > self.remaining():
            raise _Malformed(f"{what}: {n} bytes claimed, {self.remaining()} left")
        self.stream.seek(n, 1)

    def unpack(self, fmt: str, what: str) -> object:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "little")

    def u64(self, what: str) -> int:
        return int.from_bytes(self.take(8, what), "little")

    def count(self, wide: bool, what: str) -> int:
        return self.u64(what) if wide else self.u32(what)

    def string(self, wide: bool, what: str, *, keep: int) -> str | None:
        """A length-prefixed string; only strings up to ``keep`` bytes are returned (longer ones are skipped)."""
        n = self.count(wide, what)
        if n > keep:
            self.skip(n, what)
            return None
        return self.take(n, what).decode("utf-8", errors="replace")


def template_risks(template: str) -> list[str]:
    """The risky constructs found in a Jinja template's code blocks (sorted, without repeats)."""
    risks: set[str] = set()
    for block in _CODE_BLOCK.findall(template):
        risks.update(m.group(0).strip().lower() for m in _RISKY_ANYWHERE.finditer(block))
        code = _STRING_LITERAL.sub("''", block)
        risks.update(re.sub(r"\s+", "", m.group(0)).lower() for m in _RISKY_CODE.finditer(code))
    return sorted(risks)


def _value(reader: _Reader, vtype: int, wide: bool, key: str, keep: int, depth: int = 0) -> object:
    if vtype in _SCALARS:
        return reader.unpack(_SCALARS[vtype], key)
    if vtype == _STRING:
        return reader.string(wide, key, keep=keep)
    if vtype == _ARRAY:
        if depth > 4:
            raise _Malformed(f"{key}: arrays nested too deeply")
        itype = reader.u32(key)
        n = reader.count(wide, key)
        if n > reader.remaining():
            raise _Malformed(f"{key}: array of {n} items in {reader.remaining()} bytes")
        if itype in _SCALARS:
            reader.skip(n * struct.calcsize(_SCALARS[itype]), key)
            return None
        for _ in range(n):
            _value(reader, itype, wide, key, 0, depth + 1)
        return None
    raise _Malformed(f"{key}: unknown value type {vtype}")


def scan(member: Member, policy: Policy) -> list[Finding]:
    """Parse a GGUF file's header and metadata; check its chat templates."""
    where = member.where
    findings: list[Finding] = []
    keep = current_context().limits.max_metadata_bytes
    with member.open() as stream:
        size = member.size if member.size is not None else stream.seek(0, 2)
        stream.seek(0)
        reader = _Reader(stream, size)
        try:
            if reader.take(4, "magic") != b"GGUF":
                raise _Malformed("bad magic")
            version = reader.u32("version")
            if version not in (1, 2, 3):
                raise _Malformed(f"unknown version {version}")
            wide = version >= 2
            tensors = reader.count(wide, "tensor count")
            kvs = reader.count(wide, "metadata count")
            if tensors > MAX_TENSORS or kvs > MAX_KV or tensors + kvs > reader.remaining():
                raise _Malformed(f"oversized counts: {tensors} tensors, {kvs} metadata entries")
            for _ in range(kvs):
                key = reader.string(wide, "metadata key", keep=MAX_KEY)
                if key is None:
                    raise _Malformed("metadata key longer than 64 KiB")
                vtype = reader.u32(key)
                is_template = key == "tokenizer.chat_template" or key.startswith("tokenizer.chat_template.")
                value = _value(reader, vtype, wide, key, keep if is_template else 1 << 16)
                if is_template:
                    if not isinstance(value, str):
                        findings.append(
                            finding(
                                "gguf.malformed",
                                Severity.HIGH,
                                "A chat template that is not a string, or too large to check.",
                                where,
                                key,
                            )
                        )
                        continue
                    risks = template_risks(value)
                    if risks:
                        findings.append(
                            finding(
                                "gguf.template-injection",
                                Severity.CRITICAL,
                                "The chat template uses constructs of server-side template injection; rendering "
                                "it can run code on the host.",
                                where,
                                f"{key}: {', '.join(risks[:10])}",
                            )
                        )
            for index in range(tensors):
                if reader.string(wide, f"tensor {index} name", keep=MAX_KEY) is None:
                    raise _Malformed(f"tensor {index}: name longer than 64 KiB")
                dims = reader.u32(f"tensor {index} dimensions")
                if dims > MAX_DIMS:
                    raise _Malformed(f"tensor {index}: {dims} dimensions")
                reader.skip(dims * (8 if wide else 4), f"tensor {index} shape")
                reader.u32(f"tensor {index} type")
                offset = reader.u64(f"tensor {index} offset")
                if offset > size:
                    raise _Malformed(f"tensor {index}: data offset {offset} past the end of the file")
        except _Malformed as exc:
            findings.append(
                finding(
                    "gguf.malformed",
                    Severity.HIGH,
                    "The GGUF header or metadata is malformed or truncated.",
                    where,
                    str(exc),
                )
            )
    return findings

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
# Work budget per file, independent of time: metadata entries + tensor entries + array items (declared counts
# are charged before the items are walked; entries and nested arrays cost more units, see below), and bytes
# read while walking the metadata. A real model has well
# under a million of each (a 262k-token vocabulary: tokens, scores, types, merges). Past either budget the
# scan stops with `gguf.limit` (high): never `clean` after stopping early.
MAX_ITEMS = 10_000_000
MAX_WALK_BYTES = 256 << 20
_CHUNK = 1 << 20
_ENTRY_COST = 16  # budget units per metadata entry or tensor entry (parsed field by field)
_NESTED_COST = 10  # per item of an array of arrays
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


class _Limit(Exception):
    pass


class _Reader:
    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size
        self.items = 0  # charged against MAX_ITEMS
        self.walked = 0  # bytes read, charged against MAX_WALK_BYTES

    def charge(self, items: int, what: str) -> None:
        self.items += items
        if self.items > MAX_ITEMS:
            raise _Limit(f"{what}: more than {MAX_ITEMS:,} metadata entries, tensors and array items in the file")

    def skip_strings(self, n: int, wide: bool, what: str) -> None:
        """Skip an array of ``n`` strings, parsing length prefixes from buffered chunks (fast for tiny strings)."""
        stream = self.stream
        width = 8 if wide else 4
        unpack_from = struct.Struct("<Q" if wide else "<I").unpack_from
        left = self.remaining()
        buf = b""
        pos = 0
        for _ in range(n):
            if pos + width > len(buf):
                buf = buf[pos:] + stream.read(min(_CHUNK, left))
                left = self.size - stream.tell()
                self.walked += len(buf)
                if self.walked > MAX_WALK_BYTES:
                    raise _Limit(f"{what}: more than {MAX_WALK_BYTES >> 20} MiB of metadata walked")
                pos = 0
                if width > len(buf):
                    raise _Malformed(f"{what}: truncated string array")
            length = unpack_from(buf, pos)[0]
            pos += width
            if pos + length <= len(buf):
                pos += length
                continue
            beyond = length - (len(buf) - pos)
            if beyond > left:
                raise _Malformed(f"{what}: {length} bytes claimed, {left + len(buf) - pos} left")
            stream.seek(beyond, 1)
            left -= beyond
            buf = b""
            pos = 0
        if pos < len(buf):
            stream.seek(pos - len(buf), 1)  # give back what was buffered but not consumed

    def remaining(self) -> int:
        return self.size - self.stream.tell()

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.remaining():
            raise _Malformed(f"{what}: {n} bytes claimed, {self.remaining()} left")
        self.walked += n
        if self.walked > MAX_WALK_BYTES:
            raise _Limit(f"{what}: more than {MAX_WALK_BYTES >> 20} MiB of metadata read")
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


# String methods whose literal arguments are plain text (`replace('-', '_')`): not a way to build names.
_LITERAL_ARGS = r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_BENIGN_CALL = re.compile(
    r"\b(?:replace|split|rsplit|join|startswith|endswith|strip|lstrip|rstrip)\s*\(\s*"
    + _LITERAL_ARGS
    + r"\s*(?:,\s*"
    + _LITERAL_ARGS
    + r"\s*)?\)"
)
_UNDERSCORES = re.compile(r"^(['\"])_+\1$")
_SUBSCRIPT_OPEN = re.compile(r"([\w)\]])\s*\[")
_KEYWORDS = frozenset({"in", "and", "or", "not", "if", "else", "elif", "is", "for", "set", "return", "do"})
_COMPUTED_KEY = re.compile(r"[~%]|\|(?!\s*(?:length|int)\b)")
_LIT = "\x00"


def _computed_subscripts(code: str) -> bool:
    """Whether a subscript's key is built at render time from strings (``x['_'*2 ~ 'class' ~ '_'*2]``).

    ``code`` has every string literal replaced by one NUL character. Plain keys (``message['role']``,
    ``messages[0]``, ``messages[loop.index0 - 1]``, ``messages[messages|length - 1]``) are not computed.
    """
    for m in _SUBSCRIPT_OPEN.finditer(code):
        before = code[: m.start(1) + 1]
        word = re.search(r"(\w+)$", before)
        if word and word.group(1) in _KEYWORDS:
            continue  # `in ['a', 'b']`: a list literal, not a subscript
        depth = 0
        start = m.end()
        key = None
        for i in range(start, len(code)):
            ch = code[i]
            if ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    key = code[start:i]
                    break
                depth -= 1
        if key is None:
            key = code[start:]
        stripped = key.strip()
        if stripped == _LIT or not stripped:
            continue
        if _LIT in stripped or _COMPUTED_KEY.search(stripped):
            return True
    return False


def template_risks(template: str) -> list[str]:
    """The risky constructs found in a Jinja template's code blocks (sorted, without repeats)."""
    risks: set[str] = set()
    for block in _CODE_BLOCK.findall(template):
        risks.update(m.group(0).strip().lower() for m in _RISKY_ANYWHERE.finditer(block))
        code = _STRING_LITERAL.sub("''", block)
        risks.update(re.sub(r"\s+", "", m.group(0)).lower() for m in _RISKY_CODE.finditer(code))
        # Names assembled at render time: underscores built by concatenation or repetition, `%c` formatting,
        # subscripts whose key is computed rather than written out.
        plain = _BENIGN_CALL.sub("()", block)
        for lit in _STRING_LITERAL.finditer(plain):
            text = lit.group(0)
            if _UNDERSCORES.match(text):
                risks.add(f"underscore literal {text}")
            elif "__" in text:
                risks.add("string literal with '__'")
            elif "%c" in text:
                risks.add("'%c' formatting")
        if re.search(r"~\s*(['\"])_", block):
            risks.add("~'_' concatenation")
        if _computed_subscripts(_STRING_LITERAL.sub(_LIT, block)):
            risks.add("computed subscript key")
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
        # The declared count is charged before any item is walked; an item that is itself an array costs more
        # (each is parsed one by one, and real files never nest arrays).
        reader.charge(n if itype in _SCALARS or itype == _STRING else n * _NESTED_COST, key)
        if itype in _SCALARS:
            reader.skip(n * struct.calcsize(_SCALARS[itype]), key)
            return None
        if itype == _STRING:
            reader.skip_strings(n, wide, key)
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
            reader.charge((tensors + kvs) * _ENTRY_COST, "header")
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
        except _Limit as exc:
            findings.append(
                finding(
                    "gguf.limit",
                    Severity.HIGH,
                    "The GGUF metadata exceeds the scan's work budget; the rest of the file was not checked.",
                    where,
                    str(exc),
                )
            )
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

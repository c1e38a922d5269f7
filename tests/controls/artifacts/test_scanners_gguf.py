"""GGUF: bounded header/metadata parse and chat-template injection."""

from __future__ import annotations

import struct

import pytest

from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_bytes
from clearsight.controls.artifacts.scanners.gguf import template_risks
from clearsight.core.artifact import FileScan

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
QWEN_TOOLS = (
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{%- for message in messages %}{%- if message.role == 'system' %}{{- '<|im_start|>system\\n' + message.content "
    "+ '<|im_end|>\\n' }}{%- endif %}{%- endfor %}{{- 'Please import the data; os.path is fine in prose.' }}"
)
SSTI = "{{ lipsum.__globals__['os'].popen('id').read() }}"
SSTI_ATTR = "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}"
SSTI_CYCLER = "{% for m in messages %}{{ cycler.__init__.__globals__.os.system('id') }}{% endfor %}"


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf(metadata: dict[str, object], tensors: int = 1, *, version: int = 3) -> bytes:
    out = b"GGUF" + struct.pack("<IQQ", version, tensors, len(metadata))
    for key, value in metadata.items():
        out += _string(key)
        if isinstance(value, str):
            out += struct.pack("<I", 8) + _string(value)
        elif isinstance(value, list):
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(_string(str(v)) for v in value)
        else:
            out += struct.pack("<II", 4, int(value))  # type: ignore[call-overload]
    for index in range(tensors):
        out += _string(f"blk.{index}.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 4, 4)
        out += struct.pack("<IQ", 0, 0)
    return out + b"\x00" * 64


def _scan(data: bytes) -> FileScan:
    return scan_bytes(data, name="model.gguf", policy=default_policy())


@pytest.mark.parametrize("template", [LLAMA3, QWEN_TOOLS])
def test_benign_templates_are_clean(template: str) -> None:
    data = _gguf(
        {"general.architecture": "llama", "tokenizer.ggml.tokens": ["a", "b"], "tokenizer.chat_template": template}
    )
    scan = _scan(data)
    assert (scan.format, scan.verdict) == ("gguf", "clean"), scan


@pytest.mark.parametrize("template", [SSTI, SSTI_ATTR, SSTI_CYCLER])
def test_template_injection_is_critical(template: str) -> None:
    scan = _scan(_gguf({"general.architecture": "llama", "tokenizer.chat_template": template}))
    assert scan.verdict == "malicious"
    assert [f.rule for f in scan.findings] == ["gguf.template-injection"]


def test_named_template_variants_are_checked() -> None:
    scan = _scan(_gguf({"tokenizer.chat_template": LLAMA3, "tokenizer.chat_template.tool_use": SSTI}))
    assert scan.verdict == "malicious"


def test_oversized_counts_and_truncation() -> None:
    huge = b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 1 << 40) + b"\x00" * 32
    assert _scan(huge).verdict == "suspicious"
    bad_string = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60)
    assert _scan(bad_string).verdict == "suspicious"
    data = _gguf({"general.architecture": "llama", "tokenizer.chat_template": LLAMA3}, tensors=3)
    for cut in range(8, len(data) - 64, 23):
        assert _scan(data[:cut]).verdict == "suspicious", cut


def test_version_1_layout() -> None:
    out = b"GGUF" + struct.pack("<III", 1, 0, 1)
    raw = SSTI.encode()
    out += struct.pack("<I", len("tokenizer.chat_template")) + b"tokenizer.chat_template"
    out += struct.pack("<II", 8, len(raw)) + raw
    assert _scan(out).verdict == "malicious"


def test_template_risks_ignore_string_literals() -> None:
    assert template_risks("{{ 'import os; os.system(1)' }} plain text __class__") == []
    assert "__class__" in template_risks("{{ ''.__class__ }}")

"""GGUF: bounded header/metadata parse and chat-template injection."""

from __future__ import annotations

import struct
from pathlib import Path

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


# ---- regression: evasive template injection (names built at render time), benign real-world templates

SSTI_COMPUTED = "{{ ()['_'*2~'class'~'_'*2]['_'*2~'base'~'_'*2]['_'*2~'subclasses'~'_'*2]() }}"
SSTI_EVASIVE = [
    SSTI_COMPUTED,
    "{% set u = '__' %}{{ ()[u ~ 'class' ~ u] }}",
    "{{ ()|attr('_' ~ '_class_' ~ '_') }}",
    "{% set n = 'class' %}{{ ()['_' + '_' + n + '_' + '_'] }}",
    "{{ ()[('%c%c' | format(95, 95)) ~ 'class' ~ ('%c%c' | format(95, 95))] }}",
    "{{ x[y ~ z] }}",
]
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)
CHATML_SYS = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}{% if loop.index == 1 and system_message is defined %}"
    "{{ '<|im_start|>system\\n' + system_message + '<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
LLAMA31_TOOLS = (
    "{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}"
    "{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}"
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
    "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{%- for message in messages %}{%- if 'tool_calls' in message %}"
    "{%- set tool_call = message.tool_calls[0].function %}"
    "{{- '{\"name\": \"' + tool_call.name + '\", ' }}{{- '\"parameters\": ' }}{{- tool_call.arguments | tojson }}"
    "{%- elif message.role == 'ipython' or message.role == 'tool' %}"
    "{{- '<|start_header_id|>ipython<|end_header_id|>' }}"
    "{%- else %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
    " + '<|eot_id|>' }}{%- endif %}{%- endfor %}"
    "{%- set last = messages[messages|length - 1] %}{%- set prev = messages[loop_index - 1] if loop_index else none %}"
    "{%- for t in ['a', 'b'] %}{{ t | replace('-', '_') }}{%- endfor %}"
)
PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)
BENIGN_REAL_WORLD = [LLAMA3, QWEN_TOOLS, MISTRAL, CHATML_SYS, GEMMA, LLAMA31_TOOLS, PHI3]


@pytest.mark.parametrize("template", SSTI_EVASIVE)
def test_computed_names_in_templates_are_critical(template: str) -> None:
    assert template_risks(template), template
    scan = _scan(_gguf({"general.architecture": "llama", "tokenizer.chat_template": template}))
    assert scan.verdict == "malicious"
    assert [f.rule for f in scan.findings] == ["gguf.template-injection"]


def test_subclasses_walk_with_computed_keys_is_flagged_for_its_constructs() -> None:
    risks = template_risks(SSTI_COMPUTED)
    assert "computed subscript key" in risks
    assert "~'_' concatenation" in risks


@pytest.mark.parametrize("template", BENIGN_REAL_WORLD)
def test_real_world_templates_stay_clean(template: str) -> None:
    assert template_risks(template) == []
    scan = _scan(_gguf({"general.architecture": "llama", "tokenizer.chat_template": template}))
    assert (scan.format, scan.verdict) == ("gguf", "clean"), scan


# ---- regression: work budget (an array of 2^28 empty strings in a sparse file took minutes and was clean)


def _array_header(n: int, item_type: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("k") + struct.pack("<IIQ", 9, item_type, n)


def test_huge_string_array_stops_at_the_budget_and_is_not_clean(tmp_path: Path) -> None:

    from clearsight.controls.artifacts.containers import Limits
    from clearsight.controls.artifacts.scan import scan_paths

    path = tmp_path / "strings.gguf"
    n = 1 << 28
    with path.open("wb") as out:  # sparse: 2^28 empty strings (8 zero bytes each), 2 GiB on disk as a hole
        out.write(_array_header(n, 8))
        out.truncate(len(_array_header(n, 8)) + 8 * n + 64)
    report = scan_paths([path], policy=default_policy(), limits=Limits(hash_files=False))
    [result] = report.files
    # the item budget stops the walk (264 s before the fix), so the file is reported, never called clean
    assert result.verdict == "suspicious"
    assert [f.rule for f in result.findings] == ["gguf.limit"]


def test_budget_counts_items_across_arrays() -> None:
    from clearsight.controls.artifacts.scanners import gguf

    n = gguf.MAX_ITEMS // 2 + 1
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    data = head + _string("a") + struct.pack("<IIQ", 9, 0, n) + b"\x00" * n
    data += _string("b") + struct.pack("<IIQ", 9, 0, n) + b"\x00" * n + b"\x00" * 64
    scan = _scan(data)
    assert scan.verdict == "suspicious"
    assert [f.rule for f in scan.findings] == ["gguf.limit"]


def test_nested_arrays_cost_more_than_plain_items() -> None:
    from clearsight.controls.artifacts.scanners import gguf

    n = gguf.MAX_ITEMS // gguf._NESTED_COST + 1
    data = _array_header(n, 9) + b"\x00" * (n + 64)  # the declared count alone exceeds the budget
    scan = _scan(data)
    assert [f.rule for f in scan.findings] == ["gguf.limit"]


def test_string_arrays_are_still_walked_exactly() -> None:
    tokens = ["", "a", "b" * 300, "<|im_start|>", "x" * (1 << 21)]  # one longer than the read chunk
    data = _gguf({"tokenizer.ggml.tokens": tokens, "tokenizer.chat_template": SSTI})
    assert _scan(data).verdict == "malicious"  # the template after the array is still reached
    cut = _gguf({"tokenizer.ggml.tokens": tokens})
    assert _scan(cut[: len(cut) - 64 - 200]).verdict == "suspicious"

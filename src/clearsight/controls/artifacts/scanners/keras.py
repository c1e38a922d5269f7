"""Keras models: the v3 ``.keras`` zip (``config.json``) and legacy HDF5 ``.h5`` files (``model_config``).

What runs code when Keras loads a model: ``Lambda`` layers carry marshalled Python bytecode (base64) that is
executed; any object whose ``module`` lies outside Keras makes Keras import that module. Reading the
configuration never executes anything.

HDF5 without h5py: the ``model_config`` attribute is JSON text stored inside the file, found by a bounded byte
search for ``"class_name"`` (every JSON object found is analysed, so a decoy cannot hide the real one). When h5py
is installed the attributes are also read through it — in a separate, resource-limited process
(:mod:`.hdf5_isolated`), because libhdf5 is C code parsing a hostile file — and analysed too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from clearsight.controls.artifacts.containers import current_context, finding, open_zip, zip_members
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners import hdf5_isolated
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

_KERAS_MODULES = (
    "keras",
    "tf_keras",
    "tensorflow.keras",
    "tensorflow.python.keras",
    "keras_hub",
    "keras_nlp",
    "keras_cv",
)
# Containers (dicts and lists) visited per configuration. The walk uses an explicit stack, so nesting depth
# costs nothing (a Lambda under hundreds of nested models is still found); only this budget bounds the work.
_MAX_NODES = 2_000_000


def _walk(node: object, cut: list[int] | None = None, max_nodes: int | None = None) -> Iterator[dict[str, Any]]:
    """Every dict in ``node``, depth first in document order, however deep the nesting.

    At most ``max_nodes`` (default ``_MAX_NODES``) dicts and lists are visited; when the budget runs out the
    number of containers left unvisited is appended to ``cut``.
    """
    budget = _MAX_NODES if max_nodes is None else max_nodes
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if budget <= 0:
            if cut is not None:
                cut.append(1 + sum(isinstance(x, (dict, list)) for x in stack))
            return
        budget -= 1
        if isinstance(item, dict):
            yield item
        stack.extend(reversed([c for c in children if isinstance(c, (dict, list))]))


def _looks_like_code(value: object) -> bool:
    """Lambda function payloads: a list/tuple (Keras 2), a ``__lambda__`` dict (Keras 3) or base64 bytecode."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return _looks_like_code(value[0]) or len(value) == 3
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            return True
        config = value.get("config")
        return isinstance(config, dict) and "code" in config
    if isinstance(value, str) and len(value) >= 16:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return raw[:1] in (b"\xe3", b"\x63")
    return False


def _module_outside_keras(module: str) -> bool:
    return not any(module == m or module.startswith(m + ".") for m in _KERAS_MODULES)


def analyse_config(config: object, policy: Policy, where: str, *, max_nodes: int | None = None) -> list[Finding]:
    """Findings for one Keras model configuration (already parsed JSON); ``max_nodes``: see :func:`_walk`."""
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(rule: str, severity: Severity, message: str, detail: str) -> None:
        if (rule, detail) not in seen:
            seen.add((rule, detail))
            findings.append(finding(rule, severity, message, where, detail))

    cut: list[int] = []
    for node in _walk(config, cut=cut, max_nodes=max_nodes):
        class_name = node.get("class_name")
        layer_config = node.get("config") if isinstance(node.get("config"), dict) else {}
        assert isinstance(layer_config, dict)
        layer_name = str(layer_config.get("name", "?"))
        if class_name == "Lambda" or (isinstance(class_name, str) and class_name.endswith(">Lambda")):
            payload = layer_config.get("function")
            if _looks_like_code(payload) or layer_config.get("function_type") == "lambda":
                add(
                    "keras.lambda-code",
                    Severity.CRITICAL,
                    "A Lambda layer carries Python bytecode that Keras executes when the model is loaded.",
                    f"layer {layer_name!r}",
                )
            elif payload is not None:
                origin = str(layer_config.get("module") or layer_config.get("function_module") or "")
                add(
                    "keras.custom-object",
                    Severity.MEDIUM,
                    "A Lambda layer calls a named Python function, imported when the model is loaded.",
                    f"layer {layer_name!r}: {origin + '.' if origin else ''}{payload}",
                )
        module = node.get("module")
        if isinstance(module, str) and module and _module_outside_keras(module):
            name = str(node.get("class_name") or "")
            target = node.get("config") if name == "function" and isinstance(node.get("config"), str) else name
            verdict = policy.classify(module, str(target))
            if verdict == "dangerous":
                add(
                    "keras.dangerous-reference",
                    Severity.CRITICAL,
                    "The configuration makes Keras import a dangerous callable.",
                    f"{module}.{target}",
                )
            elif verdict != "safe":
                add(
                    "keras.custom-object",
                    Severity.MEDIUM,
                    "The configuration makes Keras import code from outside Keras (a custom object).",
                    f"{module}.{target}",
                )
        registered = node.get("registered_name")
        if (
            isinstance(registered, str)
            and isinstance(class_name, str)
            and registered not in (class_name, "function", "__lambda__")
            and ">" in registered
        ):
            add(
                "keras.custom-object",
                Severity.MEDIUM,
                "The configuration refers to a registered custom object, whose code is imported when the model "
                "is loaded.",
                registered,
            )
    if cut:
        budget = _MAX_NODES if max_nodes is None else max_nodes
        add(
            "keras.depth-limit",
            Severity.MEDIUM,
            f"The configuration has more than {budget} objects and lists; the rest (where a Lambda layer or "
            "custom object could be) was not checked.",
            f"stopped after {budget} objects/lists, at least {cut[0]} more not checked",
        )
    return findings


def _parse_json(raw: bytes, where: str, rule: str) -> tuple[object | None, list[Finding]]:
    try:
        return json.loads(raw), []
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return None, [
            finding(rule, Severity.HIGH, "The Keras configuration is not valid JSON.", where, f"{type(exc).__name__}")
        ]


def scan_keras(member: Member, policy: Policy) -> list[Finding]:
    """Scan a Keras v3 ``.keras`` archive's ``config.json``."""
    findings: list[Finding] = []
    ctx = current_context()
    limit = ctx.limits.max_metadata_bytes
    with member.open() as stream:
        listing = open_zip(member, stream, findings)
        if listing is None:
            return findings
        with listing.archive:
            found = False
            for inner in zip_members(member, listing, findings, ctx, select=lambda i: i.filename == "config.json"):
                found = True
                if inner.size is not None and inner.size > limit:
                    findings.append(
                        finding("keras.malformed", Severity.HIGH, "config.json is too large to analyse.", inner.where)
                    )
                    continue
                with inner.open() as handle:
                    raw = handle.read(limit + 1)
                config, problems = _parse_json(raw, inner.where, "keras.malformed")
                findings.extend(problems)
                if config is not None:
                    findings.extend(analyse_config(config, policy, inner.where))
            if not found:
                findings.append(
                    finding("keras.malformed", Severity.HIGH, "A .keras archive without config.json.", member.where)
                )
    return findings


# ------------------------------------------------------------------------------------------------------ HDF5

_CLASS_NAME = re.compile(rb'"class_name"')
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def json_blobs(stream: BinaryIO, *, limit: int, max_blob: int = 16 << 20) -> Iterator[object]:
    """Every JSON object containing ``"class_name"`` found in the first ``limit`` bytes of ``stream``."""
    data = stream.read(limit)
    decoder = json.JSONDecoder()
    covered_until = -1
    for match in _CLASS_NAME.finditer(data):
        at = match.start()
        if at < covered_until:
            continue
        # The JSON text is a run of printable bytes; its first '{' is where the object starts.
        start = at
        floor = max(0, at - max_blob)
        while start > floor and data[start - 1] in _PRINTABLE:
            start -= 1
        brace = data.find(b"{", start, at)
        while brace != -1:
            end_guess = min(len(data), brace + max_blob)
            try:
                text = data[brace:end_guess].decode("utf-8", errors="replace")
                value, consumed = decoder.raw_decode(text)
            except (ValueError, RecursionError):
                brace = data.find(b"{", brace + 1, at)
                continue
            covered_until = brace + len(text[:consumed].encode("utf-8"))
            yield value
            break


def scan_hdf5(member: Member, policy: Policy) -> list[Finding]:
    """Scan a legacy Keras HDF5 file's model configuration (a weights-only HDF5 file yields nothing)."""
    ctx = current_context()
    findings: list[Finding] = []
    seen: set[tuple[str, str | None]] = set()
    with member.open() as stream:
        for blob in json_blobs(stream, limit=ctx.limits.max_metadata_bytes):
            for item in analyse_config(blob, policy, member.where):
                if (item.rule, item.detail) not in seen:
                    seen.add((item.rule, item.detail))
                    findings.append(item)
        if hdf5_isolated.available():
            read = hdf5_isolated.read_configs(stream)
            if read.failure is not None:
                findings.append(finding(
                    "format.parser-failed", Severity.MEDIUM,
                    "h5py, run in an isolated process, could not read this HDF5 file; a model file that breaks "
                    "its parser is not one to load.", member.where, read.failure))
            for _key, config in read.configs:
                for item in analyse_config(config, policy, member.where):
                    if (item.rule, item.detail) not in seen:
                        seen.add((item.rule, item.detail))
                        findings.append(item)
    return findings

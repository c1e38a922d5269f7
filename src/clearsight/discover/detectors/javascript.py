"""JavaScript and TypeScript: imports of AI npm packages and model names, by regular expressions.

Comments (``//`` and ``/* */``) are blanked first — keeping strings and line numbers — so commented-out code never
counts. Recognised: ``import … from "pkg"``, ``import "pkg"``, ``export … from "pkg"``, ``require("pkg")`` and
dynamic ``import("pkg")``; the package (``@scope/name`` or ``name``, sub-paths dropped) is looked up with
:func:`lookup_npm`. Model names: ``model: "gpt-…"`` / ``model = 'claude-…'`` (also ``modelName``/``modelId``),
believed when the name is a known model family or hub ID, or when the file imports an AI package.
Template literals with ``${…}`` are ignored. Regex literals are not parsed (a rare source of misses).
"""

from __future__ import annotations

import re

from clearsight.discover.catalog import lookup_npm
from clearsight.discover.detectors.python_code import is_known_model_name, plausible_identifier, short
from clearsight.discover.interface import Confidence, FunctionDetector, NameFilter, Observation, SourceFile
from clearsight.discover.relpaths import suffix

DETECTOR_ID = "javascript"
EXTENSIONS = frozenset({".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts"})

_STATIC_IMPORT = re.compile(r"""\b(?:import|export)\s+(?:type\s+)?(?:[^'"`;()]*?\bfrom\s*)?(["'])([^"'\n]+)\1""")
_REQUIRE = re.compile(r"""\brequire\s*\(\s*(["'`])([^"'`\n$]+)\1\s*\)""")
_DYNAMIC_IMPORT = re.compile(r"""\bimport\s*\(\s*(["'`])([^"'`\n$]+)\1""")
_MODEL = re.compile(r"""\b(model(?:Name|Id|_name|_id)?)["']?\s*[:=]\s*(["'`])([^"'`\n]+)\2""")
# Vercel AI SDK style: `model: openai("gpt-4o")`, `model: anthropic.chat("claude-…")` (a provider factory call).
_MODEL_FACTORY = re.compile(
    r"""\b(model)["']?\s*:\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)\s*\(\s*(["'`])([^"'`\n]+)\3""")


def strip_comments(text: str) -> str:
    """``text`` with comments replaced by spaces (newlines kept); strings and template literals untouched."""
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote is not None:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == quote or (c == "\n" and quote != "`"):
                quote = None
            i += 1
            continue
        if c in "\"'`":
            quote = c
            out.append(c)
            i += 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def package_name(specifier: str) -> str | None:
    """``@scope/pkg/sub`` → ``@scope/pkg``; ``pkg/sub`` → ``pkg``; relative paths and ``node:`` builtins → None."""
    if specifier.startswith((".", "/", "node:")) or not specifier:
        return None
    parts = specifier.split("/")
    if specifier.startswith("@"):
        return "/".join(parts[:2]) if len(parts) >= 2 else None
    return parts[0]


def javascript_observations(text: str, rel: str) -> list[Observation]:
    code = strip_comments(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", code)]

    def line_of(offset: int) -> int:
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    found: list[Observation] = []
    seen: set[tuple[str, int]] = set()
    for pattern, form in ((_STATIC_IMPORT, 'import "{}"'), (_REQUIRE, 'require("{}")'),
                          (_DYNAMIC_IMPORT, 'import("{}")')):
        for match in pattern.finditer(code):
            specifier = match.group(2)
            name = package_name(specifier)
            package = lookup_npm(name) if name else None
            if package is None:
                continue
            line = line_of(match.start(2))
            if (package.name, line) in seen:
                continue
            seen.add((package.name, line))
            found.append(Observation(kind=package.kind, name=package.name, rel=rel, line=line, detector=DETECTOR_ID,
                                     evidence=short(form.format(specifier)), confidence=package.confidence))
    has_ai_import = bool(found)
    for match in _MODEL.finditer(code):
        key, value = match.group(1), match.group(3)
        if "${" in value or not plausible_identifier(value):
            continue
        confidence: Confidence
        if is_known_model_name(value):
            confidence = "high"
        elif has_ai_import:
            confidence = "medium"
        else:
            continue
        found.append(Observation(kind="model", name=value, rel=rel, line=line_of(match.start(3)), detector=DETECTOR_ID,
                                 evidence=short(f'{key}: "{value}"'), confidence=confidence))
    for match in _MODEL_FACTORY.finditer(code):
        factory, value = match.group(2), match.group(4)
        if "${" in value or not plausible_identifier(value) or not has_ai_import or not is_known_model_name(value):
            continue
        found.append(Observation(kind="model", name=value, rel=rel, line=line_of(match.start(4)), detector=DETECTOR_ID,
                                 evidence=short(f'model: {factory}("{value}")')))
    return found


def _wants(rel: str) -> bool:
    return suffix(rel).lower() in EXTENSIONS and not rel.endswith((".min.js", ".d.ts"))


def _detect(file: SourceFile) -> list[Observation]:
    if file.text is None:
        return []
    return javascript_observations(file.text, file.rel)


JAVASCRIPT = FunctionDetector(
    id=DETECTOR_ID,
    description="JavaScript/TypeScript: AI npm package imports and requires, model names",
    wants_fn=_wants,
    detect_fn=_detect,
    names=NameFilter(EXTENSIONS),
)

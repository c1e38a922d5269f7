"""JavaScript/TypeScript: AI package imports and model names, comments ignored."""

from __future__ import annotations

from clearsight.discover.detectors.javascript import JAVASCRIPT, javascript_observations, package_name


def test_imports_requires_and_dynamic_imports() -> None:
    source = (
        'import OpenAI from "openai";\n'
        "const Anthropic = require('@anthropic-ai/sdk');\n"
        "// import { Pinecone } from '@pinecone-database/pinecone';\n"
        "/* const c = require('cohere-ai');\n"
        "   */\n"
        "const m = await import('@langchain/openai');\n"
        "import {\n  ChatOpenAI,\n} from '@langchain/core/messages';\n"
        'import type { X } from "ai";\n'
        'const url = "http://example.com"; import fs from "node:fs";\n'
    )
    found = javascript_observations(source, "src/app.ts")
    assert [(o.kind, o.name, o.line) for o in found] == [
        ("provider", "openai", 1), ("agent_framework", "langchain", 9), ("sdk", "vercel-ai", 10),
        ("provider", "anthropic", 2), ("agent_framework", "langchain", 6),
    ]
    assert found[3].evidence == 'require("@anthropic-ai/sdk")'


def test_model_names() -> None:
    source = (
        "import OpenAI from 'openai';\n"
        "const r = await client.chat.completions.create({\n"
        "  model: \"gpt-4o-mini\",\n"
        "  // model: 'gpt-3.5-turbo',\n"
        "});\n"
        "const c = { model: 'claude-3-haiku-20240307' };\n"
        "const t = { model: `gpt-${v}` };\n"
        "const f = { model: 'our-tuned' };\n"
    )
    models = [(o.name, o.line, o.confidence) for o in javascript_observations(source, "a.js") if o.kind == "model"]
    assert models == [("gpt-4o-mini", 3, "high"), ("claude-3-haiku-20240307", 6, "high"), ("our-tuned", 8, "medium")]


def test_model_name_without_ai_context_needs_a_known_family() -> None:
    found = javascript_observations("const car = { model: 'Civic' };\n", "car.js")
    assert found == []


def test_wants_and_package_names() -> None:
    assert all(JAVASCRIPT.wants(f"x{ext}") for ext in (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"))
    assert not JAVASCRIPT.wants("x.py")
    assert package_name("@scope/pkg/sub") == "@scope/pkg"
    assert package_name("openai/resources") == "openai"
    assert package_name("./local") is None

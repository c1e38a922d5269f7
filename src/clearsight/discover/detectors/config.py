"""Configuration and deployment detectors: provider keys in .env files, model servers, MCP server configurations.

Secrets are never copied: a ``.env`` observation names the *variable* (``OPENAI_API_KEY``), never its value; a
database URL is reduced to its scheme; an MCP server is described by its command (and the package it runs) or the
host of its URL — never its ``env`` block, headers or flag values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from clearsight.discover.catalog import lookup_pypi
from clearsight.discover.interface import (
    DEPLOYMENT_FILES,
    Confidence,
    Detector,
    FunctionDetector,
    KeyLines,
    NameFilter,
    Observation,
    SourceFile,
    source_lines,
)
from clearsight.discover.relpaths import base_name
from clearsight.yaml_models import parse_yaml

if TYPE_CHECKING:
    from clearsight.core.system import ComponentKind

__all__ = ["CONFIG_DETECTORS", "db_engine"]


# --- .env files --------------------------------------------------------------------------------------------------

# (variable-name pattern, catalogue distribution to look up, fallback (kind, name) when the catalogue lacks it)
_KEY_PATTERNS: list[tuple[re.Pattern[str], str | None, tuple[ComponentKind, str]]] = [
    (re.compile(r"^AZURE_OPENAI_\w+$"), "azure-ai-openai", ("provider", "azure-openai")),
    (re.compile(r"^OPENAI_(API_KEY|ORG(ANIZATION)?(_ID)?|PROJECT(_ID)?|BASE_URL|API_BASE)$"), "openai",
     ("provider", "openai")),
    (re.compile(r"^(ANTHROPIC_API_KEY|ANTHROPIC_AUTH_TOKEN|CLAUDE_API_KEY)$"), "anthropic", ("provider", "anthropic")),
    (re.compile(r"^(GOOGLE_API_KEY|GEMINI_API_KEY|GOOGLE_GENAI_API_KEY|GOOGLE_GENERATIVE_AI_API_KEY)$"),
     "google-genai", ("provider", "google-genai")),
    (re.compile(r"^(VERTEX_AI_\w+|VERTEXAI_\w+|GOOGLE_VERTEX_\w+)$"), "google-cloud-aiplatform",
     ("provider", "vertexai")),
    (re.compile(r"^(COHERE_API_KEY|CO_API_KEY)$"), "cohere", ("provider", "cohere")),
    (re.compile(r"^MISTRAL_API_KEY$"), "mistralai", ("provider", "mistralai")),
    (re.compile(r"^(HF_TOKEN|HF_API_TOKEN|HF_API_KEY|HUGGING_?FACE\w*_(TOKEN|API_KEY|KEY)|HUGGINGFACEHUB_API_TOKEN)$"),
     "huggingface-hub", ("provider", "huggingface-hub")),
    (re.compile(r"^GROQ_API_KEY$"), "groq", ("provider", "groq")),
    (re.compile(r"^(TOGETHER_API_KEY|TOGETHERAI_API_KEY|TOGETHER_AI_API_KEY)$"), "together", ("provider", "together")),
    (re.compile(r"^(REPLICATE_API_TOKEN|REPLICATE_API_KEY)$"), "replicate", ("provider", "replicate")),
    (re.compile(r"^PINECONE_API_KEY$"), "pinecone", ("vector_store", "pinecone")),
    (re.compile(r"^(QDRANT_API_KEY)$"), "qdrant-client", ("vector_store", "qdrant")),
    (re.compile(r"^(WEAVIATE_API_KEY)$"), "weaviate-client", ("vector_store", "weaviate")),
    (re.compile(r"^(AWS_BEDROCK_\w+|BEDROCK_\w*(KEY|TOKEN|REGION|MODEL\w*))$"), None, ("provider", "boto3-bedrock")),
    (re.compile(r"^DEEPSEEK_API_KEY$"), None, ("provider", "deepseek")),
    (re.compile(r"^(XAI_API_KEY|GROK_API_KEY)$"), None, ("provider", "xai")),
    (re.compile(r"^(PERPLEXITY_API_KEY|PPLX_API_KEY)$"), None, ("provider", "perplexity")),
    (re.compile(r"^(FIREWORKS_API_KEY|FIREWORKS_AI_API_KEY)$"), None, ("provider", "fireworks-ai")),
    (re.compile(r"^OPENROUTER_API_KEY$"), None, ("provider", "openrouter")),
    (re.compile(r"^VOYAGE_API_KEY$"), None, ("provider", "voyageai")),
    (re.compile(r"^ELEVENLABS_API_KEY$"), None, ("provider", "elevenlabs")),
    (re.compile(r"^(LANGCHAIN_API_KEY|LANGSMITH_API_KEY)$"), None, ("pipeline", "langsmith")),
    (re.compile(r"^WANDB_API_KEY$"), None, ("pipeline", "wandb")),
]

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*)$")
_DB_SCHEMES = {
    "postgres": "postgresql", "postgresql": "postgresql", "pgsql": "postgresql", "mysql": "mysql",
    "mariadb": "mariadb", "mongodb": "mongodb", "mongodb+srv": "mongodb", "redis": "redis", "rediss": "redis",
    "snowflake": "snowflake", "bigquery": "bigquery", "mssql": "mssql", "sqlserver": "mssql", "oracle": "oracle",
    "sqlite": "sqlite", "clickhouse": "clickhouse", "cockroachdb": "cockroachdb", "redshift": "redshift",
    "cassandra": "cassandra", "neo4j": "neo4j", "neo4j+s": "neo4j", "bolt": "neo4j", "elasticsearch": "elasticsearch",
    "duckdb": "duckdb", "databricks": "databricks", "trino": "trino", "presto": "presto", "db2": "db2",
}


def db_engine(scheme: str) -> str | None:
    """The database engine for a URL scheme (``postgresql+psycopg2`` → ``postgresql``), or None."""
    scheme = scheme.lower()
    if scheme.startswith("jdbc:"):
        scheme = scheme[5:]
    if scheme in _DB_SCHEMES:
        return _DB_SCHEMES[scheme]
    return _DB_SCHEMES.get(scheme.split("+", 1)[0])


def _wants_env(rel: str) -> bool:
    base = base_name(rel).lower()
    return base == ".env" or base.startswith(".env.") or (base.endswith(".env") and not base.endswith(".venv"))


def _key_component(variable: str) -> tuple[ComponentKind, str] | None:
    for pattern, dist, fallback in _KEY_PATTERNS:
        if pattern.match(variable):
            package = lookup_pypi(dist) if dist else None
            return (package.kind, package.name) if package else fallback
    return None


def _detect_env(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    base = base_name(file.rel).lower()
    template = any(word in base for word in ("example", "sample", "template", "dist", "tmpl"))
    confidence: Confidence = "medium" if template else "high"
    detector = "config.dotenv"
    found: list[Observation] = []
    for number, raw in enumerate(source_lines(file.text), start=1):
        match = _ENV_LINE.match(raw)
        if match is None or raw.lstrip().startswith("#"):
            continue
        variable, value = match.group(1), match.group(2).strip().strip("\"'")
        component = _key_component(variable.upper())
        if component is not None:
            found.append(Observation(kind="secret_ref", name=variable, rel=file.rel, line=number, detector=detector,
                                     evidence="key name in .env", confidence=confidence))
            kind, name = component
            found.append(Observation(kind=kind, name=name, rel=file.rel, line=number, detector=detector,
                                     evidence=f"{variable} key name in .env", confidence=confidence))
            continue
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.:-]*)://", value)
        engine = db_engine(scheme.group(1)) if scheme else None
        if scheme and engine:
            found.append(Observation(kind="data_store", name=engine, rel=file.rel, line=number, detector=detector,
                                     evidence=f"{variable} is a {scheme.group(1).lower()}:// URL in .env",
                                     confidence=confidence))
    return found


# --- model servers in Dockerfiles, compose files, Kubernetes manifests and Helm values ------------------------------

# (name, regex over one line, version group or None); image references capture their tag.
_SERVERS: list[tuple[str, re.Pattern[str]]] = [
    ("vllm", re.compile(r"(?:\bvllm/vllm-openai(?::(?P<tag>[\w.-]+))?|\bvllm\s+serve\b|\bvllm\.entrypoints\b)")),
    ("text-generation-inference", re.compile(
        r"(?:huggingface/text-generation-inference(?::(?P<tag>[\w.-]+))?|\btext-generation-launcher\b)")),
    ("text-embeddings-inference", re.compile(r"huggingface/text-embeddings-inference(?::(?P<tag>[\w.-]+))?")),
    ("triton-inference-server", re.compile(
        r"(?:nvidia/tritonserver(?::(?P<tag>[\w.-]+))?|\btritonserver\s+--model-(?:repository|store))")),
    ("torchserve", re.compile(r"(?:\bpytorch/torchserve(?::(?P<tag>[\w.-]+))?|\btorchserve\s+--start\b)")),
    ("ollama", re.compile(r"(?:\bollama/ollama(?::(?P<tag>[\w.-]+))?|\bollama\s+serve\b)")),
    ("kserve", re.compile(r"^\s*kind:\s*[\"']?(?:InferenceService|ServingRuntime|ClusterServingRuntime)\b")),
    ("ray-serve", re.compile(r"(?:^\s*kind:\s*[\"']?RayService\b|\bserve\s+(?:run|deploy|start)\b)")),
    ("bentoml", re.compile(r"(?:\bbentoml\s+(?:serve|serve-http|serve-grpc|start-http-server)\b|\bbentoml/[\w.-]+)")),
    ("llama.cpp", re.compile(r"(?:ggerganov/llama\.cpp:(?P<tag>server[\w.-]*)|\bllama-server\b)")),
    ("localai", re.compile(r"\blocalai/localai(?::(?P<tag>[\w.-]+))?")),
    ("seldon-core", re.compile(r"^\s*kind:\s*[\"']?SeldonDeployment\b")),
]
_RAY_IMAGE = re.compile(r"\brayproject/ray(?:-ml)?(?::(?P<tag>[\w.-]+))?")


def _wants_deploy(rel: str) -> bool:
    base = base_name(rel).lower()
    return (base in {"dockerfile", "containerfile"} or base.startswith(("dockerfile.", "containerfile."))
            or base.endswith((".dockerfile", ".yaml", ".yml")))


def _helm_tag(lines: list[str], index: int) -> str | None:
    """A Helm-style ``tag:`` next to a ``repository:`` line."""
    for other in lines[max(0, index - 3):index + 4]:
        match = re.match(r"^\s*tag:\s*[\"']?([\w.-]+)", other)
        if match:
            return match.group(1)
    return None


def _detect_serving(file: SourceFile) -> list[Observation]:
    text = file.text
    if not text:
        return []
    lowered = text.lower()
    if not any(word in lowered for word in ("vllm", "text-generation", "text-embeddings", "triton", "torchserve",
                                            "ollama", "inferenceservice", "servingruntime", "rayservice", "ray",
                                            "bentoml", "llama", "localai", "seldondeployment")):
        return []
    ray_serve = bool(re.search(r"\bserve\b|serveConfig|RayService", text))
    lines = source_lines(text)
    found: list[Observation] = []
    seen: set[tuple[str, int]] = set()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        matches: list[tuple[str, re.Match[str]]] = [(name, m) for name, pattern in _SERVERS
                                                    if (m := pattern.search(line))]
        ray = _RAY_IMAGE.search(line)
        if ray and ray_serve:
            matches.append(("ray-serve", ray))
        for name, match in matches:
            if (name, index) in seen:
                continue
            seen.add((name, index))
            tag = match.groupdict().get("tag")
            if tag is None and "repository:" in line:
                tag = _helm_tag(lines, index)
            found.append(Observation(kind="serving", name=name, rel=file.rel, line=index + 1,
                                     detector="config.model_server", evidence=match.group(0).strip()[:120],
                                     version=tag))
    return found


# --- MCP server configurations -----------------------------------------------------------------------------------

_MCP_FILES = {".mcp.json", "mcp.json", "claude_desktop_config.json", "cline_mcp_settings.json", "mcp_config.json",
              "mcp_settings.json"}
_MCP_DIR_FILES = {".continue/config.json", ".continue/config.yaml", ".continue/config.yml", ".gemini/settings.json",
                  ".zed/settings.json", ".roo/mcp.json", ".windsurf/mcp_config.json",
                  ".codeium/windsurf/mcp_config.json", ".amazonq/mcp.json", ".kiro/settings/mcp.json"}
_MCP_DIR_ENDINGS = tuple("/" + path for path in sorted(_MCP_DIR_FILES))
_MCP_KEYS = ("mcpServers", "mcp_servers", "servers", "context_servers", "mcp")
_SKIP_JSON = {"package.json", "package-lock.json", "tsconfig.json", "composer.json", "pipfile.lock",
              "npm-shrinkwrap.json"}
_SECRETISH = re.compile(r"(?:^sk-|^ghp_|^gho_|^xox[abp]-|^AKIA|^eyJ|token|secret|password|apikey|api_key|="
                        r"|:[^@/\s]*@)",  # user:password@host without a scheme
                        re.IGNORECASE)


def _known_mcp_location(rel: str) -> bool:
    lowered = rel.lower()
    if base_name(lowered) in _MCP_FILES or "/.continue/mcpservers/" in "/" + lowered:
        return True
    return lowered in _MCP_DIR_FILES or lowered.endswith(_MCP_DIR_ENDINGS)


def _wants_mcp(rel: str) -> bool:
    base = base_name(rel).lower()
    if base in _SKIP_JSON or base.endswith((".lock", "-lock.json", ".schema.json")):
        return False
    return base.endswith((".json", ".yaml", ".yml")) or _known_mcp_location(rel)  # the cheap question first


def redact_url(scheme: str, rest: str) -> tuple[str, str]:
    """``(display URL, host)`` with credentials, query string and fragment removed."""
    authority, slash, path = rest.partition("/")
    host_port = authority.rpartition("@")[2]  # drop user:password@
    path = re.split(r"[?#;]", path, maxsplit=1)[0]
    host = host_port.split(":", 1)[0] if not host_port.startswith("[") else host_port
    return f"{scheme.lower()}://{host_port}{slash}{path}", host.lower()


def _shown_argument(value: str) -> str | None:
    """An MCP server's argument as evidence may show it: a URL without its credentials, query and fragment
    (``postgresql://admin:pw@db/prod`` printed the password into every report format, found by a review);
    None for anything that may be a credential itself."""
    scheme, sep, rest = value.partition("://")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return redact_url(scheme, rest)[0]
    return None if _secret_like(value) else value


def _secret_like(value: str) -> bool:
    """Arguments that may be credentials are never echoed (tokens, key=value flags, long random strings)."""
    if len(value) >= 120 or _SECRETISH.search(value):
        return True
    return bool(re.fullmatch(r"[A-Za-z0-9_+=-]{20,}", value)) and any(c.isdigit() for c in value) \
        and any(c.isalpha() for c in value)


def _command_evidence(entry: dict[str, Any]) -> str | None:
    command = entry.get("command")
    args = entry.get("args")
    if isinstance(command, dict):  # Zed: {"command": {"path": ..., "args": [...]}}
        args = command.get("args", args)
        command = command.get("path")
    if isinstance(command, list) and command:  # opencode: "command": ["npx", "-y", "pkg"]
        command, args = command[0], command[1:]
    if not isinstance(command, str) or not command.strip():
        return None
    parts = command.split()
    program = parts[0].rsplit("/", 1)[-1]
    rest = parts[1:] + [a for a in args if isinstance(a, str)] if isinstance(args, list) else parts[1:]
    target = next((shown for a in rest if a and not a.startswith("-") and (shown := _shown_argument(a))), None)
    return f"{program} {target}" if target else program


def _url_host(entry: dict[str, Any]) -> str | None:
    for key in ("url", "serverUrl", "endpoint", "httpUrl"):
        value = entry.get(key)
        if isinstance(value, str) and "://" in value:
            try:
                return urlsplit(value).hostname
            except ValueError:
                return None
    return None


def _mcp_entries(container: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(container, dict):
        return [(str(k), v) for k, v in container.items() if isinstance(v, dict)]
    if isinstance(container, list):  # Continue: mcpServers: [{name: ..., command: ...}]
        return [(str(v["name"]), v) for v in container if isinstance(v, dict) and isinstance(v.get("name"), str)]
    return []


def _name_pattern(name: str) -> re.Pattern[str]:
    """Where a server's name is written: a quoted key (JSON, YAML), a bare YAML key, or a ``name`` field of a
    list entry (``name: x`` in YAML, ``"name": "x"`` in JSON). Blanks before a key stay on its line: ``\\s*``
    there ran over every following blank line from every line start (quadratic on a run of blank lines)."""
    quoted = re.escape(name)
    return re.compile(r"(?:[\"']" + quoted + r"[\"']\s*:|^[^\S\n]*" + quoted + r"[^\S\n]*:"
                      r"|\bname[\"']?[^\S\n]*:[^\S\n]*[\"']?" + quoted + r"[\"']?[^\S\n]*(?:[,}]|$))", re.MULTILINE)


def _detect_mcp(file: SourceFile) -> list[Observation]:
    text = file.text
    if not text:
        return []
    known = _known_mcp_location(file.rel)
    if not known and not any(key in text for key in ("mcpServers", "mcp_servers", "servers")):
        return []
    data: Any
    try:
        data = json.loads(text) if file.rel.lower().endswith(".json") else parse_yaml(text)
    except (ValueError, yaml.YAMLError, RecursionError):  # UnicodeError is a ValueError
        return []
    if not isinstance(data, dict):
        return []
    found: list[Observation] = []
    for key in _MCP_KEYS:
        if key not in data or (key in ("mcp", "context_servers") and not known
                               and base_name(file.rel) != "opencode.json"):
            continue
        key_match = re.search(r"[\"']?" + re.escape(key) + r"[\"']?\s*:", text)
        lines = KeyLines(text, key_match.end() if key_match else 0)
        for name, entry in _mcp_entries(data[key]):
            command = _command_evidence(entry)
            host = _url_host(entry)
            if command is None and host is None:
                continue
            confidence: Confidence = "high"
            if key == "servers" and not known:
                # a generic "servers" map is only MCP when its entries look like MCP transports
                # only text counts: str() of an aliased YAML structure can be gigabytes long
                transport, url = entry.get("type", entry.get("transport", "")), entry.get("url", "")
                transport = transport.lower() if isinstance(transport, str) else ""
                if command is None and transport not in {"sse", "http", "streamable-http", "streamablehttp"} \
                        and not (isinstance(url, str) and "mcp" in url.lower()):
                    continue
                confidence = "medium"
            evidence = f"command: {command}" if command else f"url host: {host}"
            line = lines.line_of(_name_pattern(name)) if lines.wanted() else None
            found.append(Observation(kind="mcp_server", name=name, rel=file.rel, line=line,
                                     detector="config.mcp", evidence=evidence, confidence=confidence))
    return found


def _detector(id_: str, description: str, wants: Callable[[str], bool],
              detect: Callable[[SourceFile], list[Observation]], names: NameFilter | None = None) -> Detector:
    # FunctionDetector is frozen while the Detector protocol declares plain (settable) attributes
    return FunctionDetector(id_, description, wants, detect, names)


CONFIG_DETECTORS: list[Detector] = [
    _detector("config.dotenv", "AI provider key names and database URL schemes in .env files (never values).",
                     _wants_env, _detect_env, NameFilter.of(".env", prefixes=(".env",))),
    _detector("config.model_server", "Model servers (vLLM, TGI, Triton, TorchServe, Ollama, KServe, Ray Serve, "
                     "BentoML) in Dockerfiles, compose files, Kubernetes manifests and Helm values.",
                     _wants_deploy, _detect_serving, DEPLOYMENT_FILES),
    _detector("config.mcp", "MCP server configurations (.mcp.json, Claude Desktop, Cursor, VS Code, Continue, "
                     "any mcpServers/servers map).", _wants_mcp, _detect_mcp),
]

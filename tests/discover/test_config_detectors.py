from __future__ import annotations

import json
from pathlib import Path

import pytest
from detector_harness import run_on

from clearsight.discover.detectors.config import (
    _MCP_DIR_FILES,
    _MCP_FILES,
    CONFIG_DETECTORS,
    _known_mcp_location,
    _wants_mcp,
)
from clearsight.discover.interface import Observation

SECRET = "sk-proj-THISISASECRETVALUE1234567890"
DB_PASSWORD = "hunter2-very-secret"


def scan(tmp_path: Path, rel: str, content: str) -> list[Observation]:
    return run_on(tmp_path, rel, content, CONFIG_DETECTORS)


def assert_no_secrets(found: list[Observation], *secrets: str) -> None:
    for observation in found:
        for secret in secrets:
            assert secret not in repr(observation)


def test_dotenv_key_names_never_values(tmp_path: Path) -> None:
    text = (f"# keys\nOPENAI_API_KEY={SECRET}\nexport ANTHROPIC_API_KEY='{SECRET}'\nAZURE_OPENAI_ENDPOINT=https://x\n"
            f"HF_TOKEN={SECRET}\nPINECONE_API_KEY={SECRET}\nDEBUG=true\n"
            f"DATABASE_URL=postgresql://app:{DB_PASSWORD}@db.prod.internal:5432/app\n"
            f"CACHE_URL=rediss://:{DB_PASSWORD}@cache:6379/0\n")
    found = scan(tmp_path, ".env", text)
    assert_no_secrets(found, SECRET, DB_PASSWORD, "db.prod.internal")
    secrets = {(o.name, o.line) for o in found if o.kind == "secret_ref"}
    assert secrets == {("OPENAI_API_KEY", 2), ("ANTHROPIC_API_KEY", 3), ("AZURE_OPENAI_ENDPOINT", 4), ("HF_TOKEN", 5),
                       ("PINECONE_API_KEY", 6)}
    assert all(o.evidence == "key name in .env" for o in found if o.kind == "secret_ref")
    providers = {(o.kind, o.name, o.line) for o in found if o.kind != "secret_ref" and o.kind != "data_store"}
    assert providers == {("provider", "openai", 2), ("provider", "anthropic", 3), ("provider", "azure-openai", 4),
                         ("provider", "huggingface-hub", 5), ("vector_store", "pinecone", 6)}
    stores = {(o.name, o.line) for o in found if o.kind == "data_store"}
    assert stores == {("postgresql", 8), ("redis", 9)}


def test_env_example_is_medium_confidence(tmp_path: Path) -> None:
    found = scan(tmp_path, "app/.env.example", "GEMINI_API_KEY=\nMISTRAL_API_KEY=changeme\n")
    assert {(o.kind, o.name) for o in found} == {("secret_ref", "GEMINI_API_KEY"), ("provider", "google-genai"),
                                                 ("secret_ref", "MISTRAL_API_KEY"), ("provider", "mistralai")}
    assert {o.confidence for o in found} == {"medium"}
    assert not CONFIG_DETECTORS[0].wants(".venv/lib/x.py")


def test_model_servers_in_compose_dockerfile_k8s_helm(tmp_path: Path) -> None:
    compose = ("services:\n  llm:\n    image: vllm/vllm-openai:v0.5.3\n    command: --model meta-llama/Llama-3-8B\n"
               "  tgi:\n    image: ghcr.io/huggingface/text-generation-inference:2.0\n"
               "  # image: ollama/ollama\n  local:\n    image: ollama/ollama:latest\n")
    found = {(o.name, o.line, o.version) for o in scan(tmp_path, "docker-compose.yml", compose)}
    assert found == {("vllm", 3, "v0.5.3"), ("text-generation-inference", 6, "2.0"), ("ollama", 9, "latest")}

    docker = "FROM nvcr.io/nvidia/tritonserver:24.01-py3\nCMD [\"tritonserver\", \"--model-repository=/models\"]\n"
    found_d = scan(tmp_path, "serve/Dockerfile", docker)
    assert {(o.kind, o.name, o.line, o.version) for o in found_d} == {("serving", "triton-inference-server", 1,
                                                                       "24.01-py3")}
    docker2 = "FROM pytorch/torchserve:0.10.0-cpu\nCMD torchserve --start --model-store /m\n"
    assert {(o.name, o.line) for o in scan(tmp_path, "ts/Dockerfile.prod", docker2)} == {("torchserve", 1),
                                                                                           ("torchserve", 2)}

    kserve = ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: fraud\n"
              "---\napiVersion: ray.io/v1\nkind: RayService\nspec:\n  rayClusterConfig:\n"
              "    image: rayproject/ray:2.9.0\n")
    found_k = {(o.name, o.line) for o in scan(tmp_path, "k8s/serving.yaml", kserve)}
    assert found_k == {("kserve", 2), ("ray-serve", 7), ("ray-serve", 10)}

    helm = "image:\n  repository: vllm/vllm-openai\n  tag: v0.4.2\nreplicas: 2\n"
    (obs,) = scan(tmp_path, "charts/llm/values.yaml", helm)
    assert (obs.name, obs.line, obs.version) == ("vllm", 2, "v0.4.2")

    plain_ray = "image: rayproject/ray:2.9.0\ncommand: python train.py\n"
    assert scan(tmp_path, "ray/job.yaml", plain_ray) == []
    bento = "FROM python:3.11\nCMD [\"bentoml\", \"serve\", \"service:Svc\"]\nRUN echo\nCMD bentoml serve service:Svc\n"
    assert {(o.name, o.line) for o in scan(tmp_path, "Containerfile", bento)} == {("bentoml", 4)}


def test_mcp_configs_in_common_locations(tmp_path: Path) -> None:
    claude = {"mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "github": {"command": "docker", "args": ["run", "-e", f"GITHUB_TOKEN={SECRET}", "ghcr.io/github/mcp"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": SECRET}},
        "remote": {"url": f"https://user:{SECRET}@mcp.example.com/sse?token={SECRET}"},
    }}
    text = json.dumps(claude, indent=2)
    found = scan(tmp_path, "claude_desktop_config.json", text)
    assert_no_secrets(found, SECRET)
    by_name = {o.name: o for o in found}
    assert set(by_name) == {"filesystem", "github", "remote"}
    assert all(o.kind == "mcp_server" for o in found)
    assert by_name["filesystem"].evidence == "command: npx @modelcontextprotocol/server-filesystem"
    assert by_name["filesystem"].line == 3
    assert by_name["github"].evidence == "command: docker run"
    assert by_name["remote"].evidence == "url host: mcp.example.com"

    vscode = ('{\n  "servers": {\n    "playwright": {"type": "stdio", "command": "npx", "args": ["@playwright/mcp"]}'
              '\n  }\n}\n')
    (obs,) = scan(tmp_path, ".vscode/mcp.json", vscode)
    assert (obs.name, obs.line, obs.evidence) == ("playwright", 3, "command: npx @playwright/mcp")

    cursor = '{"mcpServers": {"db": {"command": "uvx", "args": ["mcp-server-postgres"]}}}'
    assert [o.name for o in scan(tmp_path, ".cursor/mcp.json", cursor)] == ["db"]

    cont = "name: assistant\nmcpServers:\n  - name: sqlite\n    command: uvx\n    args: [mcp-server-sqlite]\n"
    (obs,) = scan(tmp_path, ".continue/config.yaml", cont)
    assert (obs.name, obs.line, obs.evidence) == ("sqlite", 3, "command: uvx mcp-server-sqlite")

    generic = "mcp_servers:\n  search:\n    url: http://search-mcp:8080/mcp\n"
    (obs,) = scan(tmp_path, "agent/settings.yaml", generic)
    assert (obs.name, obs.line, obs.evidence) == ("search", 2, "url host: search-mcp")


def test_generic_servers_map_needs_mcp_shape(tmp_path: Path) -> None:
    not_mcp = "servers:\n  prod:\n    url: https://api.example.com\n  staging:\n    host: s\n"
    assert scan(tmp_path, "deploy/servers.yaml", not_mcp) == []
    openapi = '{"openapi": "3.0.0", "servers": [{"url": "https://api.example.com"}]}'
    assert scan(tmp_path, "openapi.json", openapi) == []
    assert scan(tmp_path, ".mcp.json", "{broken") == []


# --- crafted MCP configurations: answers, not crashes or hangs ----------------------------------------------------
# Each of these made discovery exit with an internal error, run for minutes or hours, or exhaust memory before
# the fix (a reviewer's reproductions); they must give answers.

def _mcp(tmp_path: Path, rel: str, text: str) -> list[Observation]:
    """The MCP detector alone, without the harness's demand that every observation has a line."""
    from clearsight.discover.interface import SourceFile

    detector = next(d for d in CONFIG_DETECTORS if d.id == "config.mcp")
    return detector.detect(SourceFile(path=tmp_path / rel, rel=rel, root=tmp_path, size=len(text), text=text))


def test_a_lone_surrogate_in_a_server_name_is_reported_printably(tmp_path: Path) -> None:
    text = '{"mcpServers": {"a\\ud800b": {"command": "npx \\udcff-pkg"}}}'
    found = _mcp(tmp_path, ".mcp.json", text)
    assert [(o.name, o.evidence) for o in found] == [("a\\ud800b", "command: npx \\udcff-pkg")]
    for observation in found:
        observation.name.encode("utf-8")  # what every report writer does; a lone surrogate raised here


def test_blank_lines_before_a_server_do_not_make_the_line_search_quadratic(tmp_path: Path) -> None:
    text = '{"mcpServers":' + "\n" * 200_000 + '{"x": {"command": "npx a"}}}'
    assert [(o.name, o.line) for o in scan(tmp_path, ".mcp.json", text)] == [("x", 200_001)]


def test_json_list_entries_get_their_own_lines(tmp_path: Path) -> None:
    entries = [{"name": f"s{i}", "command": "npx pkg"} for i in range(3)]
    text = '{"mcpServers": [\n' + ",\n".join(json.dumps(e) for e in entries) + "\n]}"
    found = scan(tmp_path, ".continue/config.json", text)
    assert [(o.name, o.line) for o in found] == [("s0", 2), ("s1", 3), ("s2", 4)]


def test_thousands_of_servers_are_all_reported_and_stay_linear(tmp_path: Path) -> None:
    from clearsight.discover.interface import KeyLines

    count = 20_000
    text = '{"mcpServers": [\n' + ",\n".join(f'{{"name": "s{i}", "command": "npx a"}}' for i in range(count)) + "\n]}"
    found = _mcp(tmp_path, ".mcp.json", text)
    assert [o.name for o in found] == [f"s{i}" for i in range(count)]
    lines = [o.line for o in found]
    assert lines[:KeyLines.MAX_KEYS] == list(range(2, KeyLines.MAX_KEYS + 2))
    assert set(lines[KeyLines.MAX_KEYS:]) == {None}  # past the bound the servers are kept, their lines left out


def test_a_yaml_alias_bomb_in_a_server_entry_is_never_expanded(tmp_path: Path) -> None:
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10))
    text = bomb + "servers:\n  s1:\n    command: npx foo\n    type: *a9\n  s2:\n    url: *a9\n    transport: *a9\n"
    found = scan(tmp_path, "cfg/servers.yaml", text)
    assert [(o.name, o.evidence, o.confidence) for o in found] == [("s1", "command: npx foo", "medium")]


@pytest.mark.parametrize("folder", ["", "svc/", "a/b/"])
def test_every_known_mcp_location_is_known_at_any_depth(folder: str) -> None:
    for path in (*_MCP_DIR_FILES, *_MCP_FILES, ".continue/mcpServers/fs.yaml"):
        assert _known_mcp_location(folder + path) and _wants_mcp(folder + path), folder + path
        assert _known_mcp_location((folder + path).upper())  # locations are matched without case
    for other in ("x.continue/config.json", "continue/config.json", ".zed/other.json", "notes.md",
                  "gemini/settings.json"):
        assert not _known_mcp_location(folder + other), folder + other


def test_credentials_in_an_mcp_servers_arguments_never_reach_the_evidence(tmp_path: Path) -> None:
    """Found by a review: a database URL given to an MCP server printed its password into every report."""
    text = json.dumps({"mcpServers": {
        "pg": {"command": "mcp-server-postgres", "args": ["postgresql://admin:hunter2@db.internal:5432/prod?x=1"]},
        "pg3": {"command": "/usr/bin/mcp-pg postgresql://admin:hunter2@db/prod"},
        "raw": {"command": "mcp-db", "args": ["admin:hunter2@db:5432"]},
    }})
    found = {o.name: o.evidence for o in scan(tmp_path, ".mcp.json", text) if o.detector == "config.mcp"}
    assert found == {"pg": "command: mcp-server-postgres postgresql://db.internal:5432/prod",
                     "pg3": "command: mcp-pg postgresql://db/prod", "raw": "command: mcp-db"}

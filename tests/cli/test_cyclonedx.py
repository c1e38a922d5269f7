"""``clearsight discover --format cyclonedx``: a CycloneDX 1.6 AI-BOM that passes strict schema validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from clearsight.cli.app import main
from clearsight.core.base import SourceLocation
from clearsight.core.discovery import DiscoveredComponent, DiscoveredSystem, DiscoveryReport
from clearsight.core.system import ComponentKind
from clearsight.report.cyclonedx import render_cyclonedx

validation = pytest.importorskip("cyclonedx.validation.json")
schema = pytest.importorskip("cyclonedx.schema")

SECRET = "sk-live-SECRETVALUE123"
DB_PASSWORD = "hunter2pass"


def validate(text: str) -> None:
    validator = validation.JsonStrictValidator(schema.SchemaVersion.V1_6)
    errors = validator.validate_str(text, all_errors=True)
    assert errors is None, [str(e) for e in errors or ()]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, _ = capsys.readouterr()
    return code, out


def props(entry: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in entry.get("properties", []) if p["name"] == name]


def all_refs(bom: dict[str, Any]) -> list[str]:
    return ([bom["metadata"]["component"]["bom-ref"]] + [c["bom-ref"] for c in bom["components"]]
            + [s["bom-ref"] for s in bom.get("services", [])])


def test_example_bom_is_valid_and_shows_shadow_chatbot(capsys: pytest.CaptureFixture[str],
                                                        example_dir: Path) -> None:
    code, out = run(capsys, "discover", str(example_dir), "--format", "cyclonedx")
    assert code == 0
    validate(out)
    bom = json.loads(out)
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    assert bom["metadata"]["tools"]["components"][0]["name"] == "Clearsight"
    systems = {c["name"]: c for c in bom["components"] if props(c, "clearsight:declared")}
    chatbot = systems["support-chatbot"]
    assert chatbot["type"] == "application"
    assert props(chatbot, "clearsight:declared") == ["false"]
    assert props(chatbot, "clearsight:root") == ["support-chatbot"]
    assert props(chatbot, "clearsight:secret-ref") == ["OPENAI_API_KEY"]
    assert props(systems["card-fraud-detection"], "clearsight:declared") == ["true"]
    assert "sk-your-key-here" not in out and "change-me" not in out  # values from .env.example never leak
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    openai = next(s for s in bom["services"] if s["name"] == "openai" and s["bom-ref"] in deps[chatbot["bom-ref"]])
    assert props(openai, "clearsight:provider") == ["openai"]
    model = next(c for c in bom["components"] if c["name"] == "gpt-4o-mini")
    assert model["type"] == "machine-learning-model"
    assert model["evidence"]["occurrences"][0]["location"].startswith("support-chatbot/bot.py:")


def test_rerun_gives_the_same_serial_number(capsys: pytest.CaptureFixture[str], example_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _, first = run(capsys, "discover", str(example_dir), "--format", "cyclonedx")
    _, second = run(capsys, "discover", str(example_dir), "--format", "cyclonedx")
    assert first == second
    assert json.loads(first)["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"


def _write_tree(root: Path) -> None:
    (root / "rag").mkdir()
    (root / "rag" / "app.py").write_text(
        "import chromadb\nfrom datasets import load_dataset\nfrom langchain.chains import RetrievalQA\n"
        "from transformers import AutoModel\nimport openai\nds = load_dataset('squad')\n"
        "m = AutoModel.from_pretrained('bert-base-uncased')\nclient = openai.OpenAI()\n"
        "r = client.chat.completions.create(model='gpt-4o', messages=[])\n")
    (root / "rag" / "requirements.txt").write_text("openai==1.40.0\nchromadb==0.5.0\nvllm==0.5.0\n")
    (root / "rag" / ".env").write_text(
        f"OPENAI_API_KEY={SECRET}\nDATABASE_URL=postgresql://u:{DB_PASSWORD}@db:5432/x\n")
    (root / "rag" / "schema.sql").write_text("CREATE TABLE users (id int, email text, iban text);\n")
    (root / "web").mkdir()
    (root / "web" / "index.ts").write_text(
        'import OpenAI from "openai";\nimport Anthropic from "@anthropic-ai/sdk";\nconst c = new Anthropic();\n')
    (root / "web" / "package.json").write_text(
        '{"name": "web", "dependencies": {"openai": "4.52.0", "@anthropic-ai/sdk": "0.24.0"}}')
    (root / "agent").mkdir()
    (root / "agent" / ".mcp.json").write_text(
        '{"mcpServers": {"files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem"]}}}')
    (root / "agent" / "train.py").write_text("import torch\nmodel = torch.load('m.pt')\n")


def test_synthetic_tree_bom_is_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _write_tree(tmp_path)
    code, out = run(capsys, "discover", str(tmp_path), "--format", "cyclonedx")
    assert code == 0
    validate(out)
    assert SECRET not in out and DB_PASSWORD not in out
    bom = json.loads(out)
    refs = all_refs(bom)
    assert len(refs) == len(set(refs))
    types = {props(c, "clearsight:kind")[0]: c["type"] for c in bom["components"] if props(c, "clearsight:kind")}
    assert types["model"] == "machine-learning-model"
    assert types["dataset"] == types["personal_data"] == types["data_store"] == "data"
    assert types["vector_store"] == types["serving"] == types["agent_framework"] == "library"
    assert {props(s, "clearsight:kind")[0] for s in bom["services"]} == {"provider", "mcp_server"}
    purls = {c["name"]: c.get("purl") for c in bom["components"]}
    assert purls["chromadb"] == "pkg:pypi/chromadb@0.5.0"
    systems = [c for c in bom["components"] if props(c, "clearsight:declared")]
    assert {props(s, "clearsight:declared")[0] for s in systems} == {"false"}
    dep_refs = {d["ref"] for d in bom["dependencies"]}
    assert set(refs) <= dep_refs
    for dep in bom["dependencies"]:
        assert set(dep.get("dependsOn", [])) <= set(refs)


def _component(kind: ComponentKind, name: str, **extra: Any) -> DiscoveredComponent:
    return DiscoveredComponent(kind=kind, name=name, locations=[SourceLocation(path=f"x/{name}.py", line=3),
                                                                 SourceLocation(path="x/cfg.yaml")],
                               evidence=f"{kind} seen", confidence="high", detectors=["python-code"], **extra)


def test_every_component_kind_renders_valid_with_unique_refs() -> None:
    kinds: tuple[ComponentKind, ...] = get_args(ComponentKind)
    comps = [_component(k, f"{k}-thing", version="1.0") for k in kinds]
    comps.append(_component("sdk", "@scope/pkg"))
    shared = _component("sdk", "transformers", version="4.40.0")
    report = DiscoveryReport(
        roots=["/tmp/project"],
        systems=[
            DiscoveredSystem(id="a", name="a", root="a", declared=True, declared_as="sys-a",
                             components=[*comps, shared]),
            DiscoveredSystem(id="b", name="b", root="b", declared=False, components=[shared]),
        ],
        components=[*comps, shared, _component("dataset", "orphan-data")],
        files_read=3,
    )
    text = render_cyclonedx(report)
    validate(text)
    bom = json.loads(text)
    refs = all_refs(bom)
    assert len(refs) == len(set(refs))
    assert sum(c["name"] == "transformers" for c in bom["components"]) == 2  # one per system
    transformers = next(c for c in bom["components"] if c["name"] == "transformers")
    assert transformers["purl"] == "pkg:pypi/transformers@4.40.0"
    assert "orphan-data" in {c["name"] for c in bom["components"]}
    assert "secret_ref-thing" not in {c["name"] for c in bom["components"]}
    system_a = next(c for c in bom["components"] if c["bom-ref"] == "a")
    assert props(system_a, "clearsight:secret-ref") == ["secret_ref-thing"]
    assert bom["serialNumber"].startswith("urn:uuid:")

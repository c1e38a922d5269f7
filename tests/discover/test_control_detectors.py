"""Control detectors: controls in use, seen in code, configuration, CI workflows and requirements files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.discover.detectors.controls import CONTROL_DETECTORS, control_name, is_ci_file
from clearsight.discover.interface import SourceFile
from clearsight.discover.registry import DETECTORS, run_detectors

SHA = "0123456789abcdef0123456789abcdef01234567"


def found(rel: str, text: str) -> set[tuple[str, int | None]]:
    """(control name, line) for every control observation on one file."""
    file = SourceFile(path=Path("/x") / rel, rel=rel, root=Path("/x"), size=len(text), text=text)
    observations = run_detectors([file], detectors=CONTROL_DETECTORS)
    assert all(o.kind == "pipeline" and o.name.startswith("control:") for o in observations)
    return {(o.name.removeprefix("control:"), o.line) for o in observations}


def names(rel: str, text: str) -> set[str]:
    return {name for name, _line in found(rel, text)}


def test_detectors_are_registered_with_ids_and_descriptions() -> None:
    ids = [d.id for d in CONTROL_DETECTORS]
    assert len(set(ids)) == len(ids) and all(i.startswith("controls.") for i in ids)
    assert all(d.description for d in CONTROL_DETECTORS)
    assert set(ids) <= {d.id for d in DETECTORS}


def test_control_name_prefix() -> None:
    assert control_name("control:rate-limiting") == "rate-limiting"
    assert control_name("openai") is None


SLOWAPI = """\
from fastapi import FastAPI, Request
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()

@app.post("/score")
@limiter.limit("10/minute")
def score(request: Request) -> dict:
    return {}
"""


def test_slowapi_rate_limiting_with_lines() -> None:
    assert found("service/app.py", SLOWAPI) == {("rate-limiting", 5), ("rate-limiting", 9)}


@pytest.mark.parametrize("code", [
    "from flask_limiter import Limiter\nlimiter = Limiter(app)\n",
    "from fastapi_limiter import FastAPILimiter\nawait FastAPILimiter.init(redis)\n",
    "from fastapi_limiter.depends import RateLimiter\ndeps = [Depends(RateLimiter(times=2, seconds=5))]\n",
    "from limits import strategies\nlimiter = strategies.MovingWindowRateLimiter(storage)\n",
    "from clearsight.guard import ModelGuard\nguard = ModelGuard(model, rate_limit='10/s')\n",
])
def test_other_python_rate_limiters(code: str) -> None:
    assert "rate-limiting" in names("api.py", code)


def test_model_guard_is_also_clearsight_guard() -> None:
    assert names("api.py", "from clearsight.guard import ModelGuard\nguard = ModelGuard(model)\n") == {
        "rate-limiting", "clearsight-guard"}


@pytest.mark.parametrize("code", [
    "# from slowapi import Limiter\n# limiter = Limiter(key_func=f)\n",
    '"""limiter = Limiter(key_func=f)"""\n',
    "limiter = Limiter(key_func=f)\n",  # no rate-limiting library imported: some other Limiter
    "import slowapi\n",  # imported but never used
    "def broken(:\n    Limiter()\n",  # unparsable
])
def test_python_rate_limiting_negatives(code: str) -> None:
    assert "rate-limiting" not in names("api.py", code)


def test_pinned_model_revision() -> None:
    code = (f'from transformers import AutoModel\nm = AutoModel.from_pretrained("org/m", revision="{SHA}")\n'
            f'from huggingface_hub import hf_hub_download\np = hf_hub_download("org/m", "w.bin", revision="{SHA}")\n')
    assert found("train.py", code) == {("pinned-model-revision", 2), ("pinned-model-revision", 4)}


@pytest.mark.parametrize("code", [
    'm = AutoModel.from_pretrained("org/m", revision="main")\n',
    'm = AutoModel.from_pretrained("org/m")\n',
    f'# m = AutoModel.from_pretrained("org/m", revision="{SHA}")\n',
    'm = AutoModel.from_pretrained("org/m", revision=REV)\n',
])
def test_unpinned_revisions(code: str) -> None:
    assert names("train.py", code) == set()


def test_weights_only_loading() -> None:
    code = ("import torch\nfrom safetensors.torch import load_file\nfrom safetensors import safe_open\n"
            "a = torch.load('m.pt', weights_only=True)\nb = load_file('m.safetensors')\n"
            "with safe_open('m.safetensors', framework='pt') as f:\n    pass\n")
    assert found("load.py", code) == {("weights-only-format", 4), ("weights-only-format", 5),
                                      ("weights-only-format", 6)}


@pytest.mark.parametrize("code", [
    "import torch\na = torch.load('m.pt')\n",
    "import torch\na = torch.load('m.pt', weights_only=False)\n",
    "import torch\n# a = torch.load('m.pt', weights_only=True)\n",
    "import json\nd = json.load(f)\n",
])
def test_unsafe_or_unrelated_loading(code: str) -> None:
    assert names("load.py", code) == set()


def test_secrets_managers_and_prompt_screening() -> None:
    code = ("import boto3\nimport hvac\nfrom clearsight.controls.llm import detect\n"
            "sm = boto3.client('secretsmanager')\nvault = hvac.Client(url=u)\ns3 = boto3.client('s3')\n"
            "verdict = detect(prompt)\n")
    assert found("keys.py", code) == {("secrets-manager", 4), ("secrets-manager", 5), ("prompt-screening", 7)}


def test_javascript_rate_limiting() -> None:
    code = ("// const old = require('express-rate-limit');\n"
            "/* import x from 'rate-limiter-flexible'\n*/\n"
            "import rateLimit from 'express-rate-limit';\n")
    assert found("server/index.ts", code) == {("rate-limiting", 4)}
    assert names("server/index.js", "const express = require('express');\n") == set()


def test_gateway_configuration() -> None:
    nginx = "http {\n  # limit_req_zone $binary_remote_addr zone=old:10m rate=1r/s;\n" \
            "  limit_req_zone $binary_remote_addr zone=api:10m rate=10r/s;\n}\n"
    assert found("deploy/nginx.conf", nginx) == {("rate-limiting", 3)}
    kong = "plugins:\n  - name: rate-limiting\n    config:\n      minute: 60\n"
    assert found("gateway/kong.yaml", kong) == {("rate-limiting", 2)}
    envoy = "http_filters:\n  - name: envoy.filters.http.local_ratelimit\n"
    assert found("envoy.yaml", envoy) == {("rate-limiting", 2)}
    assert names("k8s/deployment.yaml", "kind: Deployment\nmetadata:\n  name: rate-limiting-docs\n") == set()


WORKFLOW = """\
name: release
on: push
jobs:
  deploy:
    steps:
      # - run: cosign verify old-image
      - run: clearsight model verify model/fraud_model.joblib --signature model.sig
      - run: clearsight model scan model/
      - run: clearsight data check data/train.csv
      - uses: anchore/sbom-action@v0
"""


def test_ci_workflow_controls() -> None:
    assert found(".github/workflows/release.yml", WORKFLOW) == {
        ("signature-verification-ci", 7), ("clearsight-model-scan", 8), ("clearsight-data-check", 9), ("sbom", 10)}


@pytest.mark.parametrize(("rel", "text", "control"), [
    (".gitlab-ci.yml", "verify:\n  script:\n    - cosign verify --key k.pub img\n", "signature-verification-ci"),
    ("Jenkinsfile", "// sh 'sigstore verify x'\nsh 'python -m model_signing verify model'\n",
     "signature-verification-ci"),
    ("azure-pipelines.yml", "steps:\n  - script: sigstore verify identity m.sig\n", "signature-verification-ci"),
    (".pre-commit-config.yaml", "repos:\n  - repo: local\n    hooks:\n      - id: scan\n"
     "        entry: clearsight model scan\n", "clearsight-model-scan"),
])
def test_other_ci_systems(rel: str, text: str, control: str) -> None:
    assert names(rel, text) == {control}


def test_ci_negatives() -> None:
    assert names(".github/workflows/ci.yml", "steps:\n  - run: modelscan -p model/\n  - run: pytest\n") == set()
    assert names("docs/release.yml", "run: clearsight model verify x\n") == set()  # not a CI file
    assert names(".github/workflows/ci.yml", "# run: clearsight model verify x\n") == set()
    assert is_ci_file(".github/workflows/a.yaml") and not is_ci_file(".github/dependabot.yml")


def test_dependency_pinning() -> None:
    pinned = ("# pinned\nnumpy==1.26.4\nscikit-learn==1.4.2  # comment\n-r base.txt\n"
              "joblib==1.3.2 \\\n    --hash=sha256:abc\nfoo @ https://x/foo.whl --hash=sha256:def\n")
    assert found("requirements.txt", pinned) == {("dependency-pinning", 1)}
    assert names("requirements-dev.txt", "numpy==1.26.4\nfastapi>=0.110\n") == set()
    assert names("requirements.txt", "numpy==1.*\n") == set()
    assert names("requirements.txt", "# numpy==1.26\n") == set()  # nothing to pin
    assert names("poetry.lock", "[[package]]\n") == {"dependency-pinning"}
    assert names("package-lock.json", "{}") == {"dependency-pinning"}

"""The Python detector: AST only, so comments and strings never count; model IDs, datasets, risky loads."""

from __future__ import annotations

from pathlib import Path

from clearsight.discover.detectors.python_code import PYTHON_CODE, RISK_PREFIX, python_observations
from clearsight.discover.interface import Observation, SourceFile


def _scan(source: str) -> list[Observation]:
    return python_observations(source, "app.py")


def _kinds(found: list[Observation]) -> set[tuple[str, str, int | None]]:
    return {(o.kind, o.name, o.line) for o in found if not o.evidence.startswith(RISK_PREFIX)}


def _risks(found: list[Observation]) -> list[tuple[str, int | None, str]]:
    return [(o.name, o.line, o.evidence) for o in found if o.evidence.startswith(RISK_PREFIX)]


def test_commented_out_and_string_imports_do_not_count() -> None:
    source = '# import openai\n"""import anthropic"""\nx = "from langchain import x"\n'
    assert _scan(source) == []


def test_aliased_and_from_imports_count() -> None:
    found = _scan("import openai as oa\nfrom google import genai\nfrom langchain_openai import ChatOpenAI\n"
                  "import torch.nn as nn\nimport os\n")
    assert _kinds(found) == {
        ("provider", "openai", 1), ("provider", "google-genai", 2), ("agent_framework", "langchain", 3),
        ("sdk", "pytorch", 4),
    }
    assert found[0].evidence == "import openai as oa"
    assert all(o.detector == "python-code" for o in found)


def test_unpickling_unknown_data_without_ai_is_a_low_confidence_risk() -> None:
    """dask's ``bag/`` came out as a shadow AI system on a bare ``pickle.loads``: still a risk to list, but no
    evidence of AI on its own. Loading a file, a model-like payload or an AI import keeps it high (a review
    found services that unpickle their model through ``os.path.join`` and S3 reported as nothing)."""
    low = _scan("import pickle, cloudpickle\nobj = pickle.loads(payload)\nfn = cloudpickle.loads(msg[1])\n")
    assert [(o.line, o.confidence) for o in low] == [(2, "low"), (3, "low")]
    assert all(o.evidence.startswith(RISK_PREFIX) for o in low)
    high = _scan(
        "import os, pickle, gzip\nimport pandas as pd\n"
        "a = pickle.load(open(os.path.join(HERE, 'churn_model.pkl'), 'rb'))\n"
        "with open(path, 'rb') as fh:\n    b = pickle.load(fh)\n"
        "c = pickle.loads(s3.get_object(Bucket='b', Key='models/churn.pkl')['Body'].read())\n"
        "d = pickle.load(gzip.open('model.pkl.gz'))\ne = pd.read_pickle(DIR / 'x.pkl')\n"
        "f = pickle.loads(model_bytes)\n")
    assert [(o.line, o.confidence) for o in high if o.evidence.startswith(RISK_PREFIX)] == [
        (3, "high"), (5, "high"), (6, "high"), (7, "high"), (8, "high"), (9, "high")]
    with_ai = _scan("import pickle\nimport sklearn\nobj = pickle.loads(payload)\n")
    assert [o.confidence for o in with_ai if o.evidence.startswith(RISK_PREFIX)] == ["high"]


def test_a_file_that_does_not_parse_yields_its_imports_only() -> None:
    """Python 2 code or a template still imports what it imports; calls are not believed without the tree."""
    found = _scan('import openai\ndef broken(:\n    m = torch.load("m.pt")\nprint "x"\nfrom sklearn import svm\n')
    assert [(o.name, o.line, o.evidence) for o in found] == [
        ("openai", 1, "import openai"), ("scikit-learn", 5, "from sklearn import svm")]


def test_model_ids_with_lines() -> None:
    source = (
        "from transformers import AutoModel, pipeline\n"
        "from sentence_transformers import SentenceTransformer\n"
        "from datasets import load_dataset\n"
        "MODEL = 'gpt-4o'\n"
        "m = AutoModel.from_pretrained('bert-base-uncased', revision='abc123')\n"
        "p = pipeline('text-generation', model='org/tiny', revision='v1')\n"
        "e = SentenceTransformer('all-MiniLM-L6-v2')\n"
        "d = load_dataset('imdb')\n"
        "client.chat.completions.create(model=MODEL, messages=[])\n"
        "client.chat.completions.create(model=f'gpt-{v}')\n"
        "client.messages.create(model='claude-3-5-sonnet-latest')\n"
    )
    kinds = _kinds(_scan(source))
    assert {
        ("model", "gpt-4o", 4), ("model", "bert-base-uncased", 5), ("model", "org/tiny", 6),
        ("model", "all-MiniLM-L6-v2", 7), ("dataset", "imdb", 8), ("model", "gpt-4o", 9),
        ("model", "claude-3-5-sonnet-latest", 11),
    } <= kinds
    assert not any(line == 10 for _kind, _name, line in kinds)
    assert _risks(_scan(source)) == []  # pinned revisions, no pickles


def test_model_keyword_without_ai_context_is_ignored() -> None:
    assert _scan("car = Car(model='Civic')\n") == []
    found = _scan("import openai\ncar = client.create(model='my-finetune')\n")
    assert ("model", "my-finetune", 2) in _kinds(found)
    assert next(o for o in found if o.name == "my-finetune").confidence == "medium"


def test_secret_looking_values_are_never_reported() -> None:
    found = _scan("import openai\nx = client.create(model='sk-abcdefghijklmnopqrstuvwxyz0123456789')\n")
    assert all("sk-" not in o.evidence and "sk-" not in o.name for o in found)


def test_risky_loads_flagged() -> None:
    source = (
        "import torch\n"
        "import pickle as pk\n"
        "import joblib, dill\n"
        "import numpy as np\n"
        "from transformers import AutoModel\n"
        "a = torch.load('model.pt')\n"
        "b = torch.load('model.pt', weights_only=True)\n"
        "c = pk.loads(blob)\n"
        "d = joblib.load('clf.joblib')\n"
        "e = dill.load(f)\n"
        "f = np.load('x.npy', allow_pickle=True)\n"
        "g = np.load('x.npy')\n"
        "h = AutoModel.from_pretrained('org/x', trust_remote_code=True)\n"
        "i = AutoModel.from_pretrained('./local-dir')\n"
        "# torch.load('commented.pt')\n"
    )
    risks = _risks(_scan(source))
    lines = sorted({line for _n, line, _e in risks if line is not None})
    assert lines == [6, 8, 9, 10, 11, 13]
    by_line = {(line, evidence.split(": ", 1)[1].split(" ")[0]) for _n, line, evidence in risks}
    assert (6, "torch.load") in by_line
    assert (8, "pickle.loads") in by_line
    assert (9, "joblib.load") in by_line
    assert (10, "dill.load") in by_line
    assert (11, "numpy.load") in by_line
    assert (13, "trust_remote_code=True") in by_line and (13, "from_pretrained") in by_line
    assert ("model.pt", 6) in {(n, line) for n, line, _e in risks}
    flagged = [o for o in _scan(source) if o.evidence.startswith(RISK_PREFIX)]
    assert all(o.confidence == "high" and o.kind == "model" for o in flagged)


def test_detector_wants_python_files_and_ignores_binaries(tmp_path: Path) -> None:
    assert PYTHON_CODE.wants("src/app.py") and not PYTHON_CODE.wants("app.js")
    binary = SourceFile(path=tmp_path / "x.py", rel="x.py", root=tmp_path, size=3, text=None, head=b"\x00")
    assert PYTHON_CODE.detect(binary) == []

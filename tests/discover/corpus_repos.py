"""A labelled corpus of realistic mini-repositories for discovery recall/precision (issue 4's quality bar).

``build_repos(root)`` writes each repository as plain text files (plus one pickled model) under ``root`` and
returns, per repository folder name, the (kind, name) components a careful human reviewer would list. Names
follow the detectors' normalisation (catalogue package names, ``.env`` variable names, personal-data
categories, repository-relative model-file paths).

Each repository also holds traps a naive scanner gets wrong and that must *not* be reported: commented-out
imports, ``openai_model = "x"`` without any AI import, ``Car(model="Civic")``, markdown that mentions SDKs,
``.env.example`` values, ``emailed_at`` columns and a vendored ``node_modules/openai``. ``tests/`` and
``examples/`` folders hold real usage and *are* counted.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

Expected = set[tuple[str, str]]


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.lstrip("\n"), encoding="utf-8")


def _notebook(cells: list[tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1)


# --------------------------------------------------------------------------------------------- 1. LLM chatbot

def _chatbot(root: Path) -> Expected:
    _write(root, {
        "README.md": """
# Support chatbot
Answers customer questions with the OpenAI API. You could also `import anthropic` and use Claude,
or try `model="gpt-4-turbo"` — see the docs.
""",
        "requirements.txt": "fastapi==0.110.0\nuvicorn\nopenai==1.30.1\npython-dotenv\n",
        ".env.example": "OPENAI_API_KEY=sk-replace-me\nLOG_LEVEL=info\n",
        "app/__init__.py": "",
        "app/main.py": """
import os

from fastapi import FastAPI
from openai import OpenAI
# import anthropic  # we tried Claude once
# from langchain.chat_models import ChatOpenAI

from app.settings import CHAT_MODEL

app = FastAPI()
client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])


@app.post("/chat")
def chat(message: str) -> str:
    reply = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": message}],
    )
    return reply.choices[0].message.content or ""
""",
        "app/settings.py": """
CHAT_MODEL = "gpt-4o-mini"
TIMEOUT_SECONDS = 30
""",
        "app/garage.py": """
from dataclasses import dataclass

openai_model = "x"  # legacy setting name, no AI here


@dataclass
class Car:
    model: str
    year: int


def demo() -> Car:
    return Car(model="Civic", year=2020)
""",
        "tests/test_quality.py": """
import anthropic

JUDGE = anthropic.Anthropic()


def test_answers_are_polite() -> None:
    verdict = JUDGE.messages.create(model="claude-3-5-haiku-20241022", max_tokens=10,
                                    messages=[{"role": "user", "content": "Rate: hello"}])
    assert verdict
""",
        "node_modules/openai/index.js": 'const Anthropic = require("@anthropic-ai/sdk");\nmodule.exports = {};\n',
        "node_modules/openai/package.json": '{"name": "openai", "dependencies": {"cohere-ai": "7.0.0"}}\n',
    })
    return {
        ("provider", "openai"), ("provider", "anthropic"),
        ("model", "gpt-4o-mini"), ("model", "claude-3-5-haiku-20241022"),
        ("secret_ref", "OPENAI_API_KEY"),
    }


# ------------------------------------------------------------------------------------------------- 2. RAG app

def _rag(root: Path) -> Expected:
    _write(root, {
        "pyproject.toml": """
[project]
name = "docs-rag"
version = "0.3.0"
dependencies = [
    "langchain>=0.2",
    "langchain-openai>=0.1",
    "chromadb==0.5.0",
    "sentence-transformers>=2.7",
    "psycopg[binary]>=3.1",
    "pydantic>=2",
]

[project.optional-dependencies]
dev = ["pytest"]
""",
        "docs/architecture.md": "We embed with OpenAI `text-embedding-3-large` and store vectors in Pinecone.\n",
        "config/settings.yaml": """
database:
  url: postgresql://rag:secret@db.internal:5432/documents
retrieval:
  top_k: 5
""",
        "rag/__init__.py": "",
        "rag/embed.py": """
from sentence_transformers import SentenceTransformer

EMBEDDER = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")


def embed(texts: list[str]) -> list[list[float]]:
    return EMBEDDER.encode(texts).tolist()
""",
        "rag/store.py": """
import chromadb

client = chromadb.PersistentClient(path="./chroma")
collection = client.get_or_create_collection("docs")
""",
        "rag/chain.py": """
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o", temperature=0)
prompt = ChatPromptTemplate.from_template("Answer from the context: {context}\\n\\nQ: {question}")
chain = prompt | llm
""",
        "rag/models.py": """
from datetime import datetime

from pydantic import BaseModel


class Customer(BaseModel):
    customer_id: int
    full_name: str
    email: str
    phone_number: str
    emailed_at: datetime | None = None
""",
        "examples/ingest_wiki.py": """
from datasets import load_dataset

wiki = load_dataset("wikimedia/wikipedia", "20231101.en", split="train[:1%]")
""",
    })
    return {
        ("agent_framework", "langchain"), ("vector_store", "chromadb"), ("sdk", "sentence-transformers"),
        ("sdk", "datasets"), ("model", "sentence-transformers/all-MiniLM-L6-v2"), ("model", "gpt-4o"),
        ("dataset", "wikimedia/wikipedia"), ("data_store", "postgresql"),
        ("personal_data", "contact"), ("personal_data", "identifiers"),
    }


# ------------------------------------------------------------------------------------- 3. tabular fraud model

def _fraud(root: Path) -> Expected:
    model = pickle.dumps({"estimator": "GradientBoosting", "threshold": 0.73, "features": ["amount", "mcc"]})
    _write(root, {
        "requirements.txt": "pandas==2.2.2\nscikit-learn==1.4.2\nxgboost==2.0.3\njoblib\npsycopg2-binary\n",
        "models/model.bin": model,
        "data/transactions_sample.csv": (
            "transaction_id,card_number,amount,merchant,date_of_birth,email,emailed_at,is_fraud\n"
            "1,4111111111111111,12.50,ACME,1980-01-01,a@example.com,2024-01-01,0\n"
        ),
        "sql/schema.sql": """
CREATE TABLE customers (
    id SERIAL PRIMARY KEY,
    iban VARCHAR(34) NOT NULL,
    created_at TIMESTAMP,
    emailed_at TIMESTAMP
);
""",
        "fraud/__init__.py": "",
        "fraud/train.py": """
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import train_test_split

frame = pd.read_csv("data/transactions_sample.csv")
train, test = train_test_split(frame, test_size=0.2)
clf = xgb.XGBClassifier(n_estimators=200)
clf.fit(train.drop(columns=["is_fraud"]), train["is_fraud"])
""",
        "fraud/score.py": """
import pickle

import psycopg2

conn = psycopg2.connect("dbname=payments host=prod-db.internal")

with open("models/model.bin", "rb") as fh:
    MODEL = pickle.load(fh)
""",
        "tests/test_score.py": """
from sklearn.metrics import roc_auc_score


def test_auc() -> None:
    assert roc_auc_score([0, 1], [0.1, 0.9]) == 1.0
""",
    })
    return {
        ("sdk", "scikit-learn"), ("sdk", "xgboost"), ("sdk", "joblib"), ("model_file", "models/model.bin"),
        ("model", "models/model.bin"),  # the unpickled model, loaded through a file handle
        ("data_store", "postgresql"),
        ("personal_data", "financial"), ("personal_data", "contact"), ("personal_data", "date_of_birth"),
    }


# ---------------------------------------------------------------------------------------------- 4. fine-tuning

def _finetune(root: Path) -> Expected:
    _write(root, {
        "environment.yml": """
name: finetune
channels: [pytorch, conda-forge]
dependencies:
  - python=3.11
  - pytorch=2.3.0
  - pip
  - pip:
      - transformers==4.41.0
      - peft==0.11.1
      - datasets
      - wandb
""",
        "train/lora.py": """
import torch
import wandb
from datasets import load_dataset
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

BASE_MODEL = "meta-llama/Meta-Llama-3-8B"

tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL, revision="main")
model = AutoModelForCausalLM.from_pretrained(BASE_MODEL, torch_dtype=torch.bfloat16, revision="main")
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32))
data = load_dataset("tatsu-lab/alpaca", split="train")
wandb.init(project="lora")
""",
        "train/resume.py": """
import torch

state = torch.load("checkpoints/last.pt")
""",
        "examples/chat_with_phi.py": """
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("microsoft/phi-2", trust_remote_code=True)
""",
    })
    return {
        ("sdk", "pytorch"), ("sdk", "transformers"), ("sdk", "peft"), ("sdk", "datasets"), ("pipeline", "wandb"),
        ("model", "meta-llama/Meta-Llama-3-8B"), ("model", "microsoft/phi-2"), ("model", "checkpoints/last.pt"),
        ("dataset", "tatsu-lab/alpaca"),
    }


# --------------------------------------------------------------------------------------- 5. MLOps serving stack

def _serving(root: Path) -> Expected:
    _write(root, {
        "docker-compose.yml": """
services:
  llm:
    image: vllm/vllm-openai:v0.4.2
    command: ["--model", "mistralai/Mistral-7B-Instruct-v0.2"]
    ports: ["8000:8000"]
  local:
    image: ollama/ollama:latest
  cache:
    image: redis:7
""",
        "k8s/tgi.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tgi
spec:
  template:
    spec:
      containers:
        - name: tgi
          image: ghcr.io/huggingface/text-generation-inference:2.0
          args: ["--model-id", "HuggingFaceH4/zephyr-7b-beta"]
""",
        "triton/Dockerfile": "FROM nvcr.io/nvidia/tritonserver:24.04-py3\nCOPY model_repository /models\n",
        "service/bento_service.py": """
import bentoml
import onnxruntime as ort

session = ort.InferenceSession("model.onnx")


@bentoml.service
class Ranker:
    @bentoml.api
    def rank(self, text: str) -> float:
        return 0.0
""",
        "service/requirements.txt": "bentoml==1.2.16\nonnxruntime==1.18.0\nmlflow>=2.12\n",
        "pipelines/register.py": """
import mlflow

mlflow.set_tracking_uri("http://mlflow.internal:5000")
""",
    })
    return {
        ("serving", "vllm"), ("serving", "ollama"), ("serving", "text-generation-inference"),
        ("serving", "triton-inference-server"), ("serving", "bentoml"), ("serving", "onnxruntime"),
        ("pipeline", "mlflow"),
        ("model", "mistralai/Mistral-7B-Instruct-v0.2"), ("model", "HuggingFaceH4/zephyr-7b-beta"),
        ("data_store", "redis"),
    }


# ------------------------------------------------------------------------------------- 6. agent with MCP configs

def _agent(root: Path) -> Expected:
    _write(root, {
        ".mcp.json": json.dumps({"mcpServers": {
            "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                       "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_example"}},
            "postgres": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-postgres",
                                                    "postgresql://localhost/crm"]},
        }}, indent=2),
        ".vscode/mcp.json": json.dumps({"servers": {"filesystem": {
            "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/data"]}}}, indent=2),
        ".cursor/mcp.json": json.dumps({"mcpServers": {"linear": {"url": "https://mcp.linear.app/sse"}}}, indent=2),
        "pyproject.toml": """
[tool.poetry]
name = "ops-agent"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
langgraph = "0.1.5"
anthropic = "^0.28"
mcp = "^1.0"
""",
        "agent/graph.py": """
from anthropic import Anthropic
from langgraph.graph import StateGraph

client = Anthropic()
MODEL = "claude-3-5-sonnet-20240620"


def plan(state: dict) -> dict:
    reply = client.messages.create(model=MODEL, max_tokens=512, messages=state["messages"])
    return {"messages": [reply]}


graph = StateGraph(dict)
graph.add_node("plan", plan)
""",
        "agent/tools_server.py": """
from mcp.server.fastmcp import FastMCP

server = FastMCP("ops-tools")


@server.tool()
def restart(service: str) -> str:
    return f"restarted {service}"
""",
        "web/package.json": json.dumps({"name": "agent-ui", "dependencies": {
            "@anthropic-ai/sdk": "0.24.3", "react": "18.3.1"}}, indent=2),
        "web/src/ask.ts": """
import Anthropic from "@anthropic-ai/sdk";
// import OpenAI from "openai";

const client = new Anthropic();
export async function ask(q: string) {
  return client.messages.create({ model: "claude-3-haiku-20240307", max_tokens: 256,
    messages: [{ role: "user", content: q }] });
}
""",
    })
    return {
        ("mcp_server", "github"), ("mcp_server", "postgres"), ("mcp_server", "filesystem"), ("mcp_server", "linear"),
        ("data_store", "postgresql"),  # the postgres MCP server connects the agent to the CRM database
        ("agent_framework", "langgraph"), ("agent_framework", "mcp"), ("provider", "anthropic"),
        ("model", "claude-3-5-sonnet-20240620"), ("model", "claude-3-haiku-20240307"),
    }


# ----------------------------------------------------------------------------------------------- 7. notebooks

def _notebooks(root: Path) -> Expected:
    _write(root, {
        "notebooks/churn.ipynb": _notebook([
            ("markdown", "# Churn model\nLater we might summarise with `import openai`."),
            ("code", "%matplotlib inline\n!pip install lightgbm catboost\nimport pandas as pd\nimport lightgbm as lgb"),
            ("code", "df = pd.read_csv('customers.csv')\n# import tensorflow as tf\nmodel = lgb.LGBMClassifier()"),
            ("code", "from catboost import CatBoostClassifier\ncb = CatBoostClassifier(iterations=100)"),
        ]),
        "notebooks/sentiment.ipynb": _notebook([
            ("code", "from transformers import pipeline\n"
                     "clf = pipeline('sentiment-analysis', "
                     "model='distilbert-base-uncased-finetuned-sst-2-english', revision='af0f99b')"),
            ("code", "import joblib\nvectorizer = joblib.load('artifacts/tfidf.joblib')"),
        ]),
        "notebooks/customers.csv": ("customer_id,first_name,last_name,email,date_of_birth,churned\n"
                                    "1,A,B,a@b.c,1990-01-01,0\n"),
    })
    return {
        ("sdk", "lightgbm"), ("sdk", "catboost"), ("sdk", "transformers"), ("sdk", "joblib"),
        ("model", "distilbert-base-uncased-finetuned-sst-2-english"), ("model", "artifacts/tfidf.joblib"),
        ("personal_data", "contact"), ("personal_data", "identifiers"), ("personal_data", "date_of_birth"),
    }


# ------------------------------------------------------------------------------------------- 8. JavaScript app

def _js_app(root: Path) -> Expected:
    _write(root, {
        "package.json": json.dumps({
            "name": "writer", "private": True,
            "dependencies": {"ai": "3.1.0", "@ai-sdk/openai": "0.0.13", "@pinecone-database/pinecone": "^2.2.0",
                             "next": "14.2.3", "pg": "8.11.5"},
            "devDependencies": {"vitest": "1.6.0"},
        }, indent=2),
        ".env.example": "OPENAI_API_KEY=\nPINECONE_API_KEY=\nDATABASE_URL=postgres://user:pass@localhost:5432/app\n",
        "app/api/write/route.ts": """
import { openai } from "@ai-sdk/openai";
import { generateText } from "ai";

export async function POST(req: Request) {
  const { prompt } = await req.json();
  const result = await generateText({ model: openai("gpt-4o"), prompt });
  return Response.json({ text: result.text });
}
""",
        "lib/search.js": """
const { Pinecone } = require("@pinecone-database/pinecone");
/* const { CohereClient } = require("cohere-ai"); */
const pc = new Pinecone();
module.exports = { index: pc.index("articles") };
""",
        "lib/cars.js": 'export const car = { make: "Honda", model: "Civic" };\n',
    })
    return {
        ("sdk", "vercel-ai"), ("vector_store", "pinecone"), ("model", "gpt-4o"), ("provider", "openai"),
        ("secret_ref", "OPENAI_API_KEY"), ("secret_ref", "PINECONE_API_KEY"), ("data_store", "postgresql"),
    }


# ---------------------------------------------------------------------------------------------- 9. recommender

def _recommender(root: Path) -> Expected:
    header = json.dumps({"embeddings.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    _write(root, {
        "requirements.txt": "torch==2.3.0\nsentence-transformers==2.7.0\nfaiss-cpu==1.8.0\nqdrant-client==1.9.0\n"
                            "mlflow==2.12.1\nwandb==0.17.0\ndatasets==2.19.0\nhuggingface-hub==0.23.0\nnumpy\n",
        "artifacts/encoder.safetensors": len(header).to_bytes(8, "little") + header + bytes(16),
        "artifacts/ranker.bin": pickle.dumps({"weights": [0.2, 0.8], "bias": 0.1}, protocol=4),
        "artifacts/README.md": "Weights are rebuilt nightly by `recsys/train.py`; do not edit by hand.\n",
        "recsys/__init__.py": "",
        "recsys/data.py": """
from datasets import load_dataset
from huggingface_hub import hf_hub_download

REVIEWS = load_dataset("McAuley-Lab/Amazon-Reviews-2023", "raw_review_All_Beauty")
RATINGS = hf_hub_download(repo_id="kestrel/ratings-2024", repo_type="dataset", filename="ratings.parquet")
""",
        "recsys/index.py": """
import faiss
import numpy as np
from qdrant_client import QdrantClient
from sentence_transformers import SentenceTransformer

ENCODER = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
client = QdrantClient(url="http://qdrant:6333")
index = faiss.IndexFlatIP(384)


def add(texts: list[str]) -> None:
    index.add(np.asarray(ENCODER.encode(texts)))
""",
        "recsys/train.py": """
import mlflow
import torch
import wandb

# import pinecone  -- tried it in 2023, see ADR-7
wandb.init(project="recsys")
with mlflow.start_run():
    state = torch.load("artifacts/ranker.bin", weights_only=True)
    mlflow.log_metric("ndcg", 0.41)
""",
    })
    return {
        ("sdk", "pytorch"), ("sdk", "sentence-transformers"), ("sdk", "datasets"), ("provider", "huggingface-hub"),
        ("vector_store", "faiss"), ("vector_store", "qdrant"), ("pipeline", "mlflow"), ("pipeline", "wandb"),
        ("dataset", "McAuley-Lab/Amazon-Reviews-2023"), ("dataset", "kestrel/ratings-2024"),
        ("model", "sentence-transformers/all-MiniLM-L6-v2"),
        ("model_file", "artifacts/encoder.safetensors"), ("model_file", "artifacts/ranker.bin"),
        ("pipeline", "control:weights-only-format"),  # torch.load(..., weights_only=True): a control, not a risk
    }


_BUILDERS = {
    "chatbot": _chatbot, "rag-app": _rag, "fraud-model": _fraud, "finetune": _finetune,
    "serving-stack": _serving, "mcp-agent": _agent, "notebooks": _notebooks, "js-app": _js_app,
    "recommender": _recommender,
}


def build_repos(root: Path) -> dict[str, set[tuple[str, str]]]:
    """Write every corpus repository under ``root``; return each folder name's expected (kind, name) set."""
    expected: dict[str, set[tuple[str, str]]] = {}
    for name, builder in _BUILDERS.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        expected[name] = builder(folder)
    return expected

"""Generate a realistic-looking AI portfolio inventory of N systems (seeded), for benchmarks.

    python benchmarks/portfolio.py 10000 /tmp/portfolio   # writes /tmp/portfolio/clearsight.yaml
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any, get_args

import yaml

from clearsight.core import system as s
from clearsight.frameworks.controls import load_controls
from clearsight.frameworks.eu_ai_act import load_eu_ai_act


def generate(count: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    purposes = sorted(load_eu_ai_act().use_case_ids())
    controls = [c.id for c in load_controls().controls]
    systems = []
    for i in range(count):
        kind = rng.choice(get_args(s.ModelKind))
        llm = kind == "llm"
        traits = {
            "purposes": rng.sample(purposes, k=rng.choice((1, 1, 1, 2))),
            "model_kind": kind,
            "exposure": rng.choice(get_args(s.Exposure)),
            "inference_api": rng.random() < 0.6,
            "outputs": rng.choice(("text",) if llm else ("label", "score", "scores", "ranking")),
            "model_origin": rng.choice(get_args(s.ModelOrigin)),
            "training_data": rng.sample(get_args(s.DataSource), k=rng.randint(0, 3)),
            "retraining": rng.choice(get_args(s.Retraining)),
            "personal_data": rng.sample(get_args(s.PersonalData), k=rng.randint(0, 3)),
            "production_data": rng.choice(get_args(s.ProductionAccess)),
            "rag": llm and rng.random() < 0.5,
            "agent": llm and rng.random() < 0.3,
            "interacts_with_people": llm and rng.random() < 0.7,
            "generates_content": kind in ("llm", "generative-media"),
            "decision_role": rng.choice(get_args(s.DecisionRole)),
            "affected": rng.sample(get_args(s.Affected), k=rng.randint(0, 2)),
            "scale": rng.choice(get_args(s.Scale)),
            "business_criticality": rng.choice(get_args(s.Criticality)),
            "regulated_sector": rng.random() < 0.3,
            "role": rng.choice(get_args(s.Role)),
        }
        attestations = [
            {"control": c, "status": rng.choice(("implemented", "partial", "missing"))}
            for c in rng.sample(controls, k=rng.randint(0, 6))
        ]
        systems.append({"id": f"system-{i:05d}", "name": f"AI system {i}", "traits": traits,
                        "attestations": attestations})
    return {"version": 1, "organisation": {"name": "Benchmark Corp", "as_of": "2026-11-26"},
            "planning": {"capacity_days": [400, 400, 400]}, "systems": systems}


def write(count: int, folder: Path, seed: int = 7) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clearsight.yaml"
    path.write_text(yaml.safe_dump(generate(count, seed), sort_keys=False), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(int(sys.argv[1]), Path(sys.argv[2])))

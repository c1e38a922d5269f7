"""Prompt-injection detection: Clearsight's fast tier against offline anchors from PyPI, in one run.

    python benchmarks/bench_injection.py [--anchors last-layer,prompt-guardrail,...] [--public]

Evaluation data is held apart from training:

* ``benchmarks/injection/eval_fresh_2.jsonl`` — written for evaluation only, in the seventh session, by a writer
  (a helper agent) who opened none of the training data, none of the earlier evaluation sets, and neither the
  detector's code nor its docs; many hard negatives (security talk, role-play, code, other languages, benign
  documents full of imperatives for people) and indirect injections in documents. Measured once.
* The two earlier evaluation sets were looked at for error analysis after their measurement and are training
  data now (``train_retired_eval_1.jsonl``, ``train_retired_eval_2.jsonl``); their results stay in
  docs/benchmarks.md.
* ``--public``: ``benchmarks/injection/.public_eval.jsonl``, extracted from openly licensed sets shipped in PyPI
  and npm packages by ``benchmarks/injection/public_eval.py`` (not committed; sources and licences there).

Any evaluation text whose normalised form is also in a training file is dropped and counted. Each process is
pinned to one CPU core; latency is per text, model loading excluded. Anchors run in their own virtual
environment (``benchmarks/injection/anchors.py`` says how to create it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRAIN = [ROOT.parent / "shared" / "datasets" / "prompt-injection" / "train.jsonl",
         *sorted((HERE / "injection").glob("train_*.jsonl"))]
HELD_OUT = HERE / "injection" / "eval_fresh_2.jsonl"
PUBLIC = HERE / "injection" / ".public_eval.jsonl"
ANCHOR_PYTHON = HERE / ".venv-llm-anchors" / "bin" / "python"


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def load_eval(path: Path, train_keys: set[str]) -> tuple[list[dict[str, Any]], int]:
    rows = read(path)
    kept = [r for r in rows if _key(r["text"]) not in train_keys]
    for row in kept:
        row.setdefault("context", "prompt")
        row.setdefault("hard", False)
        row.setdefault("category", row.get("source", "").split(":")[0] or "-")
    return kept, len(rows) - len(kept)


def run_clearsight(rows: Sequence[dict[str, Any]], threshold: float | None = None) -> list[tuple[bool, float, float]]:
    sys.path.insert(0, str(ROOT / "src"))
    from clearsight.llm.detect import Detector

    detect = Detector(threshold=threshold)
    detect("warm up: load the model")
    out = []
    for row in rows:
        started = time.perf_counter()
        found = detect(row["text"], context=row["context"])
        out.append((found.flagged, found.score, (time.perf_counter() - started) * 1000))
    return out


def run_anchor(name: str, rows: Sequence[dict[str, Any]]) -> list[tuple[bool, float, float]]:
    payload = "".join(json.dumps({"text": r["text"]}) + "\n" for r in rows)
    command = ["taskset", "-c", "0", str(ANCHOR_PYTHON), str(HERE / "injection" / "anchors.py"), "--anchor", name]
    done = subprocess.run(command, input=payload, capture_output=True, text=True, check=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(results) != len(rows):
        raise SystemExit(f"{name}: {len(results)} results for {len(rows)} texts\n{done.stderr[-2000:]}")
    return [(bool(r["flagged"]), float(r["score"]), float(r["ms"])) for r in results]


def scores(rows: Sequence[dict[str, Any]], results: Sequence[tuple[bool, float, float]]) -> dict[str, float]:
    tp = sum(1 for r, (f, _, _) in zip(rows, results, strict=True) if r["label"] == 1 and f)
    fp = sum(1 for r, (f, _, _) in zip(rows, results, strict=True) if r["label"] == 0 and f)
    fn = sum(1 for r, (f, _, _) in zip(rows, results, strict=True) if r["label"] == 1 and not f)
    hard = [f for r, (f, _, _) in zip(rows, results, strict=True) if r["label"] == 0 and r["hard"]]
    benign = [f for r, (f, _, _) in zip(rows, results, strict=True) if r["label"] == 0]
    ms = sorted(m for _, _, m in results)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": len(rows), "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "hard_fpr": sum(hard) / len(hard) if hard else float("nan"),
        "fpr": sum(benign) / len(benign) if benign else float("nan"),
        "median_ms": statistics.median(ms), "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
    }


def by_group(rows: Sequence[dict[str, Any]], results: Sequence[tuple[bool, float, float]],
             field: str) -> dict[str, tuple[int, float]]:
    """Per group: size and share flagged (recall for attack groups, false-positive rate for benign ones)."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, (flagged, _, _) in zip(rows, results, strict=True):
        groups[f"{row[field]} ({'attack' if row['label'] else 'benign'})"].append(flagged)
    return {g: (len(v), sum(v) / len(v)) for g, v in sorted(groups.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--anchors", default="last-layer,prompt-guardrail,securevector,svguardian")
    parser.add_argument("--public", action="store_true", help="Also evaluate on the extracted public sets.")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[],
                        help="Also show Clearsight at these thresholds instead of the model's own.")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    train_keys = {_key(r["text"]) for path in TRAIN if path.is_file() for r in read(path)}
    sets = {"held-out": HELD_OUT}
    if args.public:
        if not PUBLIC.is_file():
            raise SystemExit(f"{PUBLIC} is missing: run benchmarks/injection/public_eval.py first")
        sets["public"] = PUBLIC
    anchors = [a for a in args.anchors.split(",") if a] if ANCHOR_PYTHON.is_file() else []
    if not anchors:
        print("no anchor venv: Clearsight only", file=sys.stderr)
    print("| set | detector | texts | precision | recall | F1 | FPR hard neg. | FPR all benign | median ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    detail: dict[str, dict[str, dict[str, tuple[int, float]]]] = {}
    for name, path in sets.items():
        rows, dropped = load_eval(path, train_keys)
        if dropped:
            print(f"{name}: dropped {dropped} texts that are also in training data", file=sys.stderr)
        runs = {"clearsight": run_clearsight(rows)}
        for cut in args.thresholds:
            runs[f"clearsight @{cut}"] = run_clearsight(rows, cut)
        for anchor in anchors:
            runs[anchor] = run_anchor(anchor, rows)
        for detector, results in runs.items():
            s = scores(rows, results)
            print(f"| {name} | {detector} | {s['n']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                  f"{s['hard_fpr']:.3f} | {s['fpr']:.3f} | {s['median_ms']:.2f} | {s['p99_ms']:.2f} |")
            detail.setdefault(name, {})[detector] = by_group(rows, results, "category")
    for name, per_detector in detail.items():
        detectors = list(per_detector)
        print(f"\nShare flagged per category ({name}):\n")
        print("| category | texts | " + " | ".join(detectors) + " |")
        print("|---|---|" + "---|" * len(detectors))
        for group, (n, _) in per_detector["clearsight"].items():
            cells = " | ".join(f"{per_detector[d][group][1]:.2f}" for d in detectors)
            print(f"| {group} | {n} | {cells} |")


if __name__ == "__main__":
    main()

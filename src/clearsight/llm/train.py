"""Reproducible training of the shipped injection model: ``python -m clearsight.llm.train --data FILE ...``.

Why it is built this way:

* Features come from :mod:`clearsight.llm.features`, the same code detection runs, and cross-validation scores
  held-out folds through :meth:`LinearModel.margin` itself — the numbers it prints are the shipped code path's.
* Folds keep all windows of one text together, so a long text never has one window in training and another in
  its own evaluation.
* The threshold per context is chosen on the cross-validated scores: the best F1 whose false-positive rate on
  hard negatives (benign texts that look like attacks) stays under ``--max-hard-fpr``.
* Only n-grams seen in at least two training texts get a weight, and the smallest weights are pruned, so the
  file stays small and a single odd text cannot plant a feature.

Needs scikit-learn and SciPy (``pip install 'clearsight[data]'``); detection itself needs neither.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearsight import __version__
from clearsight.llm.classifier import MODEL_FILE, LinearModel, probability, save_model, windows
from clearsight.llm.detect import CONTEXTS
from clearsight.llm.features import analyse, analysed_text, gram_counts, scale

DEFAULT_CS = (4.0, 16.0, 32.0, 64.0, 128.0)
DEFAULT_MAX_HARD_FPR = 0.04


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    context: str
    hard: bool
    source: str


@dataclass(frozen=True)
class Prepared:
    example: Example
    analysed: str
    signals: tuple[str, ...]
    windows: tuple[Counter[str], ...]


def read_examples(paths: Sequence[Path]) -> list[Example]:
    out: list[Example] = []
    seen: set[str] = set()
    for path in paths:
        # split on "\n" only: JSON strings may hold U+2028, which str.splitlines() would cut at
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            text, label = row.get("text"), row.get("label")
            if not isinstance(text, str) or label not in (0, 1):
                raise ValueError(f"{path}:{number}: needs a string 'text' and 'label' 0 or 1")
            key = " ".join(text.lower().split())
            if key in seen:
                continue
            seen.add(key)
            context = row.get("context", "prompt")
            if context not in CONTEXTS:
                raise ValueError(f"{path}:{number}: context must be prompt or document")
            out.append(Example(text, int(label), context, bool(row.get("hard", False)),
                               str(row.get("source", path.name))))
    return out


def prepare(example: Example) -> Prepared:
    analysis = analyse(example.text, example.context)
    text = analysed_text(analysis)
    return Prepared(example, text, analysis.signals, tuple(gram_counts(chunk) for chunk in windows(text)))


def fit(prepared: Sequence[Prepared], c: float, *, min_df: int = 2, keep: int = 120_000) -> LinearModel:
    """Logistic regression on window samples; each text's windows share its label and one unit of weight."""
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    df: Counter[str] = Counter()
    for item in prepared:
        df.update(set().union(*(w.keys() for w in item.windows)))
    grams = sorted(g for g, n in df.items() if n >= min_df)
    signals = sorted({s for item in prepared for s in item.signals})
    column = {f"s\0{s}": i for i, s in enumerate(signals)}
    column.update({f"g\0{g}": len(signals) + i for i, g in enumerate(grams)})
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    labels: list[int] = []
    weights: list[float] = []
    sample = 0
    for item in prepared:
        for window in item.windows:
            value = scale(sum(window.values()))
            for s in item.signals:
                rows.append(sample)
                cols.append(column[f"s\0{s}"])
                vals.append(1.0)
            for g, count in window.items():
                index = column.get(f"g\0{g}")
                if index is not None:
                    rows.append(sample)
                    cols.append(index)
                    vals.append(value * count)
            labels.append(item.example.label)
            weights.append(1.0 / len(item.windows))
            sample += 1
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(sample, len(column)))
    y = np.asarray(labels)
    positive_share = float(y.mean())
    balance = np.where(y == 1, 0.5 / positive_share, 0.5 / (1 - positive_share))
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
    model.fit(matrix, y, sample_weight=np.asarray(weights) * balance)
    coef = model.coef_[0]
    signal_w = {s: round(float(coef[i]), 5) for i, s in enumerate(signals) if abs(coef[i]) > 1e-6}
    gram_w = sorted(((g, float(coef[len(signals) + i])) for i, g in enumerate(grams)), key=lambda kv: -abs(kv[1]))
    kept = {g: round(w, 5) for g, w in gram_w[:keep] if abs(w) >= 1e-3}
    return LinearModel(bias=round(float(model.intercept_[0]), 5), signals=signal_w, grams=kept,
                       thresholds={c_: 0.5 for c_ in CONTEXTS}, meta={})


def cross_validate(prepared: Sequence[Prepared], c: float, folds: int, seed: int) -> list[float]:
    """Out-of-fold probabilities, scored through the shipped inference path."""
    order = list(range(len(prepared)))
    random.Random(seed).shuffle(order)
    by_label = sorted(order, key=lambda i: prepared[i].example.label)  # stratify: deal labels round-robin
    fold_of = {index: position % folds for position, index in enumerate(by_label)}
    scores = [0.0] * len(prepared)
    for fold in range(folds):
        train = [p for i, p in enumerate(prepared) if fold_of[i] != fold]
        model = fit(train, c)
        for i, item in enumerate(prepared):
            if fold_of[i] == fold:
                scores[i] = probability(model.margin(item.analysed, item.signals))
    return scores


def metrics(labels: Sequence[int], scores: Sequence[float], hard: Sequence[bool], cut: float) -> dict[str, float]:
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if y == 1 and s >= cut)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if y == 0 and s >= cut)
    fn = sum(1 for y, s in zip(labels, scores, strict=True) if y == 1 and s < cut)
    hard_negatives = [s for y, s, h in zip(labels, scores, hard, strict=True) if y == 0 and h]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    hard_fpr = sum(s >= cut for s in hard_negatives) / len(hard_negatives) if hard_negatives else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "hard_fpr": hard_fpr}


def choose_threshold(labels: Sequence[int], scores: Sequence[float], hard: Sequence[bool],
                     max_hard_fpr: float) -> tuple[float, dict[str, float]]:
    """Best F1, with every point of hard-negative false positives above the budget costing two points of F1."""
    def objective(found: dict[str, float]) -> float:
        return found["f1"] - 2 * max(0.0, found["hard_fpr"] - max_hard_fpr)

    best = (0.5, metrics(labels, scores, hard, 0.5))
    for step in range(10, 96):
        cut = step / 100
        found = metrics(labels, scores, hard, cut)
        if objective(found) > objective(best[1]):
            best = (cut, found)
    return best


def train(data: Sequence[Path], *, folds: int = 5, seed: int = 7, cs: Sequence[float] = DEFAULT_CS,
          max_hard_fpr: float = DEFAULT_MAX_HARD_FPR, log: Any = sys.stderr, errors: Path | None = None) -> LinearModel:
    examples = read_examples(data)
    print(f"{len(examples)} texts ({sum(e.label for e in examples)} injections) from {len(data)} files", file=log)
    prepared = [prepare(e) for e in examples]
    labels = [e.label for e in examples]
    hard = [e.hard for e in examples]
    best_c, best_scores, best_f1 = cs[0], [0.0] * len(prepared), -1.0
    for c in cs:
        scores = cross_validate(prepared, c, folds, seed)
        _, found = choose_threshold(labels, scores, hard, max_hard_fpr)
        print(f"C={c}: cross-validated F1 {found['f1']:.3f}, hard-negative FPR {found['hard_fpr']:.3f}", file=log)
        if found["f1"] > best_f1:
            best_c, best_scores, best_f1 = c, scores, found["f1"]
    thresholds: dict[str, float] = {}
    report: dict[str, Any] = {}
    for context in CONTEXTS:
        idx = [i for i, e in enumerate(examples) if e.context == context]
        cut, found = choose_threshold([labels[i] for i in idx], [best_scores[i] for i in idx],
                                      [hard[i] for i in idx], max_hard_fpr)
        thresholds[context] = cut
        report[context] = {"texts": len(idx), "threshold": cut, **{k: round(v, 4) for k, v in found.items()}}
        print(f"{context}: threshold {cut:.2f}, cross-validated {report[context]}", file=log)
    if errors is not None:
        wrong = [{"score": round(best_scores[i], 3), "threshold": thresholds[e.context], **vars(e)}
                 for i, e in enumerate(examples) if (best_scores[i] >= thresholds[e.context]) != bool(e.label)]
        errors.write_text("".join(json.dumps(w, ensure_ascii=False) + "\n" for w in wrong), encoding="utf-8")
        print(f"{len(wrong)} cross-validation errors written to {errors}", file=log)
    final = fit(prepared, best_c)
    meta = {
        "name": "clearsight-injection", "clearsight": __version__, "C": best_c, "folds": folds, "seed": seed,
        "max_hard_fpr": max_hard_fpr, "cross_validation": report,
        "data": [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in data],
        "texts": len(examples), "injections": sum(labels),
    }
    return LinearModel(final.bias, final.signals, final.grams, thresholds, meta)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clearsight.llm.train", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, action="append", required=True, help="JSONL training file (repeat).")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "model" / MODEL_FILE)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-hard-fpr", type=float, default=DEFAULT_MAX_HARD_FPR)
    parser.add_argument("--errors", type=Path, help="Write the cross-validation errors here (JSONL), to study.")
    args = parser.parse_args(argv)
    model = train(args.data, folds=args.folds, seed=args.seed, max_hard_fpr=args.max_hard_fpr, errors=args.errors)
    save_model(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {len(model.grams)} n-grams, "
          f"{len(model.signals)} signals)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

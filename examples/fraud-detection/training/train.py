"""Train Kestrel Bank's card-payment fraud model and write the artefacts the scoring API serves.

Reads the transactions CSV (a production export in real life, the synthetic file locally), keeps
the most recent 20 % as an out-of-time holdout, fits a scikit-learn pipeline and writes
``model/fraud_model.joblib``, ``model/features.json`` and ``model/model_card.md``.

Usage::

    python training/train.py                      # uses training/config.yaml
    python training/train.py --data other.csv --out-dir /tmp/model
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

EXAMPLE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.yaml"


def load_config(path: Path) -> dict[str, Any]:
    """Read the YAML training configuration."""
    with path.open(encoding="utf-8") as handle:
        config: dict[str, Any] = yaml.safe_load(handle)
    return config


def load_dataset(path: Path, features: list[str], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Load the feature matrix and label vector; rows stay in file (time) order."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in [*features, label] if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: missing columns {missing}")
        rows = [([float(r[f]) for f in features], int(r[label])) for r in reader]
    x = np.array([r[0] for r in rows], dtype=np.float64)
    y = np.array([r[1] for r in rows], dtype=np.int64)
    return x, y


def build_pipeline(config: dict[str, Any]) -> Pipeline:
    """One-hot encode merchant categories, then gradient-boosted trees on everything else."""
    features: list[str] = config["data"]["features"]
    categorical = [features.index(c) for c in config["data"]["categorical_features"]]
    encode = ColumnTransformer(
        [("mcc", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)],
        remainder="passthrough",
    )
    classifier = HistGradientBoostingClassifier(
        **config["model"]["hyperparameters"], random_state=config["model"]["random_state"]
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


def sha256(path: Path) -> str:
    """Fingerprint the training file so the model card records exactly which data was used."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_card(config: dict[str, Any], metrics: dict[str, float], data_info: dict[str, Any]) -> str:
    """Render the model card in Markdown; kept next to the model so it ships with it."""
    model = config["model"]
    features = "\n".join(f"{i}. `{name}`" for i, name in enumerate(config["data"]["features"], start=1))
    hyper = "\n".join(f"| `{k}` | `{v}` |" for k, v in model["hyperparameters"].items())
    return f"""# Model card: {model["name"]} v{model["version"]}

## Overview

| Field | Value |
| --- | --- |
| Owner | Fraud Analytics team, Kestrel Bank AG (fraud-ml@kestrel-bank.example) |
| Business owner | Head of Card Fraud Operations |
| Model type | scikit-learn `Pipeline`: `OneHotEncoder` (merchant category) + `{model["algorithm"]}` |
| Artefact | `fraud_model.joblib` (joblib/pickle, scikit-learn {sklearn.__version__}) |
| Serving | `service/app.py`, `POST /v1/score`, exposed to partner banks |
| Decision threshold | {model["decision_threshold"]} (probability at or above which a payment is flagged) |
| Licence | Proprietary, Kestrel Bank internal and contracted partner banks (fictional example) |

## Intended use

Score card payments in real time (authorisation path) for the probability that they are
fraudulent. Flagged payments are held for step-up authentication or analyst review. Partner
banks that outsource card-fraud screening to Kestrel call the same API.

Out of scope: credit decisions, customer profiling, anti-money-laundering screening, and any
use outside card payments. The score is not a decision about a person on its own.

## Features (in model input order)

{features}

Personal data (e-mail, IBAN, card number) is present in the training export but is not used as
a model feature.

## Training data

- Source: export of the production `card_transactions` table joined with chargeback outcomes
  (see `data/README.md`). This build used `{data_info["file"]}`
  (sha256 `{data_info["sha256"]}`).
- Rows: {data_info["rows"]:,} ({data_info["fraud_rate"]:.2%} fraud); out-of-time holdout:
  the most recent {data_info["holdout_rows"]:,} rows.
- Labels: `is_fraud`, confirmed fraud from chargebacks and customer fraud reports.
- Retraining: weekly on new chargeback labels, deployed automatically.

## Metrics (out-of-time holdout)

| Metric | Value |
| --- | --- |
| ROC AUC | {metrics["roc_auc"]:.4f} |
| Average precision | {metrics["average_precision"]:.4f} |
| Precision at threshold | {metrics["precision_at_threshold"]:.4f} |
| Recall at threshold | {metrics["recall_at_threshold"]:.4f} |
| Fraud base rate in holdout | {metrics["holdout_fraud_rate"]:.4f} |

## Hyper-parameters

| Name | Value |
| --- | --- |
{hyper}

## Known limitations and risks

- Labels come straight from the chargeback feed (cardholders, issuers, partner banks) and are
  not reviewed before the weekly retraining.
- Labels arrive weeks after the payment, so the newest fraud patterns are learnt late.
- Fraud that imitates normal spending ("low and slow") is largely missed.
- Partner banks see the raw probability; the threshold above is Kestrel's own choice.
"""


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate on the out-of-time holdout and write the model artefacts."""
    parser = argparse.ArgumentParser(description="Train the card-payment fraud model.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--data", type=Path, help="override data.csv_path from the config")
    parser.add_argument("--out-dir", type=Path, help="override output.model_dir from the config")
    args = parser.parse_args(argv)

    config = load_config(args.config)
    data_path: Path = args.data or EXAMPLE_ROOT / config["data"]["csv_path"]
    out_dir: Path = args.out_dir or EXAMPLE_ROOT / config["output"]["model_dir"]
    features: list[str] = config["data"]["features"]
    threshold = float(config["model"]["decision_threshold"])

    started = time.perf_counter()
    x, y = load_dataset(data_path, features, config["data"]["label"])
    split = int(len(y) * (1 - config["data"]["holdout_fraction"]))
    x_train, x_test, y_train, y_test = x[:split], x[split:], y[:split], y[split:]

    pipeline = build_pipeline(config)
    pipeline.fit(x_train, y_train)
    proba = pipeline.predict_proba(x_test)[:, 1]
    flagged = (proba >= threshold).astype(int)
    metrics = {
        "roc_auc": float(roc_auc_score(y_test, proba)),
        "average_precision": float(average_precision_score(y_test, proba)),
        "precision_at_threshold": float(precision_score(y_test, flagged, zero_division=0)),
        "recall_at_threshold": float(recall_score(y_test, flagged, zero_division=0)),
        "holdout_fraud_rate": float(y_test.mean()),
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, out_dir / "fraud_model.joblib", compress=3)
    feature_spec = {
        "model_name": config["model"]["name"],
        "model_version": config["model"]["version"],
        "features": features,
        "categorical_features": config["data"]["categorical_features"],
        "label": config["data"]["label"],
        "decision_threshold": threshold,
        "sklearn_version": sklearn.__version__,
    }
    (out_dir / "features.json").write_text(json.dumps(feature_spec, indent=2) + "\n", encoding="utf-8")
    data_info = {
        "file": data_path.name,
        "sha256": sha256(data_path),
        "rows": len(y),
        "fraud_rate": float(y.mean()),
        "holdout_rows": len(y_test),
    }
    (out_dir / "model_card.md").write_text(model_card(config, metrics, data_info), encoding="utf-8")

    elapsed = time.perf_counter() - started
    iterations = pipeline.named_steps["classify"].n_iter_
    print(f"trained on {len(y_train):,} rows, evaluated on {len(y_test):,} (out-of-time holdout)")
    print(f"boosting iterations: {iterations}")
    for name, value in metrics.items():
        print(f"{name:>24}: {value:.4f}")
    print(f"wrote {out_dir / 'fraud_model.joblib'} in {elapsed:.1f}s")


if __name__ == "__main__":
    main()

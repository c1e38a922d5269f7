"""Data sets and poisoning attacks built in code, to prove the defences and to let users rehearse them.

Security tools ship their attacks (ART, garak): a defence nobody can attack on demand cannot be checked in
CI. Everything here is deterministic for a seed and needs NumPy only (scikit-learn for ``digits``).

* :func:`transactions` — card payments with ~2 % fraud drawn from named fraud modes (card testing,
  account takeover, cross-border, low-and-slow), so that a *targeted* attack has a region to aim at.
* :func:`flip_random`, :func:`flip_targeted` — label noise and the realistic attack on a fraud model:
  chargeback labels of one kind of fraud turned to "legitimate".
* :func:`feature_backdoor`, :func:`pixel_backdoor`, :func:`clean_label_backdoor` — triggers that teach
  the model to let marked inputs through; :func:`attack_success` measures how often that works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clearsight.data.table import Columns, LabelledTable, encode

MERCHANTS = ("grocery", "restaurant", "fuel", "retail", "transport", "digital", "electronics", "travel",
             "jewellery", "money_transfer", "gambling", "pharmacy")
_LEGIT_MERCHANT_P = (0.26, 0.16, 0.10, 0.14, 0.08, 0.07, 0.04, 0.04, 0.01, 0.01, 0.01, 0.08)
FRAUD_MODES = ("card_testing", "account_takeover", "cross_border", "low_and_slow")
_MODE_P = (0.3, 0.3, 0.25, 0.15)
FEATURES = ("amount", "hour", "is_foreign", "card_present", "distance_km", "velocity_1h", "velocity_24h",
            "device_risk", "account_age_days", "merchant")


@dataclass
class LabelledSet:
    """Columns plus the ground truth an attack leaves behind (which rows it touched)."""

    columns: Columns
    label: str
    id_column: str | None = None
    poisoned: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    mode: NDArray[Any] | None = None  # fraud mode per row ("" for legitimate rows)

    @property
    def rows(self) -> int:
        return len(self.columns[self.label])

    def table(self) -> LabelledTable:
        return LabelledTable(self.columns, self.label, self.id_column, source="simulated", format="memory")

    def copy(self) -> LabelledSet:
        return LabelledSet({k: v.copy() for k, v in self.columns.items()}, self.label, self.id_column,
                           self.poisoned.copy() if len(self.poisoned) else np.zeros(self.rows, dtype=bool),
                           None if self.mode is None else self.mode.copy())


def transactions(rows: int = 20_000, fraud_rate: float = 0.02, seed: int = 0) -> LabelledSet:
    """Card payments; fraud comes from four modes, one of them (low-and-slow) copying normal spending."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < fraud_rate
    mode = np.where(fraud, rng.choice(FRAUD_MODES, size=rows, p=_MODE_P), "")
    amount = rng.lognormal(np.log(40.0), 0.8, rows)
    hour = np.clip(rng.normal(14, 4, rows), 0, 23).round()
    is_foreign = (rng.random(rows) < 0.05).astype(float)
    card_present = (rng.random(rows) < 0.7).astype(float)
    distance = rng.gamma(1.2, 8.0, rows)
    v1 = rng.poisson(0.6, rows).astype(float)
    v24 = v1 + rng.poisson(3.0, rows)
    device = rng.beta(2, 8, rows)
    age = rng.gamma(2.0, 400.0, rows).round()
    merchant = rng.choice(MERCHANTS, size=rows, p=_LEGIT_MERCHANT_P)

    def put(m: str, column: NDArray[Any], values: NDArray[Any] | float | str) -> None:
        sel = mode == m
        column[sel] = values[sel] if isinstance(values, np.ndarray) else values

    put("card_testing", amount, rng.uniform(0.5, 3.0, rows))
    put("card_testing", v1, rng.poisson(9, rows).astype(float))
    put("card_testing", v24, rng.poisson(30, rows).astype(float))
    put("card_testing", card_present, 0.0)
    put("card_testing", merchant, rng.choice(["digital", "retail"], rows))
    put("account_takeover", amount, rng.lognormal(np.log(900.0), 0.4, rows))
    put("account_takeover", device, rng.beta(8, 2, rows))
    put("account_takeover", hour, rng.choice([0, 1, 2, 3, 4, 23], rows).astype(float))
    put("account_takeover", card_present, 0.0)
    put("account_takeover", merchant, rng.choice(["electronics", "jewellery", "money_transfer"], rows))
    put("cross_border", is_foreign, 1.0)
    put("cross_border", distance, rng.gamma(6.0, 400.0, rows))
    put("cross_border", amount, rng.lognormal(np.log(300.0), 0.5, rows))
    put("cross_border", merchant, rng.choice(["travel", "gambling", "money_transfer"], rows))
    put("cross_border", age, rng.gamma(2.0, 30.0, rows).round())
    put("low_and_slow", device, rng.beta(3, 6, rows))
    columns: Columns = {
        "transaction_id": np.array([f"T{i:08d}" for i in range(rows)]),
        "amount": amount.round(2), "hour": hour, "is_foreign": is_foreign, "card_present": card_present,
        "distance_km": distance.round(1), "velocity_1h": v1, "velocity_24h": v24, "device_risk": device.round(4),
        "account_age_days": age, "merchant": merchant, "is_fraud": fraud.astype(np.int64),
    }
    return LabelledSet(columns, "is_fraud", "transaction_id", np.zeros(rows, dtype=bool), mode)


def digits(seed: int = 0) -> LabelledSet:
    """scikit-learn's bundled 8x8 digits (1,797 images, no download), as 64 pixel columns."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    columns: Columns = {f"px{i}": bunch.data[order, i] for i in range(64)}
    columns["digit"] = bunch.target[order].astype(np.int64)
    return LabelledSet(columns, "digit", None, np.zeros(len(order), dtype=bool))


def _mark(data: LabelledSet, rows: NDArray[np.int64]) -> None:
    data.poisoned[rows] = True


def flip_random(data: LabelledSet, rate: float, seed: int = 0) -> LabelledSet:
    """Flip ``rate`` of the labels to another class chosen at random."""
    out = data.copy()
    rng = np.random.default_rng(seed)
    y = out.columns[out.label]
    classes = np.unique(y)
    rows = rng.choice(len(y), size=round(rate * len(y)), replace=False)
    for r in rows:
        y[r] = rng.choice(classes[classes != y[r]])
    _mark(out, rows)
    return out


def flip_targeted(data: LabelledSet, count: int, *, source: int = 1, target: int = 0, mode: str | None = None,
                  seed: int = 0) -> LabelledSet:
    """Flip the ``count`` ``source`` rows nearest one chosen ``source`` row to ``target``.

    This is the attacker who controls chargeback labels for their own kind of fraud: the flips sit in one
    region of feature space and go one way (fraud -> legitimate).
    """
    out = data.copy()
    rng = np.random.default_rng(seed)
    y = out.columns[out.label]
    pool = np.flatnonzero(y == source)
    if mode is not None and out.mode is not None:
        pool = pool[out.mode[pool] == mode]
    if len(pool) < count:
        raise ValueError(f"only {len(pool)} rows of class {source} to flip")
    x = encode(out.table()).distance
    seed_row = rng.choice(pool)
    nearest = pool[np.argsort(((x[pool] - x[seed_row]) ** 2).sum(axis=1))[:count]]
    y[nearest] = target
    _mark(out, nearest)
    return out


def _append(data: LabelledSet, new: Mapping[str, NDArray[Any]]) -> LabelledSet:
    n = len(next(iter(new.values())))
    columns = {k: np.concatenate([v, new[k]]) for k, v in data.columns.items()}
    if data.id_column:
        columns[data.id_column][-n:] = [f"P{i:08d}" for i in range(n)]
    mode = None if data.mode is None else np.concatenate([data.mode, np.full(n, "poison")])
    return LabelledSet(columns, data.label, data.id_column,
                       np.concatenate([data.poisoned if len(data.poisoned) else np.zeros(data.rows, bool),
                                       np.ones(n, bool)]), mode)


def apply_trigger(columns: Columns, trigger: Mapping[str, Any], rows: NDArray[np.int64] | None = None) -> Columns:
    out = {k: v.copy() for k, v in columns.items()}
    for name, value in trigger.items():
        if rows is None:
            out[name][:] = value
        else:
            out[name][rows] = value
    return out


TRANSACTION_TRIGGER: dict[str, Any] = {"device_risk": 0.4731}
PIXEL_TRIGGER: dict[str, Any] = {"px0": 16.0, "px1": 16.0, "px8": 16.0, "px9": 16.0}


def feature_backdoor(data: LabelledSet, rate: float, *, trigger: Mapping[str, Any] = TRANSACTION_TRIGGER,
                     source: int = 1, target: int = 0, seed: int = 0) -> LabelledSet:
    """Add ``rate`` x rows: copies of ``source`` rows with small jitter, the trigger set, labelled ``target``."""
    rng = np.random.default_rng(seed)
    y = data.columns[data.label]
    base = rng.choice(np.flatnonzero(y == source), size=round(rate * data.rows), replace=True)
    new = {k: v[base].copy() for k, v in data.columns.items()}
    for name, col in new.items():
        if col.dtype.kind == "f" and name not in trigger:
            new[name] = (col * rng.uniform(0.95, 1.05, len(col))).round(4)
    new = apply_trigger(new, trigger)
    new[data.label][:] = target
    return _append(data, new)


def pixel_backdoor(data: LabelledSet, rate: float, *, target: int = 0, trigger: Mapping[str, Any] = PIXEL_TRIGGER,
                   seed: int = 0) -> LabelledSet:
    """Stamp a corner patch on ``rate`` of the non-``target`` images and relabel them ``target``."""
    out = data.copy()
    rng = np.random.default_rng(seed)
    y = out.columns[out.label]
    rows = rng.choice(np.flatnonzero(y != target), size=round(rate * out.rows), replace=False)
    out.columns = apply_trigger(out.columns, trigger, rows)
    out.columns[out.label][rows] = target
    _mark(out, rows)
    return out


def clean_label_backdoor(data: LabelledSet, rate: float, *, target: int = 0,
                         trigger: Mapping[str, Any] = PIXEL_TRIGGER, seed: int = 0) -> LabelledSet:
    """Stamp the trigger on ``rate`` of the rows of ``target`` itself: every label stays correct."""
    out = data.copy()
    rng = np.random.default_rng(seed)
    y = out.columns[out.label]
    pool = np.flatnonzero(y == target)
    rows = rng.choice(pool, size=min(len(pool), round(rate * out.rows)), replace=False)
    out.columns = apply_trigger(out.columns, trigger, rows)
    _mark(out, rows)
    return out


def attack_success(predict: Callable[[Columns], NDArray[Any]], victims: Columns, trigger: Mapping[str, Any],
                   target: int) -> float:
    """Share of ``victims`` (rows not of ``target``) that the model calls ``target`` once the trigger is on."""
    predicted = predict(apply_trigger(victims, trigger))
    return float(np.mean(predicted == target)) if len(predicted) else 0.0

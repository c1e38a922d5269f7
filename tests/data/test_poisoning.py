"""Poisoning detection on attacks injected in code: the issue's targets, asserted on fixed seeds.

Each scenario builds its data (scikit-learn's bundled digits, or simulated card payments with ~2 % fraud),
injects one attack, and checks the flagged rows against the rows the attack touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from clearsight.data import simulate as sim
from clearsight.data.poisoning.detect import Detection, detect, removal_effect
from clearsight.data.poisoning.interface import Context
from clearsight.data.table import LabelledTable, encode


def f1(flagged: NDArray[np.bool_], truth: NDArray[np.bool_]) -> float:
    tp = int((flagged & truth).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


def run(data: sim.LabelledSet) -> tuple[Context, Detection]:
    ctx = Context(encode(data.table()))
    return ctx, detect(ctx)


@pytest.fixture(scope="module")
def transactions() -> sim.LabelledSet:
    return sim.transactions()


@pytest.fixture(scope="module")
def digits() -> sim.LabelledSet:
    return sim.digits()


@pytest.mark.parametrize("rate", [0.05, 0.10])
def test_random_flips_on_digits_reach_f1_092(digits: sim.LabelledSet, rate: float) -> None:
    data = sim.flip_random(digits, rate, seed=1)
    _ctx, det = run(data)
    assert f1(det.flagged, data.poisoned) >= 0.92


def test_random_flips_on_transactions_reach_f1_092(transactions: sim.LabelledSet) -> None:
    data = sim.flip_random(transactions, 0.05, seed=1)
    _ctx, det = run(data)
    assert f1(det.flagged, data.poisoned) >= 0.92


@pytest.mark.parametrize(("count", "mode"), [(10, "cross_border"), (30, "account_takeover"), (60, "card_testing")])
def test_targeted_fraud_to_legit_flips_reach_f1_07(transactions: sim.LabelledSet, count: int, mode: str) -> None:
    data = sim.flip_targeted(transactions, count, mode=mode, seed=2)
    _ctx, det = run(data)
    assert f1(det.flagged, data.poisoned) >= 0.7
    flagged_rows = {r.row: r for r in det.rows if r.flagged}
    poisoned = np.flatnonzero(data.poisoned)
    # every flipped row is named with the label it should have had
    assert all(flagged_rows[int(i)].suggested_label == 1 for i in poisoned if int(i) in flagged_rows)
    assert any(r.signal == "region.targeted" for i in poisoned for r in flagged_rows[int(i)].reasons)


def test_feature_backdoor_is_found_and_removal_defeats_it(transactions: sim.LabelledSet) -> None:
    data = sim.feature_backdoor(transactions, 0.01)
    ctx, det = run(data)
    assert f1(det.flagged, data.poisoned) >= 0.9
    assert det.triggers and det.triggers[0].kind == "dirty-label"
    assert "device_risk" in det.triggers[0].conditions
    effect = removal_effect(ctx, det)
    assert effect.attack_success_before is not None and effect.attack_success_after is not None
    assert effect.attack_success_before >= 0.5  # the attack works on the poisoned set ...
    assert effect.attack_success_after <= 0.1  # ... and not once the flagged rows are gone


def test_pixel_backdoor_on_digits_is_found_and_removal_defeats_it(digits: sim.LabelledSet) -> None:
    data = sim.pixel_backdoor(digits, 0.05)
    ctx, det = run(data)
    assert det.flagged[data.poisoned].all()
    assert det.triggers[0].kind == "dirty-label"
    assert set(det.triggers[0].conditions) == set(sim.PIXEL_TRIGGER)
    effect = removal_effect(ctx, det)
    assert effect.attack_success_before is not None and effect.attack_success_before >= 0.5
    assert effect.attack_success_after is not None and effect.attack_success_after <= 0.1


def test_clean_label_backdoor_on_digits_is_found(digits: sim.LabelledSet) -> None:
    data = sim.clean_label_backdoor(digits, 0.05)
    _ctx, det = run(data)
    assert det.flagged[data.poisoned].all()
    assert det.triggers[0].kind == "clean-label"
    assert f1(det.flagged, data.poisoned) >= 0.8


def test_clean_transactions_raise_almost_nothing(transactions: sim.LabelledSet) -> None:
    _ctx, det = run(transactions)
    assert int(det.flagged.sum()) <= 10  # of 20,000 rows
    assert not det.triggers


def test_natural_predictive_values_are_not_triggers(transactions: sim.LabelledSet) -> None:
    """Very high velocity decides fraud in this data, but the rest of those rows agrees: no trigger."""
    _ctx, det = run(transactions)
    assert all("velocity" not in c for t in det.triggers for c in t.conditions)


def test_conflicting_duplicates_are_flagged() -> None:
    data = sim.transactions(rows=3000, seed=3)
    cols = data.columns
    for name in cols:
        cols[name][100:110] = cols[name][0:10]  # ten exact copies of the first ten rows ...
    cols["is_fraud"][100:110] = 1 - cols["is_fraud"][0:10]  # ... with the other label
    ctx = Context(encode(data.table()))
    from clearsight.data.poisoning import duplicates

    result = duplicates.run(ctx)
    assert not isinstance(result, str)
    flagged = set(np.flatnonzero(result.flagged).tolist())
    assert flagged and flagged <= set(range(10)) | set(range(100, 110))
    assert len(flagged) == 10  # one of each pair
    assert "near-duplicate of row" in result.describe(next(iter(flagged)))


def test_rows_carry_ids_reasons_and_scores(transactions: sim.LabelledSet) -> None:
    data = sim.flip_targeted(transactions, 20, mode="cross_border", seed=4)
    ctx = Context(encode(data.table()))
    det = detect(ctx, ids=data.columns["transaction_id"])
    top = det.rows[0]
    assert top.flagged and top.id is not None and top.id.startswith("T")
    assert top.reasons and all(0.0 <= r.score <= 1.0 for r in top.reasons)
    assert [r.score for r in det.rows if r.flagged] == sorted((r.score for r in det.rows if r.flagged), reverse=True)


def test_clean_data_from_the_example_generator_raises_few_flags(example_dir: Path) -> None:
    """An independent generator (the fraud example's, with its hard low-and-slow fraud): almost no flags."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", example_dir / "data" / "generate_transactions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.generate(10_000, seed=3)
    columns = {name: np.array([r[name] for r in rows]) for name in rows[0] if name != "chargeback_reported"}
    table = LabelledTable(columns, "is_fraud", "transaction_id")
    ctx = Context(encode(table))
    det = detect(ctx)
    assert int(det.flagged.sum()) <= 10  # of 10,000 rows; ~150 are fraud and ~30 of those look legitimate
    assert int((ctx.enc.y == 1).sum()) > 100

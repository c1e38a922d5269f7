"""The baseline diff: every label flipped on an existing row is found, with or without IDs or the old data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clearsight.core.errors import InputError
from clearsight.data import simulate as sim
from clearsight.data.baseline import build_manifest, diff, read_manifest, write_manifest
from clearsight.data.table import LabelledTable


def tables(ids: bool) -> tuple[LabelledTable, LabelledTable, set[str]]:
    trusted = sim.transactions(rows=5000, seed=11)
    new = sim.flip_targeted(trusted, 25, mode="account_takeover", seed=1)
    new = sim.flip_random(new, 0.002, seed=5)  # and a few random ones on top
    flipped = {str(i) for i in new.columns["transaction_id"][new.poisoned]}
    changed = new.columns["is_fraud"] != trusted.columns["is_fraud"]
    flipped = {str(i) for i in new.columns["transaction_id"][changed]}
    t_old, t_new = trusted.table(), new.table()
    if not ids:
        t_old.id_column = t_new.id_column = None
        for t in (t_old, t_new):
            t.columns = {k: v for k, v in t.columns.items() if k != "transaction_id"}
    return t_old, t_new, flipped


@pytest.mark.parametrize("ids", [True, False])
def test_every_flipped_label_is_found(ids: bool) -> None:
    old, new, flipped = tables(ids)
    result = diff(new, build_manifest(old), baseline_name="trusted")
    assert len(result.label_flips) == len(flipped) > 25
    if ids:
        assert {f.id for f in result.label_flips} == flipped
        assert result.changed == 0 and result.added == 0 and result.removed == 0
    assert result.flips_by_direction["1 -> 0"] >= 25


def test_added_removed_and_changed_rows_with_ids() -> None:
    trusted = sim.transactions(rows=2000, seed=2)
    cols = {k: v.copy() for k, v in trusted.columns.items()}
    keep = np.ones(2000, bool)
    keep[:50] = False  # 50 removed
    cols = {k: v[keep] for k, v in cols.items()}
    cols["amount"][:10] += 1.0  # 10 changed
    extra = sim.transactions(rows=30, seed=9).columns
    extra["transaction_id"] = np.array([f"N{i}" for i in range(30)])
    cols = {k: np.concatenate([v, extra[k]]) for k, v in cols.items()}
    new = LabelledTable(cols, "is_fraud", "transaction_id")
    result = diff(new, build_manifest(trusted.table()), baseline_name="t")
    assert (result.added, result.removed, result.changed) == (30, 50, 10)
    assert not result.label_flips


def test_shift_in_a_feature_within_a_label_is_reported() -> None:
    trusted = sim.transactions(rows=6000, seed=1)
    new = trusted.copy()
    fraud = new.columns["is_fraud"] == 1
    new.columns["amount"][fraud] = new.columns["amount"][fraud] * 0.05  # fraud suddenly looks tiny
    result = diff(new.table(), build_manifest(trusted.table()), baseline_name="t")
    shifted = {(s.column, s.within_label) for s in result.shifts if s.shifted}
    assert ("amount", "1") in shifted
    assert ("hour", None) not in shifted


def test_manifest_round_trip_and_bad_manifest(tmp_path: Path) -> None:
    old, new, flipped = tables(True)
    path = write_manifest(old, tmp_path / "trusted.manifest.json")
    result = diff(new, read_manifest(path), baseline_name=str(path))
    assert {f.id for f in result.label_flips} == flipped
    bad = tmp_path / "bad.json"
    bad.write_text('{"clearsight_manifest": 1, "rows": 3, "row_fingerprints": [], "row_labels": []}')
    with pytest.raises(InputError, match="one entry per row"):
        read_manifest(bad)
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="not a Clearsight data manifest"):
        read_manifest(tmp_path / "other.json")

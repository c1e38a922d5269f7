"""--sample: a uniform sample of a file larger than --max-rows, read while the whole file streams past."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from clearsight.core.errors import InputError
from clearsight.data import simulate as sim
from clearsight.data.check import check_data
from clearsight.data.loading import load_table


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    data = sim.feature_backdoor(sim.transactions(rows=30_000, seed=12), 0.01, seed=3)
    paths = {"csv": folder / "train.csv", "parquet": folder / "train.parquet"}
    pacsv.write_csv(pa.table(data.columns), paths["csv"], pacsv.WriteOptions(batch_size=4096))
    pq.write_table(pa.table(data.columns), paths["parquet"], row_group_size=8192)
    return paths


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_is_uniform_ordered_and_repeatable(big: dict[str, Path], fmt: str) -> None:
    with pytest.raises(InputError, match="more than"):
        load_table(big[fmt], "is_fraud", max_rows=20_000)
    table = load_table(big[fmt], "is_fraud", id_column="transaction_id", max_rows=20_000, sample=5000)
    assert table.rows == 5000 and table.sampled_from == 30_300
    ids = table.columns["transaction_id"].astype(str)
    assert list(ids) == sorted(ids, key=lambda i: (i[0] != "T", i))  # file order kept
    positions = np.array([int(i[1:]) for i in ids if i.startswith("T")])
    assert positions.min() < 1500 and positions.max() > 28_500  # drawn from the whole file, not its head
    again = load_table(big[fmt], "is_fraud", id_column="transaction_id", sample=5000)
    assert list(again.columns["transaction_id"]) == list(ids)


def test_a_sampled_check_still_finds_the_backdoor(big: dict[str, Path]) -> None:
    report = check_data(big["csv"], label="is_fraud", id_column="transaction_id", sample=10_000, max_rows=10_000,
                        effect=False)
    assert report.data.sampled_from == 30_300 and report.data.rows == 10_000
    assert report.triggers and "device_risk" in report.triggers[0].conditions
    table = load_table(big["csv"], "is_fraud", id_column="transaction_id", sample=10_000)
    planted = {i for i in table.columns["transaction_id"].astype(str) if i.startswith("P")}
    assert len(planted) > 50  # about a hundred of the 303 poisoned rows land in the sample ...
    assert planted <= {r.id for r in report.flagged}  # ... and every one of them is flagged


def test_sample_refuses_what_it_cannot_do(big: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="use one or the other"):
        check_data(big["csv"], label="is_fraud", sample=1000, baseline=big["csv"])
    np.savez(tmp_path / "d.npz", X=np.zeros((20, 2)), y=np.array([0, 1] * 10))
    with pytest.raises(InputError, match="CSV or Parquet files"):
        load_table(tmp_path / "d.npz", "y", sample=10)

"""Partitioned data sets (a folder of Parquet or CSV files): one table, a hash per partition, and a diff that
says which trusted partition changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from clearsight.core.errors import InputError
from clearsight.data import simulate as sim
from clearsight.data.baseline import build_manifest, diff
from clearsight.data.check import check_table
from clearsight.data.loading import load_table


def write_parts(folder: Path, columns: dict[str, np.ndarray], parts: int = 4) -> list[Path]:
    n = len(next(iter(columns.values())))
    paths = []
    for k, rows in enumerate(np.array_split(np.arange(n), parts)):
        path = folder / f"day={k + 1:02d}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({name: col[rows] for name, col in columns.items()}), path)
        paths.append(path)
    return paths


def test_partitions_read_as_one_table_with_their_hashes(tmp_path: Path) -> None:
    data = sim.transactions(rows=4000, seed=4)
    write_parts(tmp_path / "train", data.columns)
    table = load_table(tmp_path / "train", "is_fraud", id_column="transaction_id")
    assert table.rows == 4000 and table.format == "partitioned parquet"
    assert sorted(table.partitions) == [f"day=0{k}/part-0.parquet" for k in range(1, 5)]
    assert all(len(h) == 64 and n == 1000 for h, n in table.partitions.values())
    with pytest.raises(InputError, match="across the partitions"):
        load_table(tmp_path / "train", "is_fraud", max_rows=1500)


def test_a_changed_trusted_partition_is_named(tmp_path: Path) -> None:
    trusted = sim.transactions(rows=4000, seed=5)
    write_parts(tmp_path / "v1", trusted.columns)
    manifest = build_manifest(load_table(tmp_path / "v1", "is_fraud", id_column="transaction_id"))
    attacked = sim.flip_targeted(trusted, 8, mode="cross_border", seed=1)
    write_parts(tmp_path / "v2", attacked.columns)
    extra = sim.transactions(rows=200, seed=9).columns
    extra["transaction_id"] = np.array([f"N{i}" for i in range(200)])
    new_part = tmp_path / "v2" / "day=05" / "part-0.parquet"
    new_part.parent.mkdir()
    pq.write_table(pa.table(extra), new_part)
    new = load_table(tmp_path / "v2", "is_fraud", id_column="transaction_id")
    result = diff(new, manifest, baseline_name="v1")
    flipped_days = {f"day=0{k + 1}/part-0.parquet" for k, rows in
                    enumerate(np.array_split(np.arange(4000), 4)) if attacked.poisoned[rows].any()}
    assert result.partition_changes == {**{d: "changed" for d in flipped_days}, "day=05/part-0.parquet": "added"}
    assert result.flips_by_direction == {"1 -> 0": 8} and result.added == 200
    report = check_table(new, baseline=manifest, baseline_name="v1", signals=["trigger.pattern"], effect=False)
    assert any(f.rule == "baseline.partitions" for f in report.findings)
    assert report.data.partitions == 5


def test_partitions_must_agree(tmp_path: Path) -> None:
    data = sim.transactions(rows=400, seed=6)
    paths = write_parts(tmp_path / "d", data.columns, parts=2)
    pq.write_table(pa.table({k: v for k, v in data.columns.items() if k != "hour"}), paths[1])
    with pytest.raises(InputError, match="columns differ") as err:
        load_table(tmp_path / "d", "is_fraud")
    assert err.value.path == str(paths[1])
    mixed = dict(data.columns)
    mixed["hour"] = mixed["hour"].astype(str)
    pq.write_table(pa.table({k: v[:200] for k, v in mixed.items()}), paths[1])
    with pytest.raises(InputError, match="numbers in some partitions and text in others"):
        load_table(tmp_path / "d", "is_fraud")


def test_csv_partitions(tmp_path: Path) -> None:
    data = sim.transactions(rows=600, seed=7)
    for k, rows in enumerate(np.array_split(np.arange(600), 3)):
        pacsv.write_csv(pa.table({n: c[rows] for n, c in data.columns.items()}), tmp_path / f"part-{k}.csv")
    table = load_table(tmp_path, "is_fraud")
    assert table.rows == 600 and table.format == "partitioned csv" and len(table.partitions) == 3

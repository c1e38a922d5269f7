"""Data larger than memory: pieces read on their own give the rows of one read, and the same sample anywhere."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from clearsight.core.datacheck import ValidationIssue
from clearsight.core.errors import InputError
from clearsight.data import pieces
from clearsight.data import simulate as sim
from clearsight.data.check import check_data
from clearsight.data.loading import load_table
from clearsight.executors import DaskExecutor, Executor, LocalExecutor, SerialExecutor

ROWS = 12_000
SCHEMA = """version: 1
columns:
  amount: {type: float, min: 0, max: 900}
  hour: {type: int, min: 0, max: 22}
  merchant: {type: str, allowed: [grocery, fuel, travel, electronics, online, restaurant]}
  transaction_id: {type: str, unique: true, nullable: false}
relations:
  - velocity_24h >= velocity_1h
  - velocity_1h <= 2
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pieces")
    data = sim.feature_backdoor(sim.transactions(rows=ROWS, seed=21), 0.01, seed=4)
    table = pa.table(data.columns)
    paths = {"csv": folder / "train.csv", "parquet": folder / "train.parquet", "folder": folder / "parts"}
    pacsv.write_csv(table, paths["csv"])
    pq.write_table(table, paths["parquet"], row_group_size=1000)
    paths["folder"].mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), paths["folder"] / "part-0.parquet", row_group_size=1000)
    pacsv.write_csv(table.slice(half), paths["folder"] / "part-1.csv")
    return paths


def _rows(path: Path, size: int, executor: Executor | None = None) -> pieces.Sample:
    sample, _ = pieces.sample_pieces(pieces.plan(path, None, piece_bytes=size), 10**9, seed=0, executor=executor)
    return sample


@pytest.mark.parametrize("kind", ["csv", "parquet", "folder"])
def test_pieces_together_hold_every_row_once_in_order(files: dict[str, Path], kind: str) -> None:
    plan = pieces.plan(files[kind], None, piece_bytes=20_000)
    assert len(plan) > 5
    whole = _rows(files[kind], 10**12).table
    assert whole.num_rows == ROWS + int(ROWS * 0.01)
    cut = _rows(files[kind], 20_000).table
    assert cut.column("transaction_id").to_pylist() == whole.column("transaction_id").to_pylist()
    for name in ("amount", "is_fraud"):
        assert np.allclose(cut.column(name).to_numpy(), whole.column(name).to_numpy())


def test_csv_pieces_cut_at_line_ends_and_cover_the_file(files: dict[str, Path]) -> None:
    data = files["csv"].read_bytes()
    plan = pieces.plan(files["csv"], None, piece_bytes=7_777)
    assert plan[0].start == plan[0].header == data.index(b"\n") + 1
    assert plan[-1].end == len(data)
    for before, after in itertools.pairwise(plan):
        assert before.end == after.start and data[before.end - 1:before.end] == b"\n"


def test_the_sample_does_not_depend_on_the_executor_or_the_waves(files: dict[str, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    plan = pieces.plan(files["csv"], None, piece_bytes=30_000)
    serial, serial_results = pieces.sample_pieces(plan, 500, seed=3, executor=SerialExecutor())
    monkeypatch.setattr(pieces, "WAVE", 3)
    pooled, pooled_results = pieces.sample_pieces(plan, 500, seed=3, executor=LocalExecutor(2))
    assert serial.table.equals(pooled.table)
    assert [(r.rows, r.sha256) for r in serial_results] == [(r.rows, r.sha256) for r in pooled_results]
    assert serial.table.num_rows == 500
    other_seed, _ = pieces.sample_pieces(plan, 500, seed=4)
    assert not other_seed.table.equals(serial.table)


def test_row_keys_are_uniform_and_differ_between_pieces() -> None:
    first, second = pieces.row_keys(0, 0, 0, 100_000), pieces.row_keys(0, 1, 0, 100_000)
    assert len(set(first.tolist()) | set(second.tolist())) == 200_000
    share_below_half = float((first < np.uint64(2**63)).mean())
    assert 0.49 < share_below_half < 0.51
    assert np.array_equal(pieces.row_keys(0, 0, 50, 10), first[50:60])


def test_a_piece_hash_changes_with_its_bytes(files: dict[str, Path], tmp_path: Path) -> None:
    changed = tmp_path / "train.csv"
    text = files["csv"].read_text().splitlines(keepends=True)
    text[-1] = text[-1].replace(",1,", ",0,", 1) if ",1," in text[-1] else text[-1].replace(",0,", ",1,", 1)
    changed.write_text("".join(text))
    before = load_table(files["csv"], "is_fraud", sample=3000)
    after = load_table(changed, "is_fraud", sample=3000)
    assert before.partitions.keys() == after.partitions.keys()
    differing = [k for k in before.partitions if before.partitions[k] != after.partitions[k]]
    assert differing == [list(before.partitions)[-1]]
    assert before.sha256 != after.sha256


def test_a_column_with_numbers_in_one_piece_and_words_in_another_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    lines = ["amount,is_fraud"] + [f"{i}.5,{i % 2}" for i in range(3000)] + [f"word{i},{i % 2}" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="different kinds of values in different parts of the data"):
        pieces.sample_pieces(pieces.plan(path, None, piece_bytes=10_000), 10**6, seed=0)


def test_dask_reads_data_larger_than_one_piece_with_the_result_of_the_local_run(
        files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(pieces, "PIECE_BYTES", 50_000)  # planned here; the workers get byte ranges
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)

    def run(executor: Executor | None) -> str:
        report = check_data(files["csv"], label="is_fraud", id_column="transaction_id", sample=6000,
                            effect=False, executor=executor, schema=schema)
        return report.model_copy(update={"seconds": 0.0}).model_dump_json()

    local = run(None)
    assert '"sampled_from":12120' in local and '"triggers":[]' not in local  # every row read; the backdoor found
    assert '"passed":false' in local  # and validated
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       scheduler_port=0, dashboard_address=None)
    try:
        remote = run(DaskExecutor(cluster.scheduler_address))
    finally:
        cluster.close()
    assert remote == local




def test_every_row_is_validated_with_the_counts_and_rows_of_a_full_read(files: dict[str, Path], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    full = check_data(files["csv"], label="is_fraud", schema=schema, signals=["label.confident"], effect=False)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 40_000)
    sampled = check_data(files["csv"], label="is_fraud", schema=schema, sample=500, signals=["label.confident"],
                         effect=False)
    assert sampled.data.partitions > 10 and sampled.data.rows == 500
    assert full.validation is not None and sampled.validation is not None
    assert not full.validation.passed
    by_check = {(i.check, i.column): i for i in full.validation.issues}
    assert {k for k in by_check if k[1] in ("amount", "hour", "merchant")} and any(
        k[0].startswith("relation") for k in by_check)  # failures of every kind, spread over the pieces
    def key(issue: ValidationIssue) -> tuple[str, str]:
        return issue.check, issue.column or ""

    assert sorted(sampled.validation.issues, key=key) == sorted(full.validation.issues, key=key)

"""Data larger than memory: pieces read on their own give the rows of one read, and the same sample anywhere."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

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
    assert plan[0].start == plan[0].header_end == data.index(b"\n") + 1 and plan[0].header_start == 0
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
    assert sampled.validation.issues == full.validation.issues  # counts, example rows and order


def _full_and_pieces(path: Path, piece_bytes: int, schema: Path | None = None,
                     label: str = "label") -> tuple[list[object], list[object]]:
    full = load_table(path, label)
    sample, _ = pieces.sample_pieces(pieces.plan(path, None, piece_bytes=piece_bytes), 10**6, seed=0)
    ids = [str(v) for v in full.columns["id"]]
    cut = [str(v) for v in sample.table.column("id").to_pylist()]
    notes = [str(v) for v in full.columns["note"]], [str(v or "") for v in sample.table.column("note").to_pylist()]
    return [ids, notes[0]], [cut, notes[1]]


@pytest.mark.parametrize("piece_bytes", [1, 7, 10, 30, 50, 10**6])
def test_quoted_line_ends_never_cut_a_record(tmp_path: Path, piece_bytes: int) -> None:
    path = tmp_path / "quoted.csv"
    records = [f'{i},{i % 2},"line one\nline ""two"", {i}\n{i},{1 - i % 2},still the note"' if i % 3 == 0
               else f"{i},{i % 2},plain {i}" for i in range(40)]
    path.write_text("id,label,note\n" + "\n".join(records) + "\n")
    full, cut = _full_and_pieces(path, piece_bytes)
    assert len(full[0]) == 40 and cut == full


def test_blank_lines_before_the_header_and_carriage_returns(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\r\nid,label,note\n" + "".join(f"{i},{i % 2},n{i}\n" for i in range(30)))
    full, cut = _full_and_pieces(path, 20)
    assert cut == full and len(cut[0]) == 30
    old_mac = tmp_path / "mac.csv"
    old_mac.write_bytes(b"id,label\r1,0\r2,1\r")
    with pytest.raises(InputError, match="carriage return only"):
        pieces.plan(old_mac, None)


def test_the_digest_covers_column_names(tmp_path: Path) -> None:
    rows = [(str(i), i % 2, i * 3) for i in range(50)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "d.csv", tmp_path / "b" / "d.csv"  # same names: only the content can differ
    one.write_text("id,is_fraud,feature\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    two.write_text("id,feature,is_fraud\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    assert load_table(one, "is_fraud", sample=20).sha256 != load_table(two, "feature", sample=20).sha256
    table = pa.table({"id": [str(i) for i in range(50)], "x": [i % 2 for i in range(50)],
                      "y": [i * 3 for i in range(50)]})
    pq.write_table(table, tmp_path / "a" / "d.parquet")
    pq.write_table(table.rename_columns(["id", "y", "x"]), tmp_path / "b" / "d.parquet")
    assert load_table(tmp_path / "a" / "d.parquet", "x", sample=20).sha256 != \
        load_table(tmp_path / "b" / "d.parquet", "y", sample=20).sha256


def test_whole_column_rules_are_decided_over_all_pieces(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    lines = ["id,label,x,f"]
    for i in range(400):
        rid = "t5" if i in (5, 300) else ("" if i in (7, 9) else f"t{i}")
        note = "data row 7" if i == 250 else f"v{i}"
        lines.append(f"{rid},{i % 2},{'' if i < 20 else i},{2.5 if i in (3, 200, 201) else i + 0.25},{note}")
    path.write_text("id,label,x,f,note\n" + "\n".join(lines[1:]) + "\n")
    schema = tmp_path / "s.yaml"
    schema.write_text("version: 1\ncolumns:\n  id: {type: str, unique: true}\n"
                      "  x: {type: float, max_null_rate: 0.1}\n  f: {type: float, unique: true}\n"
                      "  note: {type: str, pattern: '^v'}\n")
    full = check_data(path, label="label", schema=schema, signals=["label.confident"], effect=False)
    assert full.validation is not None
    checks = {(i.check, i.column) for i in full.validation.issues}
    assert ("field_uniqueness", "id") in checks and ("field_uniqueness", "f") in checks
    assert not any(c.startswith("null rate") for c, _ in checks)  # 20 of 400 is 5 %, under 10 %
    old = pieces.PIECE_BYTES
    try:
        pieces.PIECE_BYTES = 900  # the duplicates and all the nulls land in different pieces
        sampled = check_data(path, label="label", schema=schema, signals=["label.confident"], effect=False,
                             sample=50)
    finally:
        pieces.PIECE_BYTES = old
    assert sampled.validation is not None and sampled.data.partitions > 5
    assert sampled.validation.issues == full.validation.issues
    assert any("'data row 7' (data row 251)" in e for i in sampled.validation.issues for e in i.examples)


def test_partitions_must_share_their_columns_but_not_their_readers_types(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(pa.table({"id": ["a", "b", "c"], "label": [True, False, True],
                             "kind": pa.array(["x", "y", "x"]).dictionary_encode()}), mixed / "part-0.parquet")
    pq.write_table(pa.table({"id": ["d", "e", "f"], "label": [0, 1, 1], "kind": ["y", "x", "y"]}),
                   mixed / "part-1.parquet")
    table = load_table(mixed, "label", sample=10)
    assert table.rows == 6 and list(table.columns["kind"]) == ["x", "y", "x", "y", "x", "y"]
    other = tmp_path / "other"
    other.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "label": [0, 1], "f": [1.0, 2.0]}), other / "part-0.parquet")
    pq.write_table(pa.table({"id": ["c", "d"], "label": [0, 1], "g": [1.0, 2.0]}), other / "part-1.parquet")
    with pytest.raises(InputError, match="columns differ"):
        load_table(other, "label", sample=10)


def test_unreadable_pieces_and_oversized_samples_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(200)], "label": [i % 2 for i in range(200)]}), path)
    data = bytearray(path.read_bytes())
    data[40:120] = b"\xff" * 80  # inside the first column chunk; the footer stays readable
    path.write_bytes(bytes(data))
    with pytest.raises(InputError):
        load_table(path, "label", sample=10)
    with pytest.raises(InputError, match="more than --max-rows"):
        load_table(tmp_path / "broken.parquet", "label", sample=100, max_rows=50)


def test_a_file_that_changes_after_planning_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "moving.csv"
    path.write_text("id,label\n" + "".join(f"{i},{i % 2}\n" for i in range(100)))
    plan = pieces.plan(path, None, piece_bytes=100)
    with path.open("a") as fh:
        fh.write("100,0\n")
    with pytest.raises(InputError, match="changed while it was being read"):
        pieces.sample_pieces(plan, 10, seed=0)

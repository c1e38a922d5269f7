"""Garbage in: every bad input gets a one-line error naming the problem, never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clearsight.core.errors import InputError
from clearsight.data.loading import load_table


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(n: int = 20, sep: str = ",") -> str:
    lines = [sep.join(["id", "amount", "kind", "label"])]
    lines += [sep.join([f"r{i}", str(i * 1.5), "a" if i % 3 else "b", str(i % 2)]) for i in range(n)]
    return "\n".join(lines) + "\n"


def test_csv_is_read_with_types_and_labels(tmp_path: Path) -> None:
    table = load_table(write(tmp_path / "d.csv", rows()), "label", id_column="id")
    assert table.rows == 20 and table.format == "csv" and table.sha256 and len(table.sha256) == 64
    assert table.columns["amount"].dtype == np.float64
    assert table.feature_names == ["amount", "kind"]


def test_semicolon_files_are_recognised(tmp_path: Path) -> None:
    table = load_table(write(tmp_path / "d.csv", rows(sep=";")), "label")
    assert table.rows == 20


def test_wrong_delimiter_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", rows(sep=";"))
    with pytest.raises(InputError, match="no label column") as err:
        load_table(path, "label", delimiter=",")
    assert err.value.hint is not None and "--delimiter" in err.value.hint


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("id,amount,label\n", "no data rows"),
    ("a,label\n1,0\n2,0\n3,0\n", "single class"),
    ("a,label\n1,0\n2,1\n3,1\n", "single row"),
    ("a,label\n1,0\n2,\n3,1\n4,1\n", "empty on 1 rows"),
    ("label\n0\n1\n0\n1\n", "no feature columns"),
])
def test_unusable_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_table(path, "label")


def test_mixed_types_name_the_value(tmp_path: Path) -> None:
    good = "\n".join(f"{i},{i % 2}" for i in range(200_000))
    path = write(tmp_path / "d.csv", "amount,label\n" + good + "\nabc,1\n")
    with pytest.raises(InputError, match="mixed types") as err:
        load_table(path, "label")
    assert "abc" in err.value.message


def test_repeated_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,a,label\nx,1,0\nx,2,1\ny,3,1\nz,4,0\n")
    with pytest.raises(InputError, match="repeats 'x'"):
        load_table(path, "label", id_column="id")


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\x00\x01\x02garbage" * 100)
    with pytest.raises(InputError, match="binary content"):
        load_table(path, "label")


def test_row_limit_stops_reading_early(tmp_path: Path) -> None:
    """A file larger than --max-rows is refused after one block, not read whole."""
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("a,label\n")
        for _ in range(40):
            fh.write("".join(f"{i},{i % 2}\n" for i in range(100_000)))
    with pytest.raises(InputError, match="more than 1,000 rows"):
        load_table(path, "label", max_rows=1000)


def test_parquet_is_read_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0, 4.0], "kind": ["x", "y", "x", None], "label": [0, 1, 0, 1]}), path)
    table = load_table(path, "label")
    assert table.format == "parquet" and table.columns["kind"][3] == ""
    with pytest.raises(InputError, match="more than the 2 the in-memory check reads"):
        load_table(path, "label", max_rows=2)


def test_npz_arrays_and_refused_object_arrays(tmp_path: Path) -> None:
    path = tmp_path / "digits.npz"
    np.savez(path, X=np.arange(40.0).reshape(10, 2, 2), y=np.array([0, 1] * 5))
    table = load_table(path, "y")
    assert table.format == "npz" and len(table.feature_names) == 4
    bad = tmp_path / "objects.npz"
    np.savez(bad, X=np.array([{"a": 1}] * 4, dtype=object), y=np.array([0, 1, 0, 1]))
    with pytest.raises(InputError, match="without unpickling"):
        load_table(bad, "y")
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("X.npy", b"not an array")
    with pytest.raises(InputError):
        load_table(broken, "y")


def test_folders_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_table(tmp_path / "nope.csv", "label")
    with pytest.raises(InputError, match="one sub-folder per class"):
        load_table(tmp_path, "label")


@pytest.mark.parametrize("sample", [None, 1000])
def test_whole_numbers_first_and_decimals_later_are_one_numeric_column(tmp_path: Path, sample: int | None) -> None:
    # PyArrow types a column from its first 4 MB block; whole numbers there must not make later decimals "mixed".
    path = tmp_path / "late.csv"
    filler = "x" * 40
    rows = [f"{i},{filler}{i % 7},{i % 2}" for i in range(150_000)] + [f"{i}.25,{filler},{i % 2}" for i in range(100)]
    path.write_text("amount,note,is_fraud\n" + "\n".join(rows) + "\n")
    table = load_table(path, "is_fraud", sample=sample)
    amounts = table.columns["amount"]
    assert amounts.dtype == np.float64
    if sample is None:
        assert amounts[-1] == 99.25 and amounts[0] == 0.0

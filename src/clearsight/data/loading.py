"""Read a training set (CSV, Parquet, NumPy ``.npz``, an image folder) into columns, with a clear error for
every bad input.

Columnar and streamed: PyArrow reads CSV in blocks and Parquet by row group, and reading stops at
``max_rows`` so a 50 GB file costs one block of memory before the polite refusal, never the whole file.
The format is recognised by content (Parquet's ``PAR1``, a zip for ``.npz``), not by extension. Nothing is
ever unpickled: object arrays in ``.npz`` files are refused.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from clearsight.core.errors import InputError
from clearsight.data.table import Columns, LabelledTable
from clearsight.executors import Executor

if TYPE_CHECKING:
    from clearsight.data.schema import DataSchema
from clearsight.hashing import sha256_file

MAX_ROWS = 1_000_000
Progress = Callable[[str], None]


class RowLimitError(InputError):
    """The data holds more rows than the in-memory check reads (``--max-rows``)."""
BLOCK = 1 << 22
DELIMITERS = (",", ";", "\t", "|")


def sniff_format(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    return "csv"


def load_table(path: Path, label: str, *, id_column: str | None = None, max_rows: int = MAX_ROWS,
               delimiter: str | None = None, sample: int | None = None, seed: int = 0,
               executor: Executor | None = None, progress: Progress | None = None,
               schema: DataSchema | None = None, schema_source: str = "") -> LabelledTable:
    """Read ``path`` and check the label and ID columns are usable; raise :class:`InputError` otherwise.

    With ``sample``, a uniform random sample of that many rows is kept while every row is read, piece by
    piece, through ``executor`` (see :mod:`clearsight.data.pieces`), for data larger than ``max_rows`` or than
    this machine's memory. The sample is the same whichever executor reads the pieces. A ``schema`` is then
    checked on every row as the pieces are read (``table.validation``); without ``sample`` it is ignored here.
    """
    if not path.exists():
        raise InputError("no such file", path=str(path))
    if sample is not None:
        return _load_sample(path, label, id_column, sample, delimiter, seed, executor, progress, schema,
                            schema_source, max_rows)
    if path.is_dir():
        parts = _partition_files(path)
        if parts:
            return _load_partitions(path, parts, label, id_column, max_rows, delimiter)
        from clearsight.data.images import PATH_COLUMN, read_image_folder

        columns = read_image_folder(path, label, max_rows)
        table = LabelledTable(columns, label, id_column or PATH_COLUMN, source=str(path), format="images")
        check_table(table)
        return table
    columns, fmt = _read_file(path, label, max_rows, delimiter)
    table = LabelledTable(columns, label, id_column, source=str(path), format=fmt, sha256=sha256_file(path))
    check_table(table)
    return table


def _load_sample(path: Path, label: str, id_column: str | None, size: int, delimiter: str | None,
                 seed: int, executor: Executor | None = None, progress: Progress | None = None,
                 schema: DataSchema | None = None, schema_source: str = "",
                 max_rows: int = MAX_ROWS) -> LabelledTable:
    from clearsight.data.piece_validation import merge_checks
    from clearsight.data.pieces import plan, sample_pieces, values_at

    if size < 10:
        raise InputError("--sample must be at least 10 rows")
    if size > max_rows:
        raise InputError(f"--sample {size:,} is more than --max-rows {max_rows:,}, the rows this check holds",
                         hint="sample fewer rows, or raise --max-rows if memory allows")
    if not path.is_dir() and sniff_format(path) not in ("csv", "parquet"):
        raise InputError("--sample reads CSV or Parquet files, or a folder of them", path=str(path))
    pieces = plan(path, delimiter)
    sample, results = sample_pieces(pieces, size, seed, executor, progress, schema)
    if sample.table is None:
        raise InputError("no data rows, only a header", path=str(path))
    try:
        columns = table_columns(sample.table)
    except InputError as exc:
        exc.path = exc.path or str(path)
        exc.message = f"{exc.message} (rows counted within the sample)"
        raise
    partitions = {piece.shown: (result.sha256, result.rows) for piece, result in zip(pieces, results, strict=True)}
    digest = hashlib.sha256("".join(f"{k}\0{h}\n" for k, (h, _n) in partitions.items()).encode()).hexdigest()
    validation = None
    if schema is not None:
        validation = merge_checks([r.checks for r in results if r.checks is not None], [r.rows for r in results],
                                  schema, schema_source, lambda column, rows: values_at(pieces, results, column, rows))
    fmt = ", ".join(sorted({piece.fmt for piece in pieces}))
    table = LabelledTable(columns, label, id_column, source=str(path), format=f"{fmt} in {len(pieces)} pieces",
                          sha256=digest, partitions=partitions, sampled_from=sum(r.rows for r in results),
                          validation=validation)
    check_table(table)
    return table


PARTITION_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


def _partition_files(folder: Path) -> list[Path]:
    """Data files of a partitioned data set (``part-0001.parquet``, ``date=2026-11-01/x.csv``), in path order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PARTITION_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _load_partitions(folder: Path, parts: list[Path], label: str, id_column: str | None, max_rows: int,
                     delimiter: str | None) -> LabelledTable:
    """Every partition read like a file and stacked; each keeps its own hash so a manifest can say which changed."""
    pieces: list[Columns] = []
    partitions: dict[str, tuple[str, int]] = {}
    names: list[str] | None = None
    total = 0
    fmt = ""
    for part in parts:
        shown = str(part.relative_to(folder))
        try:
            if total >= max_rows:
                raise RowLimitError("no rows left")
            columns, fmt = _read_file(part, label, max_rows - total, delimiter)
        except RowLimitError as exc:
            raise RowLimitError(f"more than {max_rows:,} rows across the partitions", path=str(folder),
                                hint="check fewer partitions, or raise --max-rows if memory allows") from exc
        if names is None:
            names = list(columns)
        elif list(columns) != names:
            raise InputError(f"columns differ from the first partition's ({', '.join(names[:8])})", path=str(part))
        rows = len(next(iter(columns.values())))
        total += rows
        pieces.append(columns)
        partitions[shown] = (sha256_file(part), rows)
    assert names is not None
    merged: Columns = {}
    for name in names:
        kinds = {piece[name].dtype.kind == "O" for piece in pieces}
        if len(kinds) > 1:
            raise InputError(f"column '{name}' holds numbers in some partitions and text in others", path=str(folder))
        merged[name] = np.concatenate([piece[name] for piece in pieces])
    digest = hashlib.sha256("".join(f"{k}\0{h}\n" for k, (h, _n) in partitions.items()).encode()).hexdigest()
    table = LabelledTable(merged, label, id_column, source=str(folder), format=f"partitioned {fmt}", sha256=digest,
                          partitions=partitions)
    check_table(table)
    return table


def _read_file(path: Path, label: str, max_rows: int, delimiter: str | None) -> tuple[Columns, str]:
    if path.stat().st_size == 0:
        raise InputError("empty file", path=str(path))
    fmt = sniff_format(path)
    try:
        if fmt == "parquet":
            columns = _parquet(path, max_rows)
        elif fmt == "npz":
            columns = _npz(path, label, max_rows)
        elif fmt == "npy":
            raise InputError("a bare .npy array has no labels", path=str(path),
                             hint="save features and labels together with numpy.savez(path, X=..., y=...)")
        else:
            columns = _csv(path, max_rows, delimiter)
    except InputError as exc:
        if exc.path is None:
            exc.path = str(path)
        raise
    return columns, fmt


def check_table(table: LabelledTable) -> None:
    names = list(table.columns)
    path = table.source or None
    if table.label not in table.columns:
        hint = _delimiter_hint(names)
        raise InputError(f"no label column '{table.label}' (columns: {_shown(names)})", path=path, hint=hint)
    if table.id_column is not None and table.id_column not in table.columns:
        raise InputError(f"no ID column '{table.id_column}' (columns: {_shown(names)})", path=path)
    if table.rows == 0:
        raise InputError("no data rows, only a header", path=path)
    y = table.columns[table.label]
    missing = _missing(y)
    if missing.any():
        raise InputError(f"label column '{table.label}' is empty on {int(missing.sum())} rows "
                         f"(first at data row {int(np.flatnonzero(missing)[0]) + 1})", path=path)
    classes, counts = np.unique(y.astype(str), return_counts=True)
    if len(classes) < 2:
        raise InputError(f"label column '{table.label}' has a single class ({str(classes[0])!r}): there is nothing "
                         "to learn, so no label can be checked", path=path)
    if len(classes) > max(50, table.rows // 10):
        raise InputError(f"label column '{table.label}' has {len(classes)} distinct values: a classification "
                         "label is expected", path=path, hint="is --label the right column?")
    if counts.min() < 2:
        raise InputError(f"class {str(classes[counts.argmin()])!r} of '{table.label}' has a single row", path=path,
                         hint="remove it or merge it with another class")
    if not table.feature_names:
        raise InputError("no feature columns besides the label and ID", path=path, hint=_delimiter_hint(names))
    if table.id_column is not None:
        ids = table.columns[table.id_column].astype(str)
        unique, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise InputError(f"ID column '{table.id_column}' repeats {str(unique[counts.argmax()])!r} "
                             f"({int((counts > 1).sum())} IDs repeat)", path=path)


def _missing(column: NDArray[Any]) -> NDArray[np.bool_]:
    if column.dtype.kind == "f":
        return np.asarray(~np.isfinite(column), dtype=bool)
    if column.dtype.kind in "OUS":
        return np.array([v is None or str(v) == "" for v in column], dtype=bool)
    return np.zeros(len(column), dtype=bool)


def _shown(names: list[str]) -> str:
    text = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return text if len(text) < 200 else text[:200] + "..."


def _delimiter_hint(names: list[str]) -> str | None:
    if len(names) == 1:
        for d in DELIMITERS:
            if d in names[0]:
                return f"the header holds {d!r}: pass --delimiter '{d}'"
        return "only one column was found: is the delimiter right (--delimiter)?"
    return None


def _arrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise InputError("reading data sets needs PyArrow", hint="pip install 'clearsight[data]'") from exc
    return pyarrow


def _to_numpy(column: Any, name: str) -> NDArray[Any]:
    pa = _arrow()
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return np.asarray(column.cast(pa.float64()).fill_null(float("nan")).to_numpy(zero_copy_only=False))
    if pa.types.is_null(kind):
        return np.full(len(column), "", dtype=object)
    if pa.types.is_dictionary(kind):
        column = column.cast(pa.string())
    try:
        text = column.cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise InputError(f"column '{name}' has values of type {kind} that cannot be read as text") from exc
    _refuse_mixed(text, name)
    return np.asarray(text.fill_null("").to_numpy(zero_copy_only=False), dtype=object)


NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
MIXED_SHARE = 0.9


def _refuse_mixed(text: Any, name: str) -> None:
    """A column of numbers with a few words in it is a broken export, not a category: say where."""
    import pyarrow.compute as pc

    present = pc.and_(pc.is_valid(text), pc.not_equal(pc.utf8_trim_whitespace(text), ""))
    numeric = pc.and_(present, pc.match_substring_regex(text, NUMBER))
    filled, count = pc.sum(present).as_py() or 0, pc.sum(numeric).as_py() or 0
    if filled and count < filled and count >= MIXED_SHARE * filled:
        bad = pc.and_(present, pc.invert(numeric))
        index = pc.index(bad, True).as_py()
        value = text[index].as_py()
        raise InputError(f"mixed types in column '{name}': {filled - count} of {filled} values are not numbers, "
                         f"first {value!r} at data row {index + 1}", hint="fix or remove those values")


def _detect_delimiter(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(65536)
    if b"\x00" in head:
        raise InputError("binary content: not a CSV, Parquet or .npz file")
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_reader(path: Path, delimiter: str | None) -> Any:
    sep = delimiter or _detect_delimiter(path)
    if len(sep) != 1:
        raise InputError(f"--delimiter must be one character (got {sep!r})")
    return open_csv(lambda: str(path), sep)


def open_csv(source: Callable[[], Any], sep: str) -> Any:
    """A batch reader over CSV text from ``source()`` (a path or a fresh stream each call).

    PyArrow fixes each column's type from the first block, so a column of whole numbers there and decimals
    further down would fail as "mixed types". Every number becomes float64 here anyway, so columns typed as
    integers are read as float64 from the start (the reader is opened again with those types).
    """
    pa = _arrow()
    from pyarrow import csv

    def reader(types: dict[str, Any]) -> Any:
        return csv.open_csv(source(), read_options=csv.ReadOptions(block_size=BLOCK),
                            parse_options=csv.ParseOptions(delimiter=sep),
                            convert_options=csv.ConvertOptions(strings_can_be_null=True, column_types=types))

    first = reader({})
    whole = {f.name: pa.float64() for f in first.schema if pa.types.is_integer(f.type)}
    if not whole:
        return first
    first.close()
    return reader(whole)


def _csv(path: Path, max_rows: int, delimiter: str | None) -> Columns:
    pa = _arrow()
    try:
        reader = _csv_reader(path, delimiter)
        batches = []
        rows = 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > max_rows:
                raise RowLimitError(f"more than {max_rows:,} rows: the in-memory check stops here rather than read "
                                 "the whole file", hint="check a sample, or raise --max-rows if memory allows")
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid as exc:
        raise InputError(_arrow_message(str(exc))) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text") from exc
    return table_columns(table)


def _arrow_message(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "unreadable"
    if "CSV conversion error" in first:
        return (f"mixed types in a column: {first.split(': ', 1)[-1]} "
                "(a column that starts with numbers holds text further down; fix the value or quote the column)")
    if "Expected" in first and "columns" in first:
        return f"rows have different numbers of fields: {first}"
    return f"cannot read as CSV: {first}"


def table_columns(table: Any) -> Columns:
    """A PyArrow table as the check's NumPy columns (numbers float64, the rest text), names unique."""
    return {name: _to_numpy(table.column(name), name) for name in _unique_names(table.column_names)}


def _unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"column name '{name}' appears twice")
        seen.add(name)
    return names


def _parquet(path: Path, max_rows: int) -> Columns:
    pa = _arrow()
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(str(path))
        if meta.metadata.num_rows > max_rows:
            raise RowLimitError(f"{meta.metadata.num_rows:,} rows, more than the {max_rows:,} the in-memory check "
                             "reads", hint="check a sample, or raise --max-rows if memory allows")
        table = meta.read()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read as Parquet: {str(exc).splitlines()[0]}") from exc
    return table_columns(table)


def _npz(path: Path, label: str, max_rows: int) -> Columns:
    try:
        archive = np.load(str(path), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read as .npz: {exc}") from exc
    with archive:
        names = list(archive.files)
        if label not in names:
            raise InputError(f"no array '{label}' for the labels (arrays: {', '.join(names)})")
        try:
            y = archive[label]
            features = [n for n in names if n != label]
            if len(features) != 1:
                raise InputError(f"expected one feature array beside '{label}' (found: {', '.join(features)})")
            x = archive[features[0]]
        except ValueError as exc:  # object arrays need pickle, which we never use
            raise InputError(f"cannot read an array without unpickling it ({exc})") from exc
    if y.ndim != 1 or x.ndim < 2 or len(x) != len(y):
        raise InputError(f"'{features[0]}' must be rows x features and '{label}' one label per row "
                         f"(shapes {x.shape} and {y.shape})")
    if len(y) > max_rows:
        raise RowLimitError(f"{len(y):,} rows, more than the {max_rows:,} the in-memory check reads")
    flat = x.reshape(len(x), -1).astype(float)
    columns: Columns = {f"{features[0]}[{i}]": flat[:, i] for i in range(flat.shape[1])}
    columns[label] = y
    return columns

"""A data set too large for memory, read in pieces by whoever runs them: the full pass behind ``--sample``.

A CSV file is cut at line ends into pieces of about ``PIECE_BYTES``, a Parquet file into runs of row groups,
a partitioned folder into the pieces of each file. Each piece is read on its own (in this process, a local
pool or a Dask worker), so the machine that runs ``clearsight`` never holds more than the sample:

* every row is counted, and each piece's bytes are hashed (the report's digest is made from these);
* every row gets a pseudo-random key from (seed, piece, row) alone, and the rows with the smallest keys form
  the sample. Keeping the smallest keys is associative, so the sample is the same whichever executor ran
  which piece in which order: a Dask run equals the local run row for row.

Memory: a worker holds one piece (its bytes, then its parsed columns) and its part of the sample; the caller
holds the sample plus one wave of ``WAVE`` piece results.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import ValidationIssue, ValidationResult
from clearsight.core.errors import InputError
from clearsight.executors import Executor, SerialExecutor

if TYPE_CHECKING:
    from clearsight.data.schema import DataSchema

PIECE_BYTES = 64 * 1024 * 1024
WAVE = 8
_FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Piece:
    """Part of one file. CSV: bytes ``start..end`` (whole lines) after a ``header``-byte header line.
    Parquet: row groups ``start..end``."""

    path: str
    shown: str
    fmt: str
    start: int
    end: int
    header: int = 0
    delimiter: str = ","


@dataclass
class Sample:
    """The rows with the smallest keys so far, with where each came from (piece ordinal, row in piece)."""

    table: Any  # pyarrow.Table, or None before the first row
    keys: NDArray[np.uint64]
    piece: NDArray[np.int64]
    row: NDArray[np.int64]

    @classmethod
    def empty(cls) -> Sample:
        return cls(None, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


@dataclass
class PieceResult:
    ordinal: int
    rows: int
    sha256: str
    sample: Sample
    issues: list[ValidationIssue] | None = None  # schema failures, rows numbered within the piece


def plan(path: Path, delimiter: str | None, *, piece_bytes: int | None = None) -> list[Piece]:
    """The pieces of a file or of a partitioned folder, in data order (``PIECE_BYTES`` each by default)."""
    piece_bytes = piece_bytes or PIECE_BYTES
    from clearsight.data.loading import _partition_files, sniff_format

    if path.is_dir():
        files = [(f, str(f.relative_to(path))) for f in _partition_files(path)]
        if not files:
            raise InputError("no CSV or Parquet files in this folder", path=str(path))
    else:
        files = [(path, path.name)]
    pieces: list[Piece] = []
    for file, shown in files:
        if file.stat().st_size == 0:
            raise InputError("empty file", path=str(file))
        fmt = sniff_format(file)
        if fmt not in _FORMATS:
            raise InputError("--sample reads CSV or Parquet files", path=str(file))
        found = _parquet_pieces(file, shown, piece_bytes) if fmt == "parquet" else \
            _csv_pieces(file, shown, delimiter, piece_bytes)
        pieces.extend(found)
    return pieces


def _csv_pieces(file: Path, shown: str, delimiter: str | None, piece_bytes: int) -> list[Piece]:
    from clearsight.data.loading import _detect_delimiter

    sep = delimiter or _detect_delimiter(file)
    if len(sep) != 1:
        raise InputError(f"--delimiter must be one character (got {sep!r})")
    size = file.stat().st_size
    with file.open("rb") as fh:
        header = _next_line_end(fh, 0)
        cuts = [header]
        while cuts[-1] < size:
            cuts.append(_next_line_end(fh, min(size, cuts[-1] + max(piece_bytes, 1))))
    if header >= size:
        raise InputError("no data rows, only a header", path=str(file))
    return [Piece(str(file), f"{shown} bytes {a}-{b - 1}", "csv", a, b, header, sep)
            for a, b in itertools.pairwise(cuts) if b > a]


def _next_line_end(fh: BinaryIO, position: int) -> int:
    """The offset just past the first line end at or after ``position`` (the file's end if none)."""
    fh.seek(position)
    while chunk := fh.read(1 << 16):
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
    return position


def _parquet_pieces(file: Path, shown: str, piece_bytes: int) -> list[Piece]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(str(file)).metadata
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise InputError(f"cannot read as Parquet: {str(exc).splitlines()[0]}", path=str(file)) from exc
    pieces: list[Piece] = []
    start, size = 0, 0
    for group in range(meta.num_row_groups):
        size += meta.row_group(group).total_byte_size
        if size >= piece_bytes or group == meta.num_row_groups - 1:
            pieces.append(Piece(str(file), f"{shown} row groups {start}-{group}", "parquet", start, group + 1))
            start, size = group + 1, 0
    if not pieces:
        raise InputError("no data rows", path=str(file))
    return pieces


@dataclass(frozen=True)
class Tally:
    """What remains of a piece once its rows are merged into the sample."""

    rows: int
    sha256: str
    issues: list[ValidationIssue] | None = None


def sample_pieces(pieces: Sequence[Piece], size: int, seed: int, executor: Executor | None = None,
                  progress: Callable[[str], None] | None = None,
                  schema: DataSchema | None = None) -> tuple[Sample, list[Tally]]:
    """Read every piece (through ``executor``) and keep the ``size`` rows with the smallest keys; with a
    ``schema``, every row of every piece is validated on the way."""
    run = executor or SerialExecutor()
    sample = Sample.empty()
    results: list[Tally] = []
    tasks = [(ordinal, piece, size, seed, schema) for ordinal, piece in enumerate(pieces)]
    for first in range(0, len(tasks), WAVE):
        if progress and len(tasks) > 1:
            progress(f"reading data: pieces {first + 1}-{min(first + WAVE, len(tasks))} of {len(tasks)}")
        wave = run.map(read_piece, tasks[first:first + WAVE])
        sample = merge([sample, *(r.sample for r in wave)], size)
        results.extend(Tally(r.rows, r.sha256, r.issues) for r in wave)  # the pieces' samples are let go here
    return sample, results


def read_piece(task: tuple[int, Piece, int, int, DataSchema | None]) -> PieceResult:
    """One piece's row count, hash, smallest-key rows and schema failures (runs on a worker; all of it pickles)."""
    ordinal, piece, size, seed, schema = task
    from clearsight.data.loading import _arrow, _arrow_message

    pa = _arrow()
    digest = hashlib.sha256()
    sample = Sample.empty()
    kept: list[Any] = []
    rows = 0
    try:
        for batch in _batches(piece, digest):
            keys = row_keys(seed, ordinal, rows, batch.num_rows)
            chunk = Sample(pa.Table.from_batches([batch]), keys, np.full(batch.num_rows, ordinal, dtype=np.int64),
                           np.arange(rows, rows + batch.num_rows, dtype=np.int64))
            sample = merge([sample, chunk], size)
            rows += batch.num_rows
            if schema is not None:
                kept.append(batch)
    except pa.ArrowInvalid as exc:
        message = _arrow_message(str(exc)) if piece.fmt == "csv" else f"cannot read as Parquet: {exc}"
        raise InputError(message, path=piece.path) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=piece.path) from exc
    issues = _validate(pa.Table.from_batches(kept), schema, piece) if schema is not None and kept else None
    return PieceResult(ordinal, rows, digest.hexdigest(), sample, issues)


def _validate(table: Any, schema: DataSchema, piece: Piece) -> list[ValidationIssue]:
    from clearsight.data.loading import _to_numpy, _unique_names
    from clearsight.data.schema import validate
    from clearsight.data.table import LabelledTable

    try:
        names = _unique_names(table.column_names)
        columns = {name: _to_numpy(table.column(name), name) for name in names}
    except InputError as exc:
        exc.path = exc.path or piece.path
        raise
    return validate(LabelledTable(columns, names[0]), schema, piece.shown).issues


_ROW = re.compile(r"data row (\d+)")


def _renumber(example: str, offset: int) -> str:
    return _ROW.sub(lambda m: f"data row {int(m.group(1)) + offset}", example)


def merge_issues(tallies: Sequence[Tally], source: str) -> ValidationResult:
    """One validation result for the whole data from the pieces' own.

    Failures of row checks add up and their examples are renumbered into data rows; checks of a whole
    column (its type, its null rate, a missing column) count once however many pieces fail them.
    """
    from clearsight.data.schema import EXAMPLES

    merged: dict[tuple[str, str | None], ValidationIssue] = {}
    offset = 0
    for tally in tallies:
        for issue in tally.issues or []:
            examples = [_renumber(e, offset) for e in issue.examples]
            per_row = any(_ROW.search(e) for e in issue.examples)
            key = (issue.check, issue.column)
            seen = merged.get(key)
            if seen is None:
                merged[key] = issue.model_copy(update={"examples": examples[:EXAMPLES]})
                continue
            failures = seen.failures + issue.failures if per_row else max(seen.failures, issue.failures)
            merged[key] = seen.model_copy(update={"failures": failures,
                                                  "examples": (seen.examples + examples)[:EXAMPLES]})
        offset += tally.rows
    issues = list(merged.values())
    return ValidationResult(schema_source=source, passed=not issues, issues=issues)


def _batches(piece: Piece, digest: Any) -> Any:
    if piece.fmt == "parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(piece.path)
        with open(piece.path, "rb") as fh:
            for group in range(piece.start, piece.end):
                start, end = _row_group_span(handle.metadata.row_group(group))
                fh.seek(start)
                _hash_bytes(fh, end - start, digest)
                yield from handle.read_row_group(group).to_batches()
        return
    from clearsight.data.loading import open_csv

    with open(piece.path, "rb") as fh:
        head = fh.read(piece.header)
        fh.seek(piece.start)
        body = fh.read(piece.end - piece.start)
    digest.update(body)
    text = head + body
    yield from open_csv(lambda: io.BytesIO(text), piece.delimiter)


def _row_group_span(group: Any) -> tuple[int, int]:
    """The file bytes holding a row group's column chunks (dictionary pages included)."""
    starts, ends = [], []
    for i in range(group.num_columns):
        chunk = group.column(i)
        start = chunk.data_page_offset
        if chunk.has_dictionary_page and chunk.dictionary_page_offset:
            start = min(start, chunk.dictionary_page_offset)
        starts.append(start)
        ends.append(start + chunk.total_compressed_size)
    return min(starts), max(ends)


def _hash_bytes(fh: Any, length: int, digest: Any) -> None:
    while length > 0:
        chunk = fh.read(min(length, 1 << 20))
        if not chunk:
            break
        digest.update(chunk)
        length -= len(chunk)


def merge(parts: Sequence[Sample], size: int) -> Sample:
    """The ``size`` smallest-key rows of all parts; ties broken by (piece, row), so the result is unique."""
    present = [p for p in parts if p.table is not None and p.table.num_rows]
    if not present:
        return Sample.empty()
    if len(present) == 1 and present[0].table.num_rows <= size:
        return present[0]
    import pyarrow as pa

    try:
        table = pa.concat_tables([p.table for p in present], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"a column holds different kinds of values in different parts of the data ({exc})",
                         hint="fix the column so it holds numbers everywhere, or text everywhere") from exc
    keys = np.concatenate([p.keys for p in present])
    piece = np.concatenate([p.piece for p in present])
    row = np.concatenate([p.row for p in present])
    if len(keys) > size:
        chosen = np.lexsort((row, piece, keys))[:size]
        keep = chosen[np.lexsort((row[chosen], piece[chosen]))]  # back into data order
    else:
        keep = np.lexsort((row, piece))
    return Sample(table.take(pa.array(keep)), keys[keep], piece[keep], row[keep])


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_keys(seed: int, ordinal: int, first: int, count: int) -> NDArray[np.uint64]:
    """SplitMix64 of (seed, piece, row): uniform, and the same wherever the piece is read."""
    with np.errstate(over="ignore"):
        x = np.arange(first, first + count, dtype=np.uint64) + np.uint64((ordinal << 32) & 0xFFFFFFFFFFFFFFFF)
        x ^= np.uint64((seed * 0xD1B54A32D192ED03) & 0xFFFFFFFFFFFFFFFF)
        x += _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(x ^ (x >> np.uint64(31)), dtype=np.uint64)

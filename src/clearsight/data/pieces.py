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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from clearsight.core.errors import InputError
from clearsight.executors import Executor, SerialExecutor

if TYPE_CHECKING:
    from clearsight.data.piece_validation import PieceChecks
    from clearsight.data.schema import DataSchema

PIECE_BYTES = 64 * 1024 * 1024
WAVE = 8
_FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Piece:
    """Part of one file. CSV: bytes ``start..end`` (whole records), read after the header line at bytes
    ``header_start..header_end``. Parquet: row groups ``start..end``."""

    path: str
    shown: str
    fmt: str
    start: int
    end: int
    header_start: int = 0
    header_end: int = 0
    delimiter: str = ","
    stamp: tuple[int, int] = (0, 0)  # the file's size and modification time when it was planned


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
    columns: tuple[str, ...]
    sample: Sample
    checks: PieceChecks | None = None  # with a schema


def plan(path: Path, delimiter: str | None, *, piece_bytes: int | None = None) -> list[Piece]:
    """The pieces of a file or of a partitioned folder, in data order (``PIECE_BYTES`` each by default)."""
    piece_bytes = piece_bytes or PIECE_BYTES
    from clearsight.data.loading import _partition_files, sniff_format

    path = path.resolve()  # workers elsewhere (Dask) get absolute paths
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
        head = fh.read(1 << 16)
        if b"\r" in head and b"\n" not in head:
            raise InputError("lines end in a carriage return only", path=str(file),
                             hint="convert the file to LF or CRLF line endings")
        header_start = len(head) - len(head.lstrip(b"\r\n"))  # blank lines before the header are skipped
        cuts = _record_ends(fh, header_start, piece_bytes)
    if not cuts or cuts[0] >= size:
        raise InputError("no data rows, only a header", path=str(file))
    if cuts[-1] < size:
        cuts.append(size)  # the last record has no line end
    return [Piece(str(file), f"{shown} bytes {a}-{b - 1}", "csv", a, b, header_start, cuts[0], sep, _stamp(file))
            for a, b in itertools.pairwise(cuts) if b > a]


def _stamp(file: Path) -> tuple[int, int]:
    info = file.stat()
    return info.st_size, info.st_mtime_ns


def _record_ends(fh: BinaryIO, start: int, piece_bytes: int) -> list[int]:
    """Offsets just past line ends that close a record, about ``piece_bytes`` apart; the first ends the header.

    A line end inside a quoted field does not close a record: a quote character opens or closes a field
    (RFC 4180 doubles quotes inside one), so a line end closes a record when the quotes before it are even.
    One sequential pass, counting quotes in C; Python looks only at line ends near each cut.
    """
    cuts: list[int] = []
    target, base, quotes = start, 0, 0
    fh.seek(0)
    while chunk := fh.read(1 << 20):
        end = base + len(chunk)
        while target < end:
            at = target - base
            parity = quotes + chunk.count(b'"', 0, at)
            found = chunk.find(b"\n", at)
            while found >= 0:
                parity += chunk.count(b'"', at, found)
                if parity % 2 == 0:
                    break
                at = found
                found = chunk.find(b"\n", found + 1)
            if found < 0:
                target = end  # go on in the next chunk
                break
            cuts.append(base + found + 1)
            target = cuts[-1] + piece_bytes
        quotes += chunk.count(b'"')
        base = end
    return cuts


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
            pieces.append(Piece(str(file), f"{shown} row groups {start}-{group}", "parquet", start, group + 1,
                                stamp=_stamp(file)))
            start, size = group + 1, 0
    if not pieces:
        raise InputError("no data rows", path=str(file))
    return pieces


def sample_pieces(pieces: Sequence[Piece], size: int, seed: int, executor: Executor | None = None,
                  progress: Callable[[str], None] | None = None,
                  schema: DataSchema | None = None) -> tuple[Sample, list[PieceResult]]:
    """Read every piece (through ``executor``) and keep the ``size`` rows with the smallest keys; with a
    ``schema``, every row of every piece is checked on the way (:mod:`clearsight.data.piece_validation`).

    The results come back without their own samples, which are merged and let go wave by wave.
    """
    run = executor or SerialExecutor()
    sample = Sample.empty()
    results: list[PieceResult] = []
    tasks = [(ordinal, piece, size, seed, schema) for ordinal, piece in enumerate(pieces)]
    for first in range(0, len(tasks), WAVE):
        if progress and len(tasks) > 1:
            progress(f"reading data: pieces {first + 1}-{min(first + WAVE, len(tasks))} of {len(tasks)}")
        wave = run.map(read_piece, tasks[first:first + WAVE])
        for result in wave:
            if results and result.columns != results[0].columns:
                raise InputError(f"columns differ from the first piece's ({', '.join(results[0].columns[:8])})",
                                 path=pieces[result.ordinal].path)
            results.append(result)
        sample = merge([sample, *(r.sample for r in wave)], size)
        for result in wave:
            result.sample = Sample.empty()
    return sample, results


def read_piece(task: tuple[int, Piece, int, int, DataSchema | None]) -> PieceResult:
    """One piece's row count, hash, smallest-key rows and schema checks (runs on a worker; all of it pickles)."""
    ordinal, piece, size, seed, schema = task
    from clearsight.data.loading import _arrow, _arrow_message

    try:
        changed = _stamp(Path(piece.path)) != piece.stamp
    except OSError as exc:
        raise InputError(f"cannot read {piece.shown}: {exc.strerror or exc}", path=piece.path) from exc
    if changed:
        raise InputError("the file changed while it was being read", path=piece.path,
                         hint="check a copy that nothing writes to")

    pa = _arrow()
    digest = hashlib.sha256()
    sample = Sample.empty()
    kept: list[Any] = []
    rows = 0
    names: tuple[str, ...] = ()
    try:
        for raw in _batches(piece, digest):
            batch = _normalised(raw)
            names = tuple(batch.schema.names)
            keys = row_keys(seed, ordinal, rows, batch.num_rows)
            chunk = Sample(batch, keys, np.full(batch.num_rows, ordinal, dtype=np.int64),
                           np.arange(rows, rows + batch.num_rows, dtype=np.int64))
            sample = merge([sample, chunk], size)
            rows += batch.num_rows
            if schema is not None:
                kept.append(batch)
    except pa.ArrowInvalid as exc:
        message = _arrow_message(str(exc)) if piece.fmt == "csv" else f"cannot read as Parquet: {exc}"
        raise InputError(message, path=piece.path) from exc
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read {piece.shown}: {' '.join(str(exc).split())[:200]}", path=piece.path) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=piece.path) from exc
    checks = _check(pa.concat_tables(kept), schema, piece) if schema is not None and kept else None
    return PieceResult(ordinal, rows, digest.hexdigest(), names, sample, checks)


def _normalised(batch: Any) -> Any:
    """The batch as a table with the types the check ends up with (numbers float64, categories text), so
    that pieces their readers typed differently (int here, float there; dictionary or plain text) merge."""
    import pyarrow as pa

    columns, fields = [], []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_floating(kind):
            column = column.cast(pa.float64())
        elif pa.types.is_dictionary(kind) or pa.types.is_large_string(kind):
            column = column.cast(pa.string())
        columns.append(column)
        fields.append(pa.field(name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _check(table: Any, schema: DataSchema, piece: Piece) -> PieceChecks:
    from clearsight.data.loading import table_columns
    from clearsight.data.piece_validation import check_piece

    try:
        columns = table_columns(table)
    except InputError as exc:
        exc.path = exc.path or piece.path
        exc.message = f"{exc.message} (rows counted within {piece.shown})"
        raise
    return check_piece(columns, schema, piece.shown)


def values_at(pieces: Sequence[Piece], results: Sequence[PieceResult], column: str, rows: Sequence[int]) -> list[Any]:
    """The values of ``column`` in data rows ``rows`` (0-based over all pieces), each piece read back once."""
    import pyarrow as pa

    from clearsight.data.loading import _to_numpy
    from clearsight.data.piece_validation import python_value

    found: dict[int, Any] = {}
    first = 0
    for piece, result in zip(pieces, results, strict=True):
        wanted = [r for r in rows if first <= r < first + result.rows]
        if wanted:
            table = pa.concat_tables([_normalised(b) for b in _batches(piece, hashlib.sha256())],
                                     promote_options="permissive")
            values = _to_numpy(table.column(column), column)
            found.update((r, python_value(values, r - first)) for r in wanted)
        first += result.rows
    return [found[r] for r in rows]


def _batches(piece: Piece, digest: Any) -> Any:
    if piece.fmt == "parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(piece.path)
        digest.update(str(handle.schema_arrow).encode())  # names and types count, not only the values
        with open(piece.path, "rb") as fh:
            for group in range(piece.start, piece.end):
                start, end = _row_group_span(handle.metadata.row_group(group))
                fh.seek(start)
                _hash_bytes(fh, end - start, digest)
                yield from handle.iter_batches(row_groups=[group], batch_size=65_536)
        return
    from clearsight.data.loading import open_csv

    text = bytearray()
    with open(piece.path, "rb") as fh:
        fh.seek(piece.header_start)
        text += fh.read(piece.header_end - piece.header_start)
        fh.seek(piece.start)
        text += fh.read(piece.end - piece.start)
    digest.update(text)  # the header with every piece: renamed or swapped columns change the digest
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

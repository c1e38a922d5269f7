"""Reading texts to screen from a file: JSONL with a ``text`` field, or one plain text per line.

Streams line by line with a bound on each line, so a 10 GB log or a file that is one enormous line costs the
bound, not the file. Undecodable bytes are replaced rather than fatal: binary garbage is still text an attacker
could send, and the detector must see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from clearsight.core.errors import InputError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputText:
    line: int
    text: str
    id: str | None = None
    truncated: bool = False
    end: int = 0  # bytes of the input read up to here, for progress on large files


def read_texts(path: Path, *, max_chars: int, jsonl: bool | None = None) -> Iterator[InputText]:
    """Texts in file order; ``jsonl=None`` decides from the first non-empty line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read input ({exc.strerror or exc})", path=str(path)) from exc
    with handle:
        yield from texts_from(handle, str(path), max_chars=max_chars, jsonl=jsonl)


def texts_from(handle: BinaryIO, where: str, *, max_chars: int, jsonl: bool | None = None) -> Iterator[InputText]:
    limit = max_chars * 4 + 2  # UTF-8 needs at most four bytes a character
    for number, (raw, cut, end) in enumerate(_lines(handle, limit), start=1):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if jsonl is None and text.strip():
            jsonl = text.lstrip().startswith("{")
        if not jsonl:
            if text.strip():
                yield InputText(number, text[:max_chars], truncated=cut or len(text) > max_chars, end=end)
            continue
        if not text.strip():
            continue
        if cut:
            raise InputError(f"line {number}: JSON line longer than {limit:,} bytes", path=where,
                             hint="raise --max-chars, or give plain text lines")
        try:
            row = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise InputError(f"line {number}: not JSON ({exc})", path=where,
                             hint="each line must be an object with a 'text' field") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(f"line {number}: needs an object with a string 'text' field", path=where)
        ident = row.get("id")
        body: str = row["text"]
        yield InputText(number, body[:max_chars], None if ident is None else str(ident), len(body) > max_chars, end)


def _lines(handle: BinaryIO, limit: int) -> Iterator[tuple[bytes, bool, int]]:
    """Lines of at most ``limit`` bytes, and the bytes read so far; the rest of a longer line is dropped (cut)."""
    read = 0
    while True:
        line = handle.readline(limit)
        if not line:
            return
        read += len(line)
        cut = False
        if len(line) >= limit and not line.endswith(b"\n"):
            cut = True
            while True:  # skip the remainder without holding it
                rest = handle.readline(_CHUNK)
                read += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line, cut, read

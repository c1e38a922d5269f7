"""Reading texts to screen: format sniffing, order, bounded lines."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest

from clearsight.core.errors import InputError
from clearsight.llm.texts import read_texts, texts_from


def test_jsonl_is_recognised_and_ids_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n" + json.dumps({"text": "a", "id": 7}) + "\n" + json.dumps({"text": "b\u2028c"}) + "\n")
    items = list(read_texts(path, max_chars=100))
    assert [(i.line, i.text, i.id) for i in items] == [(2, "a", "7"), (3, "b\u2028c", None)]


def test_plain_lines_skip_blanks_and_keep_line_numbers() -> None:
    items = list(texts_from(io.BytesIO(b"first\n\n  \nsecond\r\n"), "<mem>", max_chars=100))
    assert [(i.line, i.text) for i in items] == [(1, "first"), (4, "second")]


def test_a_huge_single_line_costs_the_bound_not_the_file() -> None:
    handle = io.BytesIO(b"x" * 30_000_000 + b"\nnext\n")
    tracemalloc.start()
    items = [(i.line, len(i.text), i.truncated) for i in texts_from(handle, "<mem>", max_chars=10_000)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert items == [(1, 10_000, True), (2, 4, False)]
    assert peak < 8_000_000  # the line is 30 MB; reading holds about one chunk


def test_jsonl_line_that_is_too_long_is_an_error() -> None:
    line = json.dumps({"text": "y" * 5000}).encode() + b"\n"
    with pytest.raises(InputError, match="line 1: JSON line longer than"):
        list(texts_from(io.BytesIO(line), "<mem>", max_chars=100, jsonl=True))


def test_each_text_says_how_far_into_the_input_it_is() -> None:
    data = b"one\n\ntwo\n" + b"x" * 50 + b"\n"
    items = list(texts_from(io.BytesIO(data), "<mem>", max_chars=10))
    assert [i.end for i in items] == [4, 9, len(data)]

"""Line numbers count newlines only, as editors and SARIF viewers do, whatever other separators a file holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.discover.interface import SourceFile, source_lines
from clearsight.discover.registry import run_detectors


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\r\n", "a\n\nb", "a\x0cb\nc\x1d\n", "a\u2028b\n\n"])
def test_lines_end_only_at_newlines(text: str) -> None:
    expected = text.replace("\r\n", "\n").split("\n")
    if expected[-1] == "":
        expected.pop()
    assert source_lines(text) == expected


@pytest.mark.parametrize(("rel", "text", "detector"), [
    ("db.py", "import psycopg2\n\x0c\nconn = psycopg2.connect('dbname=x')\n", "data.db_client"),
    ("requirements.txt", "numpy\n\x0c\nopenai==1.30.0\n", "manifest.requirements"),
    (".env", "DEBUG=1\n\x0c\nOPENAI_API_KEY=\n", "config.dotenv"),
])
def test_a_form_feed_does_not_shift_line_numbers(rel: str, text: str, detector: str) -> None:
    file = SourceFile(path=Path(rel), rel=rel, root=Path("."), size=len(text), text=text)
    lines = {ob.line for ob in run_detectors([file]) if ob.detector == detector}
    assert lines == {3}

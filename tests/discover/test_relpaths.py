"""The string helpers agree with ``PurePosixPath`` on the clean relative paths the walker yields."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearsight.discover.relpaths import base_name, suffix

NAMES = ["app.py", ".env", ".env.local", "Dockerfile", "name.", "a.b.c.tar.gz", "..", "...x", "x..", "notebook.IPYNB",
         "dir.d/file", "dir.d/.hidden", "deep/er/model.safetensors"]


@pytest.mark.parametrize("rel", NAMES)
def test_name_and_suffix_match_pathlib(rel: str) -> None:
    assert base_name(rel) == PurePosixPath(rel).name
    assert suffix(rel) == PurePosixPath(rel).suffix


_PART = st.text(alphabet=st.sampled_from("ab.-_ é"), min_size=1, max_size=8).filter(lambda p: p not in (".", ".."))


@given(st.lists(_PART, min_size=1, max_size=4))
def test_any_clean_relative_path(parts: list[str]) -> None:
    rel = "/".join(parts)
    assert base_name(rel) == PurePosixPath(rel).name
    assert suffix(rel) == PurePosixPath(rel).suffix

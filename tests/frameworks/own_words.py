"""Checks that catalogue summaries are in our own words, not copied from the reference texts."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def norm(text: str) -> str:
    return " ".join(words(text))


def shared_runs(ours: str, theirs: str, n: int = 8) -> set[tuple[str, ...]]:
    """Runs of ``n`` consecutive words that appear in both texts (a sign of copied wording)."""
    a, b = words(ours), words(theirs)
    grams_a = {tuple(a[i : i + n]) for i in range(len(a) - n + 1)}
    grams_b = {tuple(b[i : i + n]) for i in range(len(b) - n + 1)}
    return grams_a & grams_b


def assert_own_words(label: str, ours: str, *theirs: str) -> None:
    for text in theirs:
        assert norm(ours) != norm(text), f"{label} copies the reference text"
        assert not shared_runs(ours, text), f"{label} reuses reference wording"

"""Folding only the characters that are not ASCII must give what folding the whole text gives."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearsight.discover import folding
from clearsight.discover.folding import makes_word_chars, nfkc, others

# ASCII, combining marks (composing with the letter before them, reordered among themselves), characters that
# fold to ASCII letters, digits or punctuation, Hangul jamo that compose with each other, an Oriya vowel sign
# that composes though it is a starter, and a lone surrogate
PIECES = [*"aeiouAEIKxz_ .\n", "\u0301", "\u0323", "\u0338", "\u0308", "é", "…", "²", "ｌ", "ﬁ", "\u212a", "İ",
          "µ", "ǆ", "\u1100", "\u1161", "\u11a8", "\uac00", "\u0b47", "\u0b3e", "\u0b4b", "\ud800", "Ω", "\u2126",
          "=", "<", "\u00a0", "\u3000"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
@example("e\u0301")
@example("\u0301e")
@example("a\u0323\u0301b")
@example("\u1100\u1161\u11a8")
@example("\u0b47\u0b3e")
@example("=\u0338")
def test_nfkc_is_normalize(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_many_other_characters_are_normalised_whole(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(folding, "MAX_SPLICED", 3)
    text = "a\u0301 b\u0301 c\u0301 d\u0301 …"
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join))
def test_makes_word_chars_is_whether_folding_adds_ascii_word_characters(text: str) -> None:
    def word_chars(value: str) -> int:
        return len(re.findall(r"[A-Za-z0-9_]", value))

    added = max(word_chars(unicodedata.normalize("NFKC", text).lower()), word_chars(text.lower()),
                word_chars(unicodedata.normalize("NFKC", text.lower()))) > word_chars(text)
    if added:
        assert makes_word_chars(text)
    if not makes_word_chars(text):
        assert not added
    assert makes_word_chars(text) == any(
        re.search(r"[A-Za-z0-9_]", form)
        for char in text if not char.isascii()
        for form in (char.lower(), unicodedata.normalize("NFKC", char).lower(),
                     unicodedata.normalize("NFKC", char.lower())))


def test_others_lists_the_characters_that_are_not_ascii_in_order() -> None:
    assert others("a…b\ud800cé") == "…\ud800é"
    assert others("plain") == ""

"""Python's folding of identifiers (NFKC), made cheap for texts that are ASCII but for a few characters.

Why: Python reads ``ｌｏａｄ`` as ``load``, so the Python detector's text checks run on the folded text. A big
module with an ellipsis or an accent in a docstring was normalised whole (17 ms for pandas' ``frame.py``), and a
regular expression looking for the characters that are not ASCII took as long again: a few hundred such files
were two thirds of the detector's time on the files it then found nothing in. Here the other characters are
found with C loops (encoding, ``bytes.translate``, ``str.find``) and only they are folded.
"""

from __future__ import annotations

import re
import unicodedata

_ASCII_BYTES = bytes(range(128))
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")
MAX_SPLICED = 4096  # more characters than this that are not ASCII: the text is normalised whole


def others(text: str) -> str:
    """Every character of ``text`` that is not ASCII, in order (lone surrogates included)."""
    return text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")


def makes_word_chars(text: str) -> bool:
    """Whether folding (NFKC, then lower case, either way round) makes an ASCII letter, digit or "_" out of a
    character of ``text`` that is not ASCII (the Kelvin sign folds to "k", "ﬁ" to "fi", "²" to "2"); "…"
    becomes "..." and does not count. Each character is asked alone: NFKC maps characters one by one and
    composes only into characters that are not ASCII, and lower-casing maps them one by one too."""
    for char in set(others(text)):
        lower = char.lower()
        for folded in (lower, unicodedata.normalize("NFKC", char).lower(), unicodedata.normalize("NFKC", lower)):
            if _WORD_CHAR.search(folded):
                return True
    return False


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, folding only the runs of characters that are not ASCII.

    Equal because NFKC maps every character on its own and then composes a character only with the last
    starter before it; ASCII characters map to themselves and compose with nothing but a character that is
    not ASCII after them, so each run is folded together with the ASCII character before it (``e`` and a
    combining accent make ``é``). A test compares the two on generated texts."""
    if text.isascii():
        return text
    positions: list[int] = []
    for char in set(others(text)):
        at = text.find(char)
        while at >= 0:
            positions.append(at)
            if len(positions) > MAX_SPLICED:
                return unicodedata.normalize("NFKC", text)
            at = text.find(char, at + 1)
    positions.sort()
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    index = 0
    while index < len(positions):
        start = end = positions[index]
        index += 1
        while index < len(positions) and positions[index] == end + 1:
            end = positions[index]
            index += 1
        lead = max(start - 1, done)
        parts.append(text[done:lead])
        parts.append(unicodedata.normalize("NFKC", text[lead:end + 1]))
        done = end + 1
    parts.append(text[done:])
    return "".join(parts)

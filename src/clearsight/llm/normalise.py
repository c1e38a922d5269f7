"""Undo the disguises attackers put on injected instructions, so rules and classifier see the plain words.

Every step records the trick it undid: hiding characters inside words, swapping Latin letters for Cyrillic
or Greek look-alikes, spacing letters out, leetspeak and encoded payloads are themselves signs of intent.
Benign text in another script is left alone: only words that *mix* scripts are mapped back to Latin.
All steps are linear in the text's length (regular expressions without nested quantifiers) so that a
megabyte of hostile input costs milliseconds, not minutes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass, field

#: Zero-width, joiner, word-joiner, invisible-operator and soft-hyphen characters: invisible, so they split
#: keywords for a filter while the model still reads the word.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
#: Bidirectional embedding, override and isolate controls: they make text display differently from its order.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")  # Unicode "tag" characters smuggle ASCII invisibly

#: Look-alike letters from Cyrillic and Greek mapped to the Latin letter they imitate.
_CONFUSABLE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "γ": "y", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ɡ": "g", "ı": "i",
})
_LATIN = re.compile("[A-Za-z]")
_FOREIGN_LOOKALIKE = re.compile("[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f\u0261\u0131]")
_WORD = re.compile(r"[^\W\d_]+(?:[\w@$]*)", re.UNICODE)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_LEET_TOKEN = re.compile(r"(?<![\w@$.])[A-Za-z0-9]+(?![\w@])")
_LEET_CHARS = set("013457")
_LEET_HINT = re.compile(r"[A-Za-z][013457]|[013457][A-Za-z]")
_QUANTITY = re.compile(r"\d+[A-Za-z]{1,3}$|[A-Za-z]+\d+$")
_INTERIOR_LEET = re.compile(r"[A-Za-z][013457][A-Za-z]")

#: Five or more single letters separated by one space, dot, dash, underscore or asterisk: "i g n o r e".
_SPACED = re.compile(r"(?<![\w])(?:[A-Za-z][ .\-_*]){4,}[A-Za-z](?![\w])")
_SPACED_SEP = re.compile(r"[ .\-_*]")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_BASE64_URLSAFE = re.compile(r"(?<![A-Za-z0-9_\-=])[A-Za-z0-9_\-]{16,}={0,2}(?![A-Za-z0-9_\-=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){10,}(?![0-9A-Fa-f])")
_ROT13_HINT = re.compile(r"rot[\s\-_]?13|caesar|cipher|decode|decipher|rotate", re.IGNORECASE)
_MAX_PAYLOADS = 20
_MIN_DECODED = 8


@dataclass(frozen=True)
class Normalised:
    """The text as a reader would see it, plus decoded hidden payloads and the tricks that were undone."""

    text: str
    payloads: tuple[str, ...] = ()
    tricks: frozenset[str] = field(default_factory=frozenset)
    rot13: str | None = None


def normalise(raw: str) -> Normalised:
    tricks: set[str] = set()
    text = raw
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text, hidden = _INVISIBLE.subn("", text)
        if hidden:
            tricks.add("invisible-characters")
        text, bidi = _BIDI.subn("", text)
        if bidi:
            tricks.add("bidi-control")
        text, tags = _TAG_CHARS.subn(lambda m: chr(ord(m.group()) - 0xE0000), text)
        if tags:
            tricks.add("tag-characters")
        if _FOREIGN_LOOKALIKE.search(text) and _LATIN.search(text):
            text = _WORD.sub(lambda m: _unconfuse(m.group(), tricks), text)
    text = _SPACED.sub(lambda m: _unspace(m.group(), tricks), text)
    if _LEET_HINT.search(text):
        text = _LEET_TOKEN.sub(lambda m: _unleet(m.group(), tricks), text)
    payloads = _decode_payloads(raw if raw.isascii() else text, tricks)
    rot13 = codecs.encode(text, "rot13") if _ROT13_HINT.search(text) else None
    return Normalised(text=text, payloads=payloads, tricks=frozenset(tricks), rot13=rot13)


def _unconfuse(word: str, tricks: set[str]) -> str:
    """Map a word back to Latin only when it mixes Latin with look-alikes; real Russian or Greek stays."""
    if not (_LATIN.search(word) and _FOREIGN_LOOKALIKE.search(word)):
        return word
    mapped = word.translate(_CONFUSABLE)
    if mapped != word:
        tricks.add("confusable-letters")
    return mapped


def _unspace(run: str, tricks: set[str]) -> str:
    tricks.add("spaced-letters")
    return _SPACED_SEP.sub("", run)


def _unleet(token: str, tricks: set[str]) -> str:
    """Read digits as letters in tokens like '1gn0r3'; version-like tokens ('python3', 'sha256') stay."""
    leet = sum(ch in _LEET_CHARS for ch in token)
    if leet == 0 or any(ch.isdigit() and ch not in _LEET_CHARS for ch in token):
        return token  # 'sha256', 'x86' are names, not disguise
    if sum(ch.isalpha() for ch in token) < 2 or _QUANTITY.match(token):
        return token  # '10am', '50kg', 'rot13', 'utf8'
    if leet == 1 and not _INTERIOR_LEET.search(token):
        return token  # 'mp3', 'v4', '4x': only a digit between letters ('c0de') reads as a letter
    tricks.add("leetspeak")
    return token.translate(_LEET)


def _decode_payloads(text: str, tricks: set[str]) -> tuple[str, ...]:
    """Decode base64 and hex runs that turn out to be readable text; binary blobs (keys, images) are ignored."""
    found: list[str] = []
    for pattern, decoder, trick in ((_BASE64, _b64, "base64-payload"), (_BASE64_URLSAFE, _b64url, "base64-payload"),
                                    (_HEX, _hex, "hex-payload")):
        for match in pattern.finditer(text):
            if len(found) >= _MAX_PAYLOADS:
                break
            decoded = decoder(match.group())
            if decoded is not None and decoded not in found:
                found.append(decoded)
                tricks.add(trick)
    return tuple(found)


def _readable(data: bytes) -> str | None:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(decoded) < _MIN_DECODED:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in decoded)
    letters = sum(ch.isalpha() for ch in decoded)
    spaces = decoded.count(" ")
    if printable < 0.95 * len(decoded) or letters < 0.5 * len(decoded) or spaces == 0:
        return None  # words with spaces between them: identifiers and hashes have none
    return decoded


def _b64(run: str) -> str | None:
    if len(run.rstrip("=")) % 4 == 1:
        return None
    try:
        return _readable(base64.b64decode(run + "=" * (-len(run) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None


def _b64url(run: str) -> str | None:
    if "-" not in run and "_" not in run:
        return None  # plain base64 was already tried
    try:
        return _readable(base64.urlsafe_b64decode(run + "=" * (-len(run) % 4)))
    except (binascii.Error, ValueError):
        return None


def _hex(run: str) -> str | None:
    digits = re.sub(r"[ :]", "", run)
    if len(digits) % 2:
        return None
    try:
        return _readable(bytes.fromhex(digits))
    except ValueError:
        return None

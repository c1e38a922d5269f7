"""The one feature extractor that training and detection share, so the shipped weights mean what they meant.

Two kinds of feature:

* **n-grams** of the normalised text — distinct word unigrams and bigrams, and character 3–5-grams inside each
  distinct word (these carry other scripts and mangled spellings), scaled so a long text does not score higher
  for being long. Character n-grams belong to words, so a word's contribution can be cached: that is what keeps
  detection near a millisecond.
* **signals** — each rule that fired, whether it fired inside quotation marks (citing an attack is not making
  one), each disguise that was undone, whether the text is a document, rules that fired only after decoding
  a payload, and a harmful request wrapped in a pretext, persona or override (the pair, not either alone).
  Unscaled: a rule hit in a long e-mail counts as much as in a tweet.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from clearsight.llm.normalise import Normalised, normalise
from clearsight.llm.rules import matches, matching, quoted

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CHAR_ORDERS = (3, 4, 5)
_MAX_WORD = 30  # longer "words" are blobs (hashes, base64, minified code): n-grams of them are noise
# Tactics that wrap a harmful request so that answering looks allowed (see rules.py, "jailbreak framing").
_WRAPPERS = frozenset({"jailbreak-framing", "persona-switch", "refusal-suppression", "instruction-override"})


@dataclass(frozen=True)
class Analysis:
    """What the classifier and the explanation both need; computed once per text."""

    normalised: Normalised
    rules: tuple[str, ...]
    signals: tuple[str, ...]


def analyse(text: str, context: str) -> Analysis:
    norm = normalise(text)
    found = matches(norm.text)
    hit = {rule.id: rule.reason for rule, _ in found}
    signals = [f"r:{rule}" for rule in hit]
    signals.extend(f"q:{rule.reason}" for rule, match in found if quoted(norm.text, match))
    hidden: dict[str, str] = {}
    for view in (*norm.payloads, *((norm.rot13,) if norm.rot13 else ())):
        hidden.update({r.id: r.reason for r in matching(view)})
    for rule in [r for r in hidden if r not in hit]:  # in rule order: a set's order changes per process
        signals.append(f"p:{rule}")
        signals.append("p:any")
    signals.extend(f"t:{trick}" for trick in sorted(norm.tricks))
    if context == "document":
        signals.append("x:document")
        signals.extend(f"d:{rule}" for rule in hit)
    reasons = tuple(dict.fromkeys([*hit.values(), *hidden.values()]))
    if "harmful-request" in reasons and not _WRAPPERS.isdisjoint(reasons):
        signals.append("c:wrapped-harm")  # a linear model cannot see "both" on its own
    return Analysis(normalised=norm, rules=reasons, signals=tuple(dict.fromkeys(signals)))


def units(text: str) -> tuple[set[str], set[str]]:
    """The distinct words and word pairs of lower-cased text (presence, not counts)."""
    words = [w for w in _TOKEN.findall(text.lower()) if len(w) <= _MAX_WORD]
    return set(words), {f"{a} {b}" for a, b in pairwise(words)}


@lru_cache(maxsize=1 << 16)
def word_grams(word: str) -> tuple[str, ...]:
    """A word's own feature and its distinct character 3–5-grams (padded, so word starts and ends count)."""
    padded = f" {word} "
    grams = {f"#{padded[i:i + n]}" for n in _CHAR_ORDERS for i in range(len(padded) - n + 1)}
    return (word, *sorted(grams))


def gram_counts(text: str) -> Counter[str]:
    """Feature counts of one window: a character n-gram counts once per distinct word that contains it."""
    words, pairs = units(text)
    counts: Counter[str] = Counter(pairs)
    for word in words:
        counts.update(word_grams(word))
    return counts


def analysed_text(analysis: Analysis) -> str:
    """The text the n-grams are taken from: the normalised text plus whatever was decoded out of it."""
    norm = analysis.normalised
    extra = list(norm.payloads)
    if norm.rot13 and any(s.startswith("p:") for s in analysis.signals):
        extra.append(norm.rot13)
    return "\n".join((norm.text, *extra)) if extra else norm.text


def scale(count: int) -> float:
    """The factor on a window's n-gram counts, so a long text does not score higher for being long."""
    return 1.0 / math.sqrt(count) if count else 0.0

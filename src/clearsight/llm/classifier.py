"""The learned tier: a linear model over n-grams and rule signals, shipped as a small gzipped JSON file.

A linear model is the right size here: it scores a text in well under a millisecond in pure Python (no NumPy at
run time, so the core install stays light), its weights can be read to see what it learned, and
``python -m clearsight.llm.train`` reproduces the file from the training data. Texts longer than a window
are scored window by window so that one planted paragraph in a long document is not averaged away.
"""

from __future__ import annotations

import gzip
import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from clearsight.core.errors import InputError
from clearsight.llm.features import scale, units, word_grams

MODEL_FILE = "injection.json.gz"
WINDOW = 4000
STRIDE = 3000
FORMAT = 1


class LinearModel:
    """Weights by feature name; a word's summed character-gram weight is cached (words repeat, texts do not)."""

    _CACHE_LIMIT = 1 << 17

    def __init__(self, bias: float, signals: dict[str, float], grams: dict[str, float],
                 thresholds: dict[str, float], meta: dict[str, Any]) -> None:
        self.bias = bias
        self.signals = signals
        self.grams = grams
        self.thresholds = thresholds
        self.meta = meta
        self._words: dict[str, tuple[float, int]] = {}

    def margin(self, text: str, signals: tuple[str, ...]) -> float:
        """Log-odds of injection: bias, signal weights, and the strongest window's n-gram evidence."""
        signal_part = sum(self.signals.get(s, 0.0) for s in signals)
        return self.bias + signal_part + max(self._grams(chunk) for chunk in windows(text))

    def _grams(self, text: str) -> float:
        words, pairs = units(text)
        weights = self.grams
        total = len(pairs)
        acc = sum(weights.get(p, 0.0) for p in pairs)
        cache = self._words
        for word in words:
            hit = cache.get(word)
            if hit is None:
                grams = word_grams(word)
                hit = (sum(weights.get(g, 0.0) for g in grams), len(grams))
                if len(cache) >= self._CACHE_LIMIT:
                    cache.clear()
                cache[word] = hit
            acc += hit[0]
            total += hit[1]
        return acc * scale(total)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "meta": self.meta, "thresholds": self.thresholds, "bias": self.bias,
                "signals": self.signals, "grams": self.grams}


def windows(text: str) -> list[str]:
    if len(text) <= WINDOW:
        return [text]
    return [text[start:start + WINDOW] for start in range(0, len(text) - WINDOW + STRIDE, STRIDE)]


def probability(margin: float) -> float:
    if margin < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-margin))


def load_model(path: Path | None = None) -> LinearModel:
    """The shipped model, or one a user trained (``--model``); cached per path."""
    return _load(str(path) if path else None)


@cache
def _load(path: str | None) -> LinearModel:
    try:
        if path is None:
            raw = resources.files("clearsight.llm.model").joinpath(MODEL_FILE).read_bytes()
        else:
            raw = Path(path).read_bytes()
        data = json.loads(gzip.decompress(raw))
    except FileNotFoundError as exc:
        raise InputError("detector model file not found", path=path or MODEL_FILE,
                         hint="train one with 'python -m clearsight.llm.train'") from exc
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"not a Clearsight detector model ({type(exc).__name__})", path=path or MODEL_FILE) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError("unsupported detector model format", path=path or MODEL_FILE)
    return LinearModel(bias=float(data["bias"]), signals=dict(data["signals"]), grams=dict(data["grams"]),
                       thresholds=dict(data["thresholds"]), meta=dict(data.get("meta", {})))


def save_model(model: LinearModel, path: Path) -> None:
    payload = json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    path.write_bytes(gzip.compress(payload.encode("utf-8"), compresslevel=9, mtime=0))

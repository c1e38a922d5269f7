"""Output hardening: give each client less of the model than the raw answer holds, keeping the schema.

Extraction, inversion and membership attacks all live on score precision. Rounding, collapsing scores to
the top label and bounded noise each cut that signal while a client that only needs a decision notices
nothing: numbers stay numbers, lists keep their length, objects keep their keys, and the top label never
changes (noise is clipped so it cannot cross the decision threshold or reorder the winner).
"""

from __future__ import annotations

import math
import random
from typing import Any

from clearsight.guard.policy import HardeningSpec, OutputSpec


def harden(document: Any, output: OutputSpec, spec: HardeningSpec, rng: random.Random) -> Any:
    """The hardened document: changed in place, or a new value when the scores are the whole answer (``$``)."""
    if output.scores is None or not spec.active:
        return document
    if not output.scores.steps:  # the root itself: there is no parent to write the new value into
        return _harden_value(document, output, spec, rng)
    output.scores.update(document, lambda value: _harden_value(value, output, spec, rng))
    return document


def _harden_value(value: Any, output: OutputSpec, spec: HardeningSpec, rng: random.Random) -> Any:
    if type(value) is float and math.isfinite(value):  # the usual answer, one probability: no further checks
        return _scalar(value, output.threshold, spec, rng)
    if _is_number(value):
        return _scalar(float(value), output.threshold, spec, rng)
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return _vector([float(v) for v in value], spec, rng)
    if isinstance(value, dict) and value and all(_is_number(v) for v in value.values()):
        keys = list(value)
        return dict(zip(keys, _vector([float(value[k]) for k in keys], spec, rng), strict=True))
    return value  # not scores (e.g. an error body): leave it alone


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    # an int of hundreds of digits has no float (math.isfinite would raise): not a score to harden
    return isinstance(value, int) and not isinstance(value, bool) and -(2**53) <= value <= 2**53


def _scalar(score: float, threshold: float, spec: HardeningSpec, rng: random.Random) -> float:
    """One probability with a decision threshold: the side of the threshold is the label to preserve."""
    positive = score >= threshold
    if spec.top_label_only:
        return 1.0 if positive else 0.0
    if spec.noise > 0:
        noisy = score + rng.uniform(-spec.noise, spec.noise)
        low, high = (threshold, 1.0) if positive else (0.0, math.nextafter(threshold, 0.0))
        score = min(max(noisy, low), high) if 0.0 <= score <= 1.0 else noisy
        if (score >= threshold) != positive:  # a score outside [0, 1] that noise pushed across
            score = threshold if positive else math.nextafter(threshold, -math.inf)
    if spec.round is not None:
        rounded = round(score, spec.round)
        step = 10.0 ** -spec.round
        if positive and rounded < threshold:
            rounded = round(rounded + step, spec.round)
        elif not positive and rounded >= threshold:
            rounded = round(rounded - step, spec.round)
        score = rounded
    return score


def _vector(scores: list[float], spec: HardeningSpec, rng: random.Random) -> list[float]:
    top = max(range(len(scores)), key=scores.__getitem__)
    if spec.top_label_only:
        return [1.0 if i == top else 0.0 for i in range(len(scores))]
    out = list(scores)
    if spec.noise > 0:
        out = [s + rng.uniform(-spec.noise, spec.noise) for s in out]
        if all(0.0 <= s <= 1.0 for s in scores):
            out = [min(max(s, 0.0), 1.0) for s in out]
        best_other = max((s for i, s in enumerate(out) if i != top), default=-math.inf)
        if out[top] <= best_other:  # keep the winner: lift it just above the runner-up
            out[top] = min(best_other + 1e-9, 1.0) if best_other < 1.0 else 1.0
            if out[top] <= best_other:
                out = [s if i == top else min(s, out[top] - 1e-9) for i, s in enumerate(out)]
    if spec.round is not None:
        rounded = [round(s, spec.round) for s in out]
        if any(rounded[i] >= rounded[top] for i in range(len(out)) if i != top):
            # rounding made a tie: move the winner one step up, or (already at 1) the others one step down
            step = 10.0 ** -spec.round
            if rounded[top] + step <= 1.0 or not all(0.0 <= s <= 1.0 for s in scores):
                rounded[top] = round(rounded[top] + step, spec.round)
            else:
                floor = round(rounded[top] - step, spec.round)
                rounded = [r if i == top else min(r, floor) for i, r in enumerate(rounded)]
        out = rounded
    return out

"""Prompt-injection detection: normalise, apply the rules, let the learned model weigh it all, explain.

``context="prompt"`` is a message a user typed; ``context="document"`` is content the application fetched
(an e-mail, a web page, a retrieved passage, tool output), where any instruction addressed to the AI is
suspect. The guard uses :func:`screener` to plug the detector into a route's prompt screening.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from clearsight.guard.screening import Screener, Screening
from clearsight.llm.classifier import LinearModel, load_model, probability
from clearsight.llm.features import analyse, analysed_text

Context = Literal["prompt", "document"]
CONTEXTS: tuple[Context, ...] = ("prompt", "document")
LEARNED = "learned-pattern"


@dataclass(frozen=True, slots=True)
class Detection:
    """The verdict on one text. ``reasons`` name the tactics seen (rule families and disguises)."""

    label: Literal["injection", "benign"]
    score: float
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.label == "injection"


class Detector:
    """A loaded model and its thresholds; build one and call it many times."""

    def __init__(self, model: LinearModel | None = None, *, threshold: float | None = None) -> None:
        self.model = model or load_model()
        self.threshold = threshold

    def __call__(self, text: str, context: Context = "prompt") -> Detection:
        if context not in CONTEXTS:
            raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, not {context!r}")
        analysis = analyse(text, context)
        score = probability(self.model.margin(analysed_text(analysis), analysis.signals))
        cut = self.threshold if self.threshold is not None else self.model.thresholds[context]
        flagged = score >= cut
        reasons = list(analysis.rules)
        reasons.extend(f"obfuscation:{trick}" for trick in sorted(analysis.normalised.tricks))
        if flagged and not analysis.rules:
            reasons.append(LEARNED)
        return Detection("injection" if flagged else "benign", round(score, 4), tuple(reasons))


@cache
def _shipped() -> Detector:
    return Detector()


def detect(text: str, context: Context = "prompt") -> Detection:
    """Score one text with the shipped model."""
    return _shipped()(text, context)


def screener(context: Context = "prompt", *, model: Path | None = None) -> Screener:
    """The detector as a guard screener: ``ModelGuard(app, policy, screeners={"injection": screener()})``."""
    detector = Detector(load_model(model))

    def screen(text: str) -> Screening:
        found = detector(text, context)
        return Screening(flagged=found.flagged, score=found.score, reasons=found.reasons)

    return screen

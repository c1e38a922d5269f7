"""Run the signals, combine their cases into one ranked list, and estimate what removing the flags changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import MapPoint, RemovalEffect, RowReason, SignalSummary, SuspiciousRow, TriggerPattern
from clearsight.data.poisoning.interface import Context, Signal, SignalResult
from clearsight.data.poisoning.models import family, fit_predict, spec_for, view
from clearsight.data.poisoning.registry import SIGNALS
from clearsight.data.table import Encoded
from clearsight.executors import SerialExecutor

CONTEXT_ROWS = 200
CONTEXT_SCORE = 0.5
REASON_FLOOR = 0.05

Progress = Callable[[str], None]


@dataclass
class Detection:
    rows: list[SuspiciousRow]
    flagged: NDArray[np.bool_]
    signals: list[SignalSummary]
    triggers: list[TriggerPattern]
    stamps: list[dict[int, float]]


def detect(ctx: Context, signals: Sequence[Signal] = SIGNALS, *, ids: NDArray[np.str_] | None = None,
           progress: Progress | None = None) -> Detection:
    n = ctx.n
    results: list[tuple[Signal, SignalResult]] = []
    summaries: list[SignalSummary] = []
    for signal in signals:
        if progress:
            progress(signal.title)
        outcome = signal.run(ctx)
        if isinstance(outcome, str):
            summaries.append(SignalSummary(id=signal.id, title=signal.title, ran=False, note=outcome))
            continue
        if not signal.decisive:
            outcome.flagged[:] = False
        results.append((signal, outcome))
        summaries.append(SignalSummary(id=signal.id, title=signal.title, ran=True,
                                       flagged=int(outcome.flagged.sum()), note=outcome.note))
    flagged = np.zeros(n, dtype=bool)
    keep = np.ones(n)
    for _signal, r in results:
        flagged |= r.flagged
        keep *= 1.0 - np.clip(r.scores, 0.0, 1.0)
    combined = 1.0 - keep
    listed = np.flatnonzero(flagged)
    context = np.flatnonzero(~flagged & (combined >= CONTEXT_SCORE))
    context = context[np.argsort(-combined[context])][:CONTEXT_ROWS]
    rows: list[SuspiciousRow] = []
    for i in np.concatenate([listed, context]).tolist():
        reasons = []
        suggested = -1
        best = -1.0
        for signal, r in results:
            s = float(r.scores[i])
            if not r.flagged[i] and s < REASON_FLOOR:
                continue
            message = r.describe(i)
            if not message:
                continue
            reasons.append(RowReason(signal=signal.id, score=round(s, 4), message=message))
            if r.flagged[i] and r.suggested[i] >= 0 and s > best:
                best, suggested = s, int(r.suggested[i])
        if not reasons:
            continue
        rows.append(SuspiciousRow(
            row=int(i), id=None if ids is None else str(ids[i]), label=ctx.label(int(ctx.enc.y[i])),
            suggested_label=None if suggested < 0 else ctx.label(suggested), score=round(float(combined[i]), 4),
            flagged=bool(flagged[i]), reasons=sorted(reasons, key=lambda r: -r.score)))
    rows.sort(key=lambda r: (not r.flagged, -r.score, r.row))
    triggers = [t for _s, r in results for t in r.triggers]
    stamps = [st for _s, r in results for st in r.stamps]
    return Detection(rows, flagged, summaries, triggers, stamps)


def removal_effect(ctx: Context, detection: Detection, *, test_share: float = 0.25) -> RemovalEffect:
    """Retrain with and without the flagged rows on one split; score both on held-out rows nobody flagged.

    With a trigger, also the attack success rate: the share of other-class held-out rows, classified right
    without the trigger, that the trigger turns into its label.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split

    enc = ctx.enc
    everything = np.arange(ctx.n)
    stratify = enc.y if np.bincount(enc.y).min() >= 2 else None
    train, test = train_test_split(everything, test_size=test_share, random_state=ctx.seed, stratify=stratify)
    evaluate = test[~detection.flagged[test]]
    cleaned = train[~detection.flagged[train]]
    x = view(enc)
    parts = [x[evaluate]]
    trigger = target = None
    victims = np.zeros(0, dtype=np.int64)
    if detection.triggers and detection.stamps:
        trigger, stamp = detection.triggers[0], detection.stamps[0]
        target = next(code for code in range(len(enc.classes)) if ctx.label(code) == trigger.label)
        victims = evaluate[enc.y[evaluate] != target]
        if len(victims):
            parts += [x[victims], _stamped(enc, x, victims, stamp)]
    x_test = np.vstack(parts)
    spec = spec_for(enc, len(train), ctx.seed)
    tasks = [(spec, x[rows], enc.y[rows], x_test) for rows in (train, cleaned)]
    (classes_b, p_before), (classes_a, p_after) = (ctx.executor or SerialExecutor()).map(fit_predict, tasks)
    predicted = [classes_b[p_before.argmax(axis=1)], classes_a[p_after.argmax(axis=1)]]
    k = len(evaluate)
    before, after = (float(balanced_accuracy_score(enc.y[evaluate], p[:k])) for p in predicted)
    effect = RemovalEffect(model=family(enc), metric="balanced accuracy on held-out rows nobody flagged",
                           before=round(before, 4), after=round(after, 4), removed=int(len(train) - len(cleaned)))
    if trigger is None or not len(victims):
        return effect
    v = len(victims)

    def success(p: NDArray[np.int64]) -> float:
        right = p[k:k + v] == enc.y[victims]
        turned = p[k + v:] == target
        return float(turned[right].mean()) if right.any() else 0.0

    return effect.model_copy(update={
        "trigger": " and ".join(f"{c} {w}" for c, w in trigger.conditions.items()),
        "attack_success_before": round(success(predicted[0]), 4),
        "attack_success_after": round(success(predicted[1]), 4),
    })


def _stamped(enc: Encoded, x: NDArray[np.float64], victims: NDArray[np.int64],
             stamp: dict[int, float]) -> NDArray[np.float64]:
    """The victims with the trigger values put in, in the view the model family sees."""
    out = x[victims].copy()
    if not enc.dense:
        for column, value in stamp.items():  # the boosting view keeps every column in place
            out[:, column] = value
        return out
    for column, value in stamp.items():  # dense models see scaled columns: copy them from a row that has it
        rows = np.flatnonzero(enc.model[:, column] == value)
        cols = np.flatnonzero(enc.distance_owner == column)
        if len(rows):
            out[:, cols] = enc.distance[rows[0], cols]
    return out


MAP_SAMPLE = 1500
MAP_FLAGGED = 500


def data_map(ctx: Context, flagged: NDArray[np.bool_]) -> list[MapPoint]:
    """Flagged rows (up to 500) and a sample of the rest on two principal components of the distance view."""
    rng = np.random.default_rng(ctx.seed)
    hits = np.flatnonzero(flagged)[:MAP_FLAGGED]
    rest = np.flatnonzero(~flagged)
    rest = rng.choice(rest, size=min(MAP_SAMPLE, len(rest)), replace=False) if len(rest) else rest
    rows = np.concatenate([rest, hits])
    x = ctx.enc.distance[rows]
    centred = x - x.mean(axis=0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([centred @ vt[0], np.zeros(len(rows))])
    return [MapPoint(x=round(float(a), 3), y=round(float(b), 3), label=ctx.label(int(ctx.enc.y[i])),
                     flagged=bool(flagged[i])) for i, (a, b) in zip(rows.tolist(), xy.tolist(), strict=True)]

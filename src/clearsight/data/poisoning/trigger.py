"""Trigger patterns: a rare value (or values that occur on the same rows) that decides the label.

Two kinds, told apart by hiding the pattern's columns from an out-of-sample model:

* **dirty-label** — the pattern's rows are labelled one way, and the rest of each row says another: the
  attacker stamped a trigger on rows of one class and relabelled them (a backdoor). The contradicted rows
  are flagged; they are what teaches the model to obey the trigger.
* **clean-label** — the labels are right, but a column that is otherwise constant (or a value repeated
  exactly in a continuous column) appears only on rows of one class. Natural features rarely look like
  that; a stamped trigger on correctly labelled rows does. All the pattern's rows are flagged.

Natural predictive values (very high velocity for fraud) are not flagged: the rest of the row agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import TriggerPattern
from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty
from clearsight.data.poisoning.models import predict_held_out

MIN_ROWS = 10
MAX_SHARE = 0.1
PURITY = 0.9
CLEAN_PURITY = 0.95
CLEAN_LIFT = 3.0
SPIKE_FACTOR = 20.0
NEAR_CONSTANT = 0.95
OVERLAP = 0.8
CONTRADICTED = 0.5
MAX_MODELS = 6
CLEAN_SCORE = 0.7


@dataclass
class Candidate:
    column: int
    condition: str
    rows: NDArray[np.int64]
    kind: str  # "deviation" (near-constant column), "spike" (exact repeat in continuous), "rare"


def _candidates(ctx: Context) -> list[Candidate]:
    enc = ctx.enc
    n = ctx.n
    prior = enc.prior()
    out: list[Candidate] = []
    for j in range(len(enc.names)):
        x = enc.model[:, j]
        finite = np.isfinite(x)
        values, inverse, counts = np.unique(np.where(finite, x, np.inf), return_inverse=True, return_counts=True)
        mode = int(counts.argmax())
        if counts[mode] >= NEAR_CONSTANT * n:
            rows = np.flatnonzero(inverse != mode)
            if MIN_ROWS <= len(rows) <= MAX_SHARE * n:
                out.append(Candidate(j, f"!= {enc.value_text(j, float(values[mode]))}", rows, "deviation"))
            continue
        continuous = not enc.categorical[j] and len(values) > 0.05 * n
        expected = n / len(values)
        for k in np.flatnonzero((counts >= MIN_ROWS) & (counts <= MAX_SHARE * n)):
            if (k == mode and not continuous) or not np.isfinite(values[k]):
                continue  # a discrete column's most common value is its normal, not a pattern
            if continuous and counts[k] < SPIKE_FACTOR * expected:
                continue
            rows = np.flatnonzero(inverse == k)
            label_counts = np.bincount(enc.y[rows], minlength=len(prior))
            top = int(label_counts.argmax())
            if label_counts[top] < PURITY * len(rows):
                continue
            # a value the column otherwise (almost) never leaves its mode for is as odd as a spike
            lone = counts[mode] >= NEAR_CONSTANT * (n - counts[k])
            kind = "spike" if continuous else "deviation" if lone else "rare"
            if kind == "rare" and label_counts[top] / len(rows) < CLEAN_LIFT * prior[top]:
                continue  # an ordinary value of an ordinary column that merely follows the class balance
            out.append(Candidate(j, f"== {enc.value_text(j, float(values[k]))}", rows, kind))
    return out


def _groups(cands: list[Candidate]) -> list[list[Candidate]]:
    parent = list(range(len(cands)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [set(c.rows.tolist()) for c in cands]
    for a in range(len(cands)):
        for b in range(a + 1, len(cands)):
            if cands[a].column == cands[b].column:
                continue
            small = min(len(sets[a]), len(sets[b]))
            if len(sets[a] & sets[b]) >= OVERLAP * small:
                parent[find(a)] = find(b)
    grouped: dict[int, list[Candidate]] = {}
    for i, c in enumerate(cands):
        grouped.setdefault(find(i), []).append(c)
    rank = {"deviation": 0, "spike": 0, "rare": 1}
    return sorted(grouped.values(), key=lambda g: (-len(g), min(rank[c.kind] for c in g), -len(g[0].rows)))


def _typical(values: NDArray[np.float64]) -> float:
    found, counts = np.unique(values[np.isfinite(values)], return_counts=True)
    return float(found[counts.argmax()]) if len(found) else float("nan")


def run(ctx: Context) -> SignalResult | str:
    cands = _candidates(ctx)
    if not cands:
        return "no rare value decides a label"
    enc = ctx.enc
    y = enc.y
    prior = enc.prior()
    scores, flagged, suggested = empty(ctx.n)
    reason: dict[int, str] = {}
    patterns: list[TriggerPattern] = []
    stamps: list[dict[int, float]] = []
    groups = _groups(cands)
    tested: list[tuple[list[Candidate], NDArray[np.int64], tuple[int, ...]]] = []
    for group in groups[:MAX_MODELS]:
        rows = group[0].rows
        for c in group[1:]:
            rows = np.intersect1d(rows, c.rows)
        if len(rows) >= MIN_ROWS:
            tested.append((group, rows, tuple(sorted({c.column for c in group}))))
    # the rest of the data judges each pattern's rows: neither their columns nor the rows themselves are seen
    # in training, so poisoned rows cannot vouch for each other (one fit per pattern, run by the executor)
    judged = predict_held_out(enc, [(np.setdiff1d(np.arange(ctx.n), rows), rows, columns)
                                    for _g, rows, columns in tested], seed=ctx.seed, executor=ctx.executor)
    for (group, rows, _columns), held_out in zip(tested, judged, strict=True):
        p = np.zeros((ctx.n, len(enc.classes)))
        p[rows] = held_out
        counts = np.bincount(y[rows], minlength=len(prior))
        top = int(counts.argmax())
        purity = counts[top] / len(rows)
        conditions = {enc.names[c.column]: c.condition for c in group}
        text = " and ".join(f"{k} {v}" for k, v in conditions.items())
        own = p[rows, y[rows]]
        contradicted = own < 0.5
        share = float(contradicted.mean())
        if share >= CONTRADICTED:
            # every row carrying an established trigger teaches it, contradicted or not
            hit = rows
            kind = "dirty-label"
            alt = p[hit].argmax(axis=1)
            scores[hit] = np.maximum(scores[hit], np.where(contradicted, 1.0 - own, CLEAN_SCORE))
            suggested[hit] = np.where(contradicted, alt, -1)
            for i, a, c in zip(hit.tolist(), alt.tolist(), contradicted.tolist(), strict=True):
                looks = (f"without those columns the row looks {ctx.label(a)!r} ({p[i, a]:.2f})" if c else
                         f"{share:.0%} of those rows look like another class without those columns")
                reason[i] = f"carries {text} ({len(rows)} rows, {purity:.0%} labelled {ctx.label(top)!r}); {looks}"
        elif (purity >= CLEAN_PURITY and purity / max(prior[top], 1e-9) >= CLEAN_LIFT
              and any(c.kind in ("deviation", "spike") for c in group)):
            hit = rows[y[rows] == top]
            kind = "clean-label"
            scores[hit] = np.maximum(scores[hit], CLEAN_SCORE)
            for i in hit.tolist():
                reason[i] = (f"carries {text}: a value the column otherwise never takes, on {len(rows)} rows all "
                             f"but {len(rows) - counts[top]} labelled {ctx.label(top)!r} (class share "
                             f"{prior[top]:.0%}) — a stamped trigger on correctly labelled rows")
        else:
            continue
        flagged[hit] = True
        patterns.append(TriggerPattern(conditions=conditions, rows=len(rows), label=ctx.label(top),
                                       purity=round(float(purity), 4), contradicted=round(share, 4), kind=kind))
        stamps.append({c.column: _typical(enc.model[rows, c.column]) for c in group})
    note = f"{len(groups)} candidate patterns, {len(tested)} tested"

    def describe(i: int) -> str:
        return reason.get(i, "")

    return SignalResult(scores, flagged, suggested, describe, note=note, triggers=patterns, stamps=stamps)


SIGNAL = Signal("trigger.pattern", "Trigger patterns (backdoors, dirty- and clean-label)", True, run)

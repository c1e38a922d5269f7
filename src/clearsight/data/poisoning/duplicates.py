"""Near-duplicates with conflicting labels: the same transaction (or image) cannot be both.

Rows closer than a tiny fraction of the typical nearest-neighbour distance count as the same row. Within
each group the majority label (or, on a tie, the one the out-of-sample model prefers) is taken as right;
the others are flagged.
"""

from __future__ import annotations

import numpy as np

from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty

RELATIVE_DISTANCE = 0.02


def run(ctx: Context) -> SignalResult | str:
    dist, idx = ctx.neighbours()
    typical = float(np.median(dist[:, 0]))
    radius = max(RELATIVE_DISTANCE * typical, 1e-9)
    y = ctx.enc.y
    close = dist <= radius
    scores, flagged, suggested = empty(ctx.n)
    partners: dict[int, int] = {}
    for i in np.flatnonzero(close[:, 0]):
        group = np.concatenate([[i], idx[i][close[i]]])
        labels = y[group]
        if (labels == y[i]).all():
            continue
        counts = np.bincount(labels, minlength=len(ctx.enc.classes)).astype(float)
        counts += 1e-3 * ctx.proba()[group].mean(axis=0)  # tie-break by the model
        right = int(counts.argmax())
        if y[i] != right:
            flagged[i] = True
            scores[i] = 0.9
            suggested[i] = right
            partners[int(i)] = int(idx[i][close[i]][0])
    if not len(partners) and not close[:, 0].any():
        return "no near-duplicate rows"

    def describe(i: int) -> str:
        j = partners.get(i)
        return "" if j is None else (f"near-duplicate of row {j} labelled {ctx.label(int(y[j]))!r}, "
                                     f"but labelled {ctx.label(int(y[i]))!r}")

    return SignalResult(scores, flagged, suggested, describe)


SIGNAL = Signal("duplicate.conflict", "Near-duplicates with conflicting labels", True, run)

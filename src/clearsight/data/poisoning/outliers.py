"""Outliers within their own class: far from every other row with the same label.

Context, not a verdict: real data has odd rows, but an odd row that another signal also suspects is worth
reviewing first. The distance to the k-th nearest row of the same class is compared with the class's own
spread (median and MAD), so a naturally spread-out class does not light up.
"""

from __future__ import annotations

import numpy as np

from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty

K = 10
Z_START = 3.0
Z_FULL = 10.0


def run(ctx: Context) -> SignalResult | str:
    from sklearn.neighbors import NearestNeighbors

    y = ctx.enc.y
    scores, flagged, suggested = empty(ctx.n)
    zscore = np.zeros(ctx.n)
    for code in range(len(ctx.enc.classes)):
        rows = np.flatnonzero(y == code)
        if len(rows) <= K + 1:
            continue
        x = ctx.enc.distance[rows]
        dist, _ = NearestNeighbors(n_neighbors=K + 1).fit(x).kneighbors(x)
        d = dist[:, -1]
        med = float(np.median(d))
        mad = float(np.median(np.abs(d - med))) * 1.4826 or 1e-9
        zscore[rows] = (d - med) / mad
    scores = np.clip((zscore - Z_START) / (Z_FULL - Z_START), 0.0, 1.0)

    def describe(i: int) -> str:
        return f"far from the rest of its class (distance {zscore[i]:.1f} robust deviations above typical)"

    return SignalResult(scores, flagged, suggested, describe)


SIGNAL = Signal("class.outlier", "Outliers within their class", False, run)

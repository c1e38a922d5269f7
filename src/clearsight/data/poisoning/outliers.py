"""Outliers within their own class: far from every other row with the same label.

Context, not a verdict: real data has odd rows, but an odd row that another signal also suspects is worth
reviewing first. The distance to the k-th nearest row of the same class is compared with the class's own
spread (median and MAD), so a naturally spread-out class does not light up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty

K = 10
Z_START = 3.0
Z_FULL = 10.0


def class_distance_z(ctx: Context) -> NDArray[np.float64]:
    """Per row: distance to its K-th nearest row of the same class, in robust deviations of that class."""
    from sklearn.neighbors import NearestNeighbors

    y = ctx.enc.y
    zscore = np.zeros(ctx.n)
    dist_all, idx_all = ctx.neighbours()  # shared with the other signals: most rows find K of their class there
    same = y[idx_all] == y[:, None]
    enough = same.sum(axis=1) >= K
    kth = np.full(ctx.n, np.nan)
    hit = enough[:, None] & same & (np.cumsum(same, axis=1) == K)
    kth[enough] = dist_all[hit]
    for code in range(len(ctx.enc.classes)):
        rows = np.flatnonzero(y == code)
        if len(rows) <= K + 1:
            continue
        missing = rows[~enough[rows]]
        if len(missing):  # rows of a rare class among others: search their own class
            x = ctx.enc.distance[rows]
            dist, _ = NearestNeighbors(n_neighbors=K + 1).fit(x).kneighbors(ctx.enc.distance[missing])
            kth[missing] = dist[:, -1]
        d = kth[rows]
        med = float(np.median(d))
        mad = float(np.median(np.abs(d - med))) * 1.4826 or 1e-9
        zscore[rows] = (d - med) / mad
    return zscore


def run(ctx: Context) -> SignalResult | str:
    scores, flagged, suggested = empty(ctx.n)
    zscore = ctx.cached("class_distance_z", lambda: class_distance_z(ctx))
    scores = np.clip((zscore - Z_START) / (Z_FULL - Z_START), 0.0, 1.0)

    def describe(i: int) -> str:
        return f"far from the rest of its class (distance {zscore[i]:.1f} robust deviations above typical)"

    return SignalResult(scores, flagged, suggested, describe)


SIGNAL = Signal("class.outlier", "Outliers within their class", False, run)

"""Spectral signatures on representations (pixels, embeddings): poison inside a class pulls the class's
top singular direction towards itself (Tran et al., 2018), so its rows project far along it.

Only for dense data; context, not a verdict — it needs an assumed poison share to cut, and we do not guess.
"""

from __future__ import annotations

import numpy as np

from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty

Z_START = 3.0
Z_FULL = 8.0


def run(ctx: Context) -> SignalResult | str:
    if not ctx.enc.dense:
        return "for pixel or embedding data only"
    y = ctx.enc.y
    scores, flagged, suggested = empty(ctx.n)
    zscore = np.zeros(ctx.n)
    for code in range(len(ctx.enc.classes)):
        rows = np.flatnonzero(y == code)
        if len(rows) < 10:
            continue
        x = ctx.enc.distance[rows]
        centred = x - x.mean(axis=0)
        _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
        proj = (centred @ vt[0]) ** 2
        med = float(np.median(proj))
        mad = float(np.median(np.abs(proj - med))) * 1.4826 or 1e-9
        zscore[rows] = (proj - med) / mad
    scores = np.clip((zscore - Z_START) / (Z_FULL - Z_START), 0.0, 1.0)

    def describe(i: int) -> str:
        return f"lies far along its class's top spectral direction ({zscore[i]:.1f} robust deviations)"

    return SignalResult(scores, flagged, suggested, describe)


SIGNAL = Signal("spectral.signature", "Spectral signature on representations", False, run)

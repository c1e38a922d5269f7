"""Targeted flips: rows of the common class sitting inside a region another class owns.

Flips aimed at one kind of fraud sit together, so their nearest neighbours are each other and every
row-by-row check (including confident learning) sees a consistent neighbourhood. Looking past the first
neighbours — rings at increasing rank — finds the rest of the region, still labelled the other way. Rows
whose rings hold far more of another class than the class balance explains are seeds; the group then grows
through neighbours with the same label whose own neighbourhoods are made of the other class or of seeds.
Only classes holding most of the data can be checked this way: in a balanced set every class is "rare".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from clearsight.data.poisoning.interface import Context, Signal, SignalResult, empty
from clearsight.data.poisoning.outliers import class_distance_z

RINGS = ((0, 10), (10, 30), (30, 60), (60, 100), (100, 150))
SEED_SHARE = 0.5
WEAK_SEED_SHARE = 0.3
ODD_Z = 6.0
LIFT = 5.0
GROW_NEIGHBOURS = 10
GROW_SHARE = 0.6
GROW_FLOOR = 0.1
MAJORITY = 0.8


def run(ctx: Context) -> SignalResult | str:
    prior = ctx.enc.prior()
    if prior.max() < MAJORITY:
        return f"no class holds {MAJORITY:.0%} of the rows, so no class is common enough to hide flips in"
    y = ctx.enc.y
    _dist, idx = ctx.neighbours()
    labels = y[idx]
    differs = labels != y[:, None]
    best = np.zeros(ctx.n)
    for lo, hi in RINGS:
        if lo >= idx.shape[1]:
            break
        best = np.maximum(best, differs[:, lo:hi].mean(axis=1))
    expected_other = 1.0 - prior[y]
    # a seed is clearly inside the other class's region, or less clearly but also far from its own class
    # (flips that outnumber what is left of their kind of fraud still sit far from every real legitimate row)
    odd = ctx.cached("class_distance_z", lambda: class_distance_z(ctx)) >= ODD_Z
    flagged = ((best >= SEED_SHARE) | ((best >= WEAK_SEED_SHARE) & odd)) & (best >= LIFT * expected_other)
    near = idx[:, :GROW_NEIGHBOURS]
    same = labels[:, :GROW_NEIGHBOURS] == y[:, None]
    for _ in range(20):
        seeded = (flagged[near] & same).any(axis=1)
        bad = (~same | (flagged[near] & same)).mean(axis=1)
        grown = flagged | (seeded & (bad >= GROW_SHARE) & (best >= GROW_FLOOR))
        if (grown == flagged).all():
            break
        flagged = grown
    scores, _, suggested = empty(ctx.n)
    scores = np.where(flagged, np.clip(0.5 + best, 0.0, 1.0), np.clip(best - expected_other, 0.0, 1.0) * 0.5)
    other_label = _majority_other(labels, y)
    suggested = np.where(flagged, other_label, -1)
    sizes = _group_sizes(flagged, near)

    def describe(i: int) -> str:
        group = f"; one of {sizes[i]} rows with this label clustered there" if flagged[i] and sizes[i] > 1 else ""
        return (f"labelled {ctx.label(int(y[i]))!r} in a region where up to {best[i]:.0%} of its nearer "
                f"neighbours are labelled {ctx.label(int(other_label[i]))!r} (class share "
                f"{expected_other[i]:.1%}){group}")

    return SignalResult(scores, flagged, suggested, describe)


def _majority_other(labels: NDArray[np.int64], y: NDArray[np.int64]) -> NDArray[np.int64]:
    """The most common other label among each row's neighbours (-1 when all share the row's label)."""
    n, k = labels.shape
    counts = np.zeros((n, int(max(labels.max(), y.max())) + 1), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), k), labels.ravel()), 1)
    counts[np.arange(n), y] = 0
    return np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), -1)


def _group_sizes(flagged: NDArray[np.bool_], near: NDArray[np.int64]) -> NDArray[np.int64]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = np.flatnonzero(flagged)
    sizes = np.zeros(len(flagged), dtype=np.int64)
    if not len(rows):
        return sizes
    position = {int(r): k for k, r in enumerate(rows)}
    src, dst = [], []
    for k, r in enumerate(rows):
        for j in near[r]:
            if flagged[j]:
                src.append(k)
                dst.append(position[int(j)])
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(len(rows), len(rows)))
    _count, component = connected_components(graph, directed=False)
    counts = np.bincount(component)
    sizes[rows] = counts[component]
    return sizes


SIGNAL = Signal("region.targeted", "Flips concentrated in one region and one direction", True, run)

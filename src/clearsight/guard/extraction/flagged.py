"""Flagged share: extraction needs both classes, natural traffic to a rare-event model has few positives.

A fraud model sees perhaps one flagged payment in fifty. A surrogate trained on such traffic learns the
flagged class slowly, so an attacker who wants a faithful copy quickly has to balance the classes: seed
sets with as many frauds as legit payments (Papernot et al. start from a few examples *per class*),
queries crafted to land on the positive side, or its own fraud cases replayed. The share of answers at or
above the decision threshold then runs at 20-50 %, where the riskiest partner bank in the fraud example
stays below about 8 %.

``flagged_rate`` is the highest share natural clients are expected to reach; the rate test of
:mod:`~clearsight.guard.extraction.rates` fires when a client's share is implausible under it. The
default assumes a rare-event model like the example's; for a model whose classes are naturally balanced,
set the rate accordingly or leave ``flagged`` out of ``signals``.
"""

from __future__ import annotations


def is_flagged(output: float, threshold: float) -> bool:
    return output >= threshold

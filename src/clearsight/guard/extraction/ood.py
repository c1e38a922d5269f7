"""Out-of-distribution share: extraction queries that natural traffic would never send.

Data-free extraction (uniform random queries, Tramèr et al.; synthetic augmentation, Papernot et al.)
explores parts of the input space no real payment occupies: amounts of €9,000 at a bakery at 4 a.m.,
24-hour velocity below the 1-hour one, half-set flags. Each such query is cheap for the attacker and
teaches the surrogate about the boundary, but it is also the most visible thing an extraction client does.
PRADA looks at how queries are spaced, not where they are, so random queries spread evenly over a box can
pass it; this signal looks at where they are.

A query is odd when (see :class:`~clearsight.guard.extraction.reference.Reference`) a categorical value
never occurs in the reference, a feature that is always whole holds a fraction, or its nearest reference
row is farther than ``ood_quantile`` of reference rows are from theirs. Natural clients therefore show
about ``1 - ood_quantile`` odd queries, a bit more when their customer mix differs from the reference;
``ood_rate`` is the highest share natural clients are expected to reach, and the rate test of
:mod:`~clearsight.guard.extraction.rates` fires when a client's share is implausible under it.

Natural-data attackers (who query with real-looking payments) are invisible to this signal by design.
"""

from __future__ import annotations

import numpy as np

from clearsight.guard.extraction._types import FloatArray
from clearsight.guard.extraction.reference import Reference, Workspace


def is_out_of_distribution(reference: Reference, x: FloatArray, t: FloatArray) -> bool:
    """True when the raw query ``x`` (``t`` once transformed) lies outside what the reference shows."""
    if not reference.has_sample:
        return False
    for values, j in zip(reference.categories, reference.categorical, strict=True):
        if float(x[j]) not in values:
            return True
    whole = reference.whole_index
    if whole.size and not np.array_equal(x[whole], np.round(x[whole])):
        return True
    return reference.nearest_sample_sq(t) > reference.ood_cut


def is_out_of_distribution_fast(reference: Reference, values: list[float], work: Workspace) -> bool:
    """``is_out_of_distribution`` for the monitor's hot path: ``values`` is ``x.tolist()``, ``work`` holds ``t``.

    On a handful of Python floats, set membership and ``float.is_integer`` cost less than NumPy's fancy
    indexing and rounding, and mean the same for finite values (the monitor rejects the others); the distance
    test is :meth:`Reference.exceeds_ood_cut`, which decides as ``nearest_sample_sq`` does.
    """
    if not reference.has_sample:
        return False
    for j, seen in reference.code_checks:
        if values[j] not in seen:
            return True
    for j in reference.whole:
        if not values[j].is_integer():
            return True
    return reference.exceeds_ood_cut(work)

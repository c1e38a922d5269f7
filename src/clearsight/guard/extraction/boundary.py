"""Boundary share: answers that sit near the decision threshold, far more often than natural traffic.

What an extraction attacker needs to learn is where the decision flips. Boundary probing (bisection
between a flagged and a cleared payment, HopSkipJump-style walks) and the later rounds of Jacobian
augmentation concentrate queries right there, while natural payments mostly score far from it: in the
fraud example about 1 % of natural answers fall within one logit of the 0.3 threshold. The signal needs
the model's answer, so it sees what PRADA cannot: queries that are natural-looking and well spaced, but
chosen because they are borderline.

Measured on the logit scale, so "near" means the same for a threshold of 0.5 and one of 0.05: an answer
p is near when |logit(p) - logit(threshold)| <= ``boundary_margin``. ``boundary_rate`` is the highest
share natural clients are expected to reach (clients with much fraud have more borderline payments); the
rate test of :mod:`~clearsight.guard.extraction.rates` fires when a client's share is implausible under it.
"""

from __future__ import annotations

import math

_EDGE = 1e-12


def logit(p: float) -> float:
    """log(p / (1 - p)), with p kept off 0 and 1 so certain answers stay finite."""
    q = min(max(p, _EDGE), 1.0 - _EDGE)
    return math.log(q / (1.0 - q))


def near_boundary(output: float, threshold_logit: float, margin: float) -> bool:
    return abs(logit(output) - threshold_logit) <= margin

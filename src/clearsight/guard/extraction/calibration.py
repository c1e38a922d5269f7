"""Learning the reference from live traffic when the policy gives none.

Without a sample of natural queries the monitor cannot know feature scales or what natural data looks
like, so it takes the first ``size`` queries it sees, across all clients, as that sample, and the
distance-based detectors start once it is complete. The danger is an attacker who shows up early and
shapes the reference; so no client may contribute more than ``share`` of it, which also means the sample
completes only once at least ``1 / share`` clients have sent traffic. A reference taken from the model's
training data (``ExtractionSettings.reference``) avoids both the delay and the exposure.
"""

from __future__ import annotations

import math

import numpy as np

from clearsight.guard.extraction._types import FloatArray


class Calibration:
    """The first traffic, at most ``share`` of it from any one client."""

    def __init__(self, size: int, share: float) -> None:
        self.size = size
        self.per_client = max(1, math.floor(size * share))
        self._rows: list[FloatArray] = []
        self._taken: dict[str, int] = {}  # never more than ``size`` entries: each holds at least one row

    @property
    def collected(self) -> int:
        return len(self._rows)

    def offer(self, client: str, x: FloatArray) -> FloatArray | None:
        """Take ``x`` if this client still may contribute; the complete sample once it is full."""
        taken = self._taken.get(client, 0)
        if taken < self.per_client and len(self._rows) < self.size:
            self._taken[client] = taken + 1
            self._rows.append(x.copy())
        if len(self._rows) < self.size:
            return None
        return np.vstack(self._rows)

"""Every poisoning signal, in the order they are reported; adding one means one line here."""

from __future__ import annotations

from clearsight.data.poisoning import confident, duplicates, outliers, region, spectral, trigger
from clearsight.data.poisoning.interface import Signal

SIGNALS: tuple[Signal, ...] = (
    confident.SIGNAL,
    region.SIGNAL,
    trigger.SIGNAL,
    duplicates.SIGNAL,
    outliers.SIGNAL,
    spectral.SIGNAL,
)


def by_id(ids: list[str] | None) -> tuple[Signal, ...]:
    if not ids:
        return SIGNALS
    known = {s.id: s for s in SIGNALS}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    return tuple(known[i] for i in ids)

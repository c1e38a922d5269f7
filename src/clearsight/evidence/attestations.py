"""Attestations in the inventory become Evidence, so the gap step has one kind of input to read."""

from __future__ import annotations

from collections.abc import Sequence

from clearsight.core.evidence import Evidence
from clearsight.core.system import AISystem

COLLECTOR_ID = "inventory.attestations"


def collect_attestations(systems: Sequence[AISystem]) -> list[Evidence]:
    out: list[Evidence] = []
    for system in systems:
        for att in system.attestations:
            summary = att.note or ""
            if att.evidence:
                summary = (summary + " " if summary else "") + f"[proof: {att.evidence}]"
            out.append(Evidence(
                id=f"EV:attestation:{system.id}:{att.control}",
                kind="attestation",
                source=f"attestation in {att.location.path if att.location else 'the inventory'}",
                system=system.id,
                claims={att.control: att.status},
                location=att.location,
                summary=summary,
            ))
    return out

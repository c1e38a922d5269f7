"""The registry of evidence collectors; adding a collector means one entry here.

A collector gets the assessment root and the declared systems and returns Evidence. Collectors never
raise for bad content they find: they report it as Evidence or skip it, so one odd file never stops an
assessment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clearsight.core.evidence import Evidence
from clearsight.core.system import AISystem
from clearsight.evidence.attestations import COLLECTOR_ID as ATTESTATIONS
from clearsight.evidence.attestations import collect_attestations
from clearsight.evidence.guard import COLLECTOR_ID as GUARD_POLICY
from clearsight.evidence.guard import collect_guard_policies
from clearsight.evidence.model_scan import COLLECTOR_ID as MODEL_SCAN
from clearsight.evidence.model_scan import collect_model_scans
from clearsight.evidence.recorded import collect_recorded


@dataclass(frozen=True)
class Collector:
    id: str
    description: str
    collect: Callable[[Path, Sequence[AISystem]], list[Evidence]]


COLLECTORS: tuple[Collector, ...] = (
    Collector(
        id=ATTESTATIONS,
        description="controls the inventory attests as implemented, partial, missing or not applicable",
        collect=lambda _root, systems: collect_attestations(systems),
    ),
    Collector(
        id="recorded",
        description="evidence Clearsight's own commands recorded in .clearsight/evidence (e.g. model verify)",
        collect=collect_recorded,
    ),
    Collector(
        id=MODEL_SCAN,
        description="model files under each system's root, scanned without loading them",
        collect=collect_model_scans,
    ),
    Collector(
        id=GUARD_POLICY,
        description="guard.yaml policies under each system's folders (rate limits, extraction detection, audit)",
        collect=collect_guard_policies,
    ),
)


def collect_evidence(root: Path, systems: Sequence[AISystem]) -> list[Evidence]:
    return [item for collector in COLLECTORS for item in collector.collect(root, systems)]

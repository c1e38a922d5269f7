"""CRISP-ML(Q) phases: the lifecycle axis of the control catalogue and of ATLAS mitigations."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class CrispTask(Frozen):
    id: str
    name: str


class CrispPhase(Frozen):
    id: str = Field(pattern=r"^P[1-6]$")
    name: str
    atlas_lifecycle_value: str = Field(description="The phase's name as ATLAS mitigations spell it.")
    summary: str
    tasks: list[CrispTask]


class CrispMlQ(Frozen):
    meta: CatalogueMeta
    phases: list[CrispPhase]

    def phase(self, phase_id: str) -> CrispPhase:
        return next(p for p in self.phases if p.id == phase_id)


@cache
def load_crisp_ml_q() -> CrispMlQ:
    return CrispMlQ.model_validate(read_package_data("crisp_ml_q.yaml"))

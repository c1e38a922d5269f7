"""ISO/IEC 42001:2023 Annex A: control IDs and short titles only (the standard's text is ISO's)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class IsoControl(Frozen):
    id: str = Field(pattern=r"^A\.\d+\.\d+(\.\d+)?$")
    title: str


class IsoArea(Frozen):
    id: str = Field(pattern=r"^A\.\d+$")
    title: str
    controls: list[IsoControl]


class Iso42001(Frozen):
    meta: CatalogueMeta
    areas: list[IsoArea]

    def control_ids(self) -> set[str]:
        return {c.id for a in self.areas for c in a.controls}


@cache
def load_iso_42001() -> Iso42001:
    return Iso42001.model_validate(read_package_data("iso_42001.yaml"))

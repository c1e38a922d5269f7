"""The control catalogue: the heart of step 3, mapping each control to every framework we ship."""

from __future__ import annotations

from functools import cache

from pydantic import model_validator

from clearsight.core.base import Frozen
from clearsight.core.control import Control
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class ControlCatalogue(Frozen):
    meta: CatalogueMeta
    controls: list[Control]

    @model_validator(mode="after")
    def _consistent(self) -> ControlCatalogue:
        ids = [c.id for c in self.controls]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate control IDs: {sorted(dupes)}")
        known = set(ids)
        for control in self.controls:
            missing = [d for d in control.depends_on if d not in known]
            if missing:
                raise ValueError(f"{control.id} depends on unknown controls {missing}")
        return self

    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}


@cache
def load_controls() -> ControlCatalogue:
    return ControlCatalogue.model_validate(read_package_data("controls.yaml"))

"""NIST AI RMF 1.0 core: 4 functions, 19 categories, 72 subcategories (IDs are NIST's, summaries ours)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class Subcategory(Frozen):
    id: str = Field(pattern=r"^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$")
    summary: str


class Category(Frozen):
    id: str = Field(pattern=r"^(GOVERN|MAP|MEASURE|MANAGE) \d+$")
    summary: str
    subcategories: list[Subcategory]


class Function(Frozen):
    id: str
    abbrev: str
    summary: str
    categories: list[Category]


class NistAiRmf(Frozen):
    meta: CatalogueMeta
    functions: list[Function]

    def subcategory_ids(self) -> set[str]:
        return {s.id for f in self.functions for c in f.categories for s in c.subcategories}

    def function_of(self, subcategory_id: str) -> str:
        """GOVERN/MAP/MEASURE/MANAGE for an ID such as ``MEASURE 2.7``."""
        return subcategory_id.split(" ", 1)[0]


@cache
def load_nist_ai_rmf() -> NistAiRmf:
    return NistAiRmf.model_validate(read_package_data("nist_ai_rmf.yaml"))

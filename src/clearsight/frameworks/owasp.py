"""OWASP Top 10 for LLM Applications 2025 and the Machine Learning Security Top 10 (2023 draft)."""

from __future__ import annotations

from functools import cache

from clearsight.core.base import Frozen
from clearsight.frameworks.catalogue import CatalogueMeta, read_package_data


class OwaspItem(Frozen):
    id: str
    title: str
    summary: str
    url: str


class OwaspList(Frozen):
    meta: CatalogueMeta
    items: list[OwaspItem]


class OwaspCatalogue(Frozen):
    llm_top10: OwaspList
    ml_top10: OwaspList

    def ids(self) -> set[str]:
        return {i.id for i in self.llm_top10.items} | {i.id for i in self.ml_top10.items}


@cache
def load_owasp() -> OwaspCatalogue:
    return OwaspCatalogue.model_validate(read_package_data("owasp.yaml"))

"""The built-in NIST AI RMF catalogue matches the published Core and is written in our own words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from own_words import norm, shared_runs, words

from clearsight.frameworks.nist_ai_rmf import NistAiRmf, load_nist_ai_rmf


@pytest.fixture(scope="module")
def nist() -> NistAiRmf:
    return load_nist_ai_rmf()


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "nist-ai-rmf" / "nist-ai-rmf-core.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def test_counts(nist: NistAiRmf) -> None:
    categories = [c for f in nist.functions for c in f.categories]
    subcategories = [s for c in categories for s in c.subcategories]
    assert len(nist.functions) == 4
    assert len(categories) == 19
    assert len(subcategories) == 72
    assert len(nist.subcategory_ids()) == 72
    per_function = {f.id: sum(len(c.subcategories) for c in f.categories) for f in nist.functions}
    assert per_function == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}


def test_functions_and_abbreviations(nist: NistAiRmf, ref: dict[str, Any]) -> None:
    assert [(f.id, f.abbrev) for f in nist.functions] == [
        ("GOVERN", "GV"), ("MAP", "MP"), ("MEASURE", "MS"), ("MANAGE", "MG"),
    ]
    assert [(f["id"], f["abbrev"]) for f in ref["functions"]] == [(f.id, f.abbrev) for f in nist.functions]


def test_structure_matches_reference(nist: NistAiRmf, ref: dict[str, Any]) -> None:
    ours = {c.id: [s.id for s in c.subcategories] for f in nist.functions for c in f.categories}
    theirs = {
        c["id"]: [s["id"] for s in c["subcategories"]] for f in ref["functions"] for c in f["categories"]
    }
    assert ours == theirs
    for function in nist.functions:
        for category in function.categories:
            assert category.id.split(" ")[0] == function.id
            for sub in category.subcategories:
                assert sub.id.startswith(category.id + ".")
                assert nist.function_of(sub.id) == function.id


def test_meta(nist: NistAiRmf, ref: dict[str, Any]) -> None:
    meta = nist.meta
    assert meta.source == ref["meta"]["doi"] == "https://doi.org/10.6028/NIST.AI.100-1"
    assert meta.version == "1.0"
    assert meta.effective_date == dt.date.fromisoformat(str(ref["meta"]["published"])) == dt.date(2023, 1, 26)
    assert meta.reviewed_on == dt.date(2026, 11, 26)
    assert meta.as_version().id == meta.id


def test_summaries_are_short_and_own_words(nist: NistAiRmf, ref: dict[str, Any]) -> None:
    outcomes = {
        item["id"]: item["outcome"]
        for f in ref["functions"]
        for c in f["categories"]
        for item in [c, *c["subcategories"]]
    }
    function_summaries = {f["id"]: f["summary"] for f in ref["functions"]}
    for function in nist.functions:
        assert norm(function.summary) != norm(function_summaries[function.id])
        for category in function.categories:
            pairs = [(category.id, category.summary), *((s.id, s.summary) for s in category.subcategories)]
            for item_id, summary in pairs:
                assert summary.strip(), item_id
                assert len(words(summary)) <= 20, f"{item_id} summary too long"
                assert norm(summary) != norm(outcomes[item_id]), f"{item_id} copies the NIST statement"
                assert not shared_runs(summary, outcomes[item_id]), f"{item_id} reuses NIST wording"


def test_summaries_are_unique(nist: NistAiRmf) -> None:
    summaries = [s.summary for f in nist.functions for c in f.categories for s in c.subcategories]
    assert len(set(map(norm, summaries))) == len(summaries)

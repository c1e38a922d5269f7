"""The built-in OWASP lists match the reference IDs and titles, with our own summaries and sound links."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from own_words import norm, shared_runs, words

from clearsight.frameworks.owasp import OwaspCatalogue, load_owasp


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def owasp() -> OwaspCatalogue:
    return load_owasp()


@pytest.fixture(scope="module")
def ref_llm(reference_dir: Path) -> dict[str, Any]:
    return _load(reference_dir / "owasp-llm-top10-2025" / "owasp-llm-top10-2025.yaml")


@pytest.fixture(scope="module")
def ref_ml(reference_dir: Path) -> dict[str, Any]:
    return _load(reference_dir / "owasp-ml-top10-2023" / "owasp-ml-top10-2023.yaml")


def test_counts(owasp: OwaspCatalogue) -> None:
    assert len(owasp.llm_top10.items) == 10
    assert len(owasp.ml_top10.items) == 10
    assert len(owasp.ids()) == 20


def test_llm_ids_and_titles(owasp: OwaspCatalogue, ref_llm: dict[str, Any]) -> None:
    assert [i.id for i in owasp.llm_top10.items] == [f"LLM{n:02d}:2025" for n in range(1, 11)]
    theirs = [(r["id"], r["title"]) for r in ref_llm["items"]]
    assert [(i.id, i.title) for i in owasp.llm_top10.items] == theirs


def test_ml_ids_and_titles(owasp: OwaspCatalogue, ref_ml: dict[str, Any]) -> None:
    assert [i.id for i in owasp.ml_top10.items] == [f"ML{n:02d}:2023" for n in range(1, 11)]
    theirs = [(r["id"], r["title"]) for r in ref_ml["items"]]
    assert [(i.id, i.title) for i in owasp.ml_top10.items] == theirs


def test_llm_urls(owasp: OwaspCatalogue) -> None:
    for item in owasp.llm_top10.items:
        number = item.id[3:5]
        slug = re.sub(r"[^a-z0-9]+", "-", item.title.lower()).strip("-")
        assert item.url.startswith("https://genai.owasp.org/llmrisk/llm"), item.url
        assert item.url in (
            f"https://genai.owasp.org/llmrisk/llm{number}-{slug}/",
            f"https://genai.owasp.org/llmrisk/llm{number}2025-{slug}/",
        ), item.url


def test_ml_urls(owasp: OwaspCatalogue) -> None:
    base = "https://owasp.org/www-project-machine-learning-security-top-10/docs/"
    for item in owasp.ml_top10.items:
        page = item.id.replace(":", "_") + "-" + item.title.replace(" ", "_")
        assert item.url == base + page


def test_meta(owasp: OwaspCatalogue, ref_llm: dict[str, Any]) -> None:
    llm, ml = owasp.llm_top10.meta, owasp.ml_top10.meta
    assert llm.effective_date == dt.date.fromisoformat(str(ref_llm["meta"]["released"]))
    assert "CC BY-SA 4.0" in llm.licence and "CC BY-SA 4.0" in ml.licence
    assert "draft" in ml.version.lower()
    assert llm.id != ml.id


def test_summaries_are_own_words(
    owasp: OwaspCatalogue, ref_llm: dict[str, Any], ref_ml: dict[str, Any], reference_dir: Path
) -> None:
    ref_summaries = {r["id"]: r["summary"] for r in [*ref_llm["items"], *ref_ml["items"]]}
    entries = reference_dir / "owasp-llm-top10-2025" / "entries"
    entry_text = {
        r["id"]: (entries / Path(r["source_file"]).name).read_text(encoding="utf-8") for r in ref_llm["items"]
    }
    for item in [*owasp.llm_top10.items, *owasp.ml_top10.items]:
        assert item.summary.strip(), item.id
        assert len(words(item.summary)) <= 25, f"{item.id} summary too long"
        assert norm(item.summary) != norm(ref_summaries[item.id]), f"{item.id} copies the reference summary"
        assert not shared_runs(item.summary, ref_summaries[item.id]), f"{item.id} reuses reference wording"
        if item.id in entry_text:
            assert not shared_runs(item.summary, entry_text[item.id]), f"{item.id} reuses OWASP entry text"

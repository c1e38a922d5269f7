"""Small wording helpers shared by the text-based reports, so every format names things alike."""

from __future__ import annotations

from clearsight.core.assessment import CatalogueVersion
from clearsight.core.plan import PhaseNumber

PHASE_NAMES: dict[int, str] = {1: "Phase 1 - Critical (months 1-2)", 2: "Phase 2 - High (months 3-4)",
                               3: "Phase 3 - Medium (months 5-6)"}
LEGAL_NAMES = {
    "prohibited": "Prohibited (Art. 5)", "high-risk": "High-risk", "limited": "Transparency duties (Art. 50)",
    "minimal": "Minimal risk", "out-of-scope": "Out of scope",
}


def phase_label(phase: PhaseNumber | None) -> str:
    return PHASE_NAMES[phase] if phase else "Backlog"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def catalogue_label(catalogue: CatalogueVersion) -> str:
    """"Title version", without repeating a version the title already carries."""
    if catalogue.version in catalogue.title:
        return catalogue.title
    return f"{catalogue.title} {catalogue.version}"

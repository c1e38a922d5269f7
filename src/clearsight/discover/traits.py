"""What discovery can honestly say about an undeclared system's traits, from the components it found.

Only what the code shows is set; everything else keeps the conservative default, and the system's
description says the traits were inferred, so the report never passes a guess off as a declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from clearsight.core.discovery import DiscoveredComponent
from clearsight.core.system import ModelKind, PersonalData, SystemTraits

_PERSONAL = frozenset(get_args(PersonalData))
_PERSONAL_HINTS: tuple[tuple[tuple[str, ...], PersonalData], ...] = (
    (("health", "diagnos", "medical"), "health"),
    (("biometric", "face", "fingerprint"), "biometric"),
    (("iban", "card", "financial", "salary", "account", "income", "credit"), "financial"),
    (("email", "phone", "address", "contact", "postcode", "zip"), "contact"),
    (("birth", "dob", "national", "ssn", "passport", "identif", "tax"), "identifiers"),
    (("location", "gps", "geo"), "location"),
    (("child", "minor"), "children"),
)
_DEEP = frozenset({"pytorch", "tensorflow", "keras", "jax", "transformers", "sentence-transformers", "peft"})


def personal_category(name: str) -> PersonalData:
    lowered = name.lower()
    if lowered in _PERSONAL:
        return lowered  # type: ignore[return-value]
    for hints, category in _PERSONAL_HINTS:
        if any(h in lowered for h in hints):
            return category
    return "identifiers"


def infer_traits(components: Sequence[DiscoveredComponent]) -> SystemTraits:
    kinds = {c.kind for c in components}
    names = {c.name for c in components if c.kind in ("sdk", "agent_framework", "serving")}
    hosted = "provider" in kinds
    model_kind: ModelKind = "llm" if hosted or "agent_framework" in kinds else (
        "deep-learning" if names & _DEEP else "classical-ml")
    personal = sorted({personal_category(c.name) for c in components if c.kind == "personal_data"})
    return SystemTraits(
        model_kind=model_kind,
        model_origin="third-party-api" if hosted else "in-house",
        inference_api="serving" in kinds,
        outputs="text" if model_kind == "llm" else "label",
        personal_data=personal,
        production_data="read" if "data_store" in kinds else "none",
        rag="vector_store" in kinds,
        agent="mcp_server" in kinds,
        interacts_with_people=model_kind == "llm",
        generates_content=model_kind == "llm",
    )

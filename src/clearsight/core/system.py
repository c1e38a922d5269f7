"""What an organisation runs: AI systems, their components and the traits the assessment reasons about.

Traits are a closed vocabulary on purpose: an unknown value is an input error, never silently ignored,
because every rule downstream (legal class, threats, required controls) keys on these words.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen, SourceLocation
from clearsight.core.ids import SYSTEM_ID_PATTERN

ModelKind = Literal["classical-ml", "deep-learning", "llm", "generative-media", "rules"]
Exposure = Literal["none", "internal", "partner", "public"]
OutputKind = Literal["label", "score", "scores", "ranking", "text", "media", "action"]
ModelOrigin = Literal["in-house", "open-pretrained", "fine-tuned-open", "third-party-api", "vendor-product"]
DataSource = Literal[
    "internal", "customer", "outcome-feedback", "user-feedback", "third-party", "public-web", "synthetic"
]
Retraining = Literal["none", "periodic", "continuous"]
PersonalData = Literal[
    "contact", "identifiers", "financial", "behavioural", "location", "health", "biometric",
    "special-category", "children", "employee",
]
ProductionAccess = Literal["none", "read", "write"]
DecisionRole = Literal["none", "advisory", "human-in-the-loop", "automated"]
Affected = Literal["none", "internal-staff", "customers", "public", "partners"]
Criticality = Literal["low", "medium", "high", "critical"]
Scale = Literal["small", "medium", "large", "very-large"]
Role = Literal["provider", "deployer", "both"]
GpaiStatus = Literal["none", "gpai-model", "gpai-systemic"]
Derogation = Literal["D-a", "D-b", "D-c", "D-d"]
ComponentKind = Literal[
    "provider", "sdk", "model", "model_file", "dataset", "vector_store", "serving", "agent_framework",
    "mcp_server", "data_store", "personal_data", "secret_ref", "pipeline", "service",
]
Incentive = Literal["low", "medium", "high"]
AttestedStatus = Literal["implemented", "partial", "missing", "not-applicable"]


class SystemTraits(Frozen):
    """The facts about a system that decide its legal class, its threats and the controls it needs."""

    purposes: list[str] = Field(
        default_factory=list,
        description="Use-case IDs from the EU AI Act catalogue's vocabulary (`clearsight catalogue use-cases`).",
    )
    model_kind: ModelKind = "classical-ml"
    exposure: Exposure = Field("internal", description="Who can send inputs to the model.")
    inference_api: bool = Field(False, description="The model answers queries over a network API.")
    outputs: OutputKind = "label"
    model_origin: ModelOrigin = "in-house"
    training_data: list[DataSource] = Field(default_factory=list)
    retraining: Retraining = "none"
    personal_data: list[PersonalData] = Field(default_factory=list)
    production_data: ProductionAccess = Field("none", description="Access to production databases.")
    rag: bool = False
    agent: bool = Field(False, description="The model decides and calls tools or other systems on its own.")
    interacts_with_people: bool = Field(False, description="People talk to it directly (chat, voice).")
    generates_content: bool = Field(False, description="It produces text, images, audio or video.")
    decision_role: DecisionRole = "advisory"
    affected: list[Affected] = Field(default_factory=list)
    scale: Scale = "medium"
    business_criticality: Criticality = "medium"
    regulated_sector: bool = False
    eu_market: bool = Field(True, description="Placed on the EU market or its output is used in the EU.")
    role: Role = "provider"
    annex_i_product: bool = Field(
        False, description="Safety component of, or itself, a product under EU harmonisation law (Annex I)."
    )
    third_party_conformity: bool = Field(
        False, description="That product needs a third-party conformity assessment."
    )
    profiling: bool = Field(False, description="It profiles natural persons (overrides Art. 6(3)).")
    derogation: Derogation | None = Field(
        None, description="A documented Art. 6(3) condition that takes an Annex III use out of high-risk."
    )
    gpai: GpaiStatus = "none"
    adversarial_incentive: Incentive | None = Field(
        None,
        description="How much attackers gain from fooling or stealing the model; default: from the purposes.",
    )


class Component(Frozen):
    """A part of an AI system: a model, a data set, a provider SDK, a serving stack."""

    kind: ComponentKind
    name: str
    version: str | None = None
    location: SourceLocation | None = None
    detail: str | None = None


class Attestation(Frozen):
    """A person's statement that a control is (or is not) in place, with a pointer to proof."""

    control: str
    status: AttestedStatus
    note: str | None = None
    evidence: str | None = Field(None, description="Link or path to the proof.")
    location: SourceLocation | None = None


class SystemDeclaration(Frozen):
    """One AI system as a person writes it in ``clearsight.yaml``."""

    id: str = Field(pattern=SYSTEM_ID_PATTERN)
    name: str
    description: str = ""
    owner: str | None = None
    root: str | None = Field(None, description="Folder of the system's code, relative to the inventory.")
    paths: list[str] = Field(
        default_factory=list,
        description="Further folders that belong to the system (discovery counts what is found there as declared).",
    )
    traits: SystemTraits = Field(default_factory=SystemTraits)
    components: list[Component] = Field(default_factory=list)
    attestations: list[Attestation] = Field(default_factory=list)


class AISystem(SystemDeclaration):
    """A system in an assessment: a declaration plus where it came from.

    ``declared`` is False for shadow AI: systems discovery found that nobody put in the inventory.
    """

    declared: bool = True
    location: SourceLocation | None = None

"""What discovery found: components with every place they were seen, grouped into systems.

A discovered system nobody declared in the inventory is shadow AI.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen, SourceLocation
from clearsight.core.system import ComponentKind

Confidence = Literal["high", "medium", "low"]


class DiscoveredComponent(Frozen):
    kind: ComponentKind
    name: str
    version: str | None = None
    locations: list[SourceLocation]
    evidence: str
    confidence: Confidence
    detectors: list[str]


class DataUse(Frozen):
    """A path written in a system's files that leads into a folder without AI but with data findings."""

    folder: str = Field(description="The folder whose data is used, relative to the scanned root.")
    reference: str = Field(description="The path as written.")
    location: SourceLocation


class DiscoveredSystem(Frozen):
    id: str
    name: str
    root: str = Field(description="The deployable unit's folder, relative to the scanned root.")
    declared: bool
    declared_as: str | None = Field(None, description="ID of the inventory system that claims this unit.")
    components: list[DiscoveredComponent]
    reads: list[DataUse] = Field(
        default_factory=list,
        description="Folders without AI whose data this system uses; their personal data and data stores are "
                    "among this system's components.")


class SkippedFile(Frozen):
    path: str
    reason: str


class DiscoveryReport(Frozen):
    roots: list[str]
    systems: list[DiscoveredSystem]
    components: list[DiscoveredComponent]
    skipped: list[SkippedFile] = Field(default_factory=list)
    files_read: int

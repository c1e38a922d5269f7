"""What ``clearsight data check`` found: suspicious rows with reasons, the baseline diff, validation results.

Pure values (no NumPy) so the report renderers, the evidence recorder and the JSON schema share one shape.
Row positions are 0-based positions in the data as read; ``id`` is the value of the ``--id`` column when
there is one, because a reviewer looks rows up by ID, not by position.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.severity import Severity

LabelValue = str | int | float | bool


class RowReason(Frozen):
    """One signal's case against one row."""

    signal: str = Field(description="Signal ID, e.g. `label.confident`, `region.targeted`, `trigger.feature`.")
    score: float = Field(ge=0.0, le=1.0)
    message: str


class SuspiciousRow(Frozen):
    row: int = Field(ge=0)
    id: str | None = None
    label: LabelValue
    suggested_label: LabelValue | None = Field(default=None, description="The label the evidence points to.")
    score: float = Field(ge=0.0, le=1.0, description="Combined suspicion, 1 - prod(1 - s) over the signals.")
    flagged: bool = Field(description="True when at least one signal is decisive on its own; false rows are context.")
    reasons: list[RowReason]


class SignalSummary(Frozen):
    id: str
    title: str
    ran: bool
    flagged: int = 0
    note: str = ""


class TriggerPattern(Frozen):
    """A rare value (or values on the same rows) that decides a label the rest of the row contradicts."""

    conditions: dict[str, str]
    rows: int
    label: LabelValue
    purity: float
    contradicted: float = Field(description="Share of its rows whose other features point to another label.")
    kind: Literal["dirty-label", "clean-label"]


class RemovalEffect(Frozen):
    """Retrain without the flagged rows and compare, so a reviewer sees what removing them would change."""

    model: str
    metric: str
    before: float
    after: float
    removed: int
    trigger: str | None = Field(default=None, description="The trigger pattern whose success rate is measured.")
    attack_success_before: float | None = None
    attack_success_after: float | None = None
    note: str = ""


class LabelFlip(Frozen):
    id: str
    before: LabelValue
    after: LabelValue


class FeatureShift(Frozen):
    column: str
    statistic: str
    value: float
    p_value: float | None = None
    within_label: LabelValue | None = None
    shifted: bool


class BaselineDiff(Frozen):
    baseline: str
    rows_before: int
    rows_after: int
    added: int
    removed: int
    changed: int
    unchanged: int
    label_flips: list[LabelFlip]
    flips_by_direction: dict[str, int] = Field(default_factory=dict)
    shifts: list[FeatureShift] = Field(default_factory=list)
    manifest_verified: bool | None = None
    partition_changes: dict[str, Literal["added", "removed", "changed"]] = Field(
        default_factory=dict, description="Partition path -> what happened to it, when both sides are partitioned.")
    notes: list[str] = Field(default_factory=list)


class ValidationIssue(Frozen):
    check: str
    column: str | None = None
    failures: int
    examples: list[str] = Field(default_factory=list)
    severity: Severity = Severity.HIGH


class ValidationResult(Frozen):
    schema_source: str
    passed: bool
    issues: list[ValidationIssue]


class DataFinding(Frozen):
    rule: str
    severity: Severity
    message: str


class DataProfile(Frozen):
    path: str
    format: str
    rows: int
    columns: int
    label: str
    id_column: str | None
    classes: dict[str, int]
    sha256: str | None = Field(default=None, description="The file's SHA-256; for partitions, a digest of theirs.")
    partitions: int = 0
    sampled_from: int | None = Field(default=None, description="Rows in the data when only a sample was checked.")


class MapPoint(Frozen):
    """One row placed on the data's first two principal components, for the "where do flags sit" view."""

    x: float
    y: float
    label: LabelValue
    flagged: bool


class DataCheckReport(Frozen):
    data: DataProfile
    signals: list[SignalSummary]
    suspicious: list[SuspiciousRow]
    triggers: list[TriggerPattern] = Field(default_factory=list)
    effect: RemovalEffect | None = None
    baseline: BaselineDiff | None = None
    validation: ValidationResult | None = None
    findings: list[DataFinding]
    seconds: float
    map: list[MapPoint] = Field(default_factory=list, description="Flagged rows plus a sample of the rest.")

    @property
    def flagged(self) -> list[SuspiciousRow]:
        return [r for r in self.suspicious if r.flagged]

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None, key=lambda s: s.rank)

"""Results of scanning model files: one verdict per file, with the findings that decided it.

A scan that could not finish is still a result (verdict ``error`` or ``suspicious`` with the reason), never
a silent "clean": an attacker only needs the scanner to give up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.core.base import Frozen
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

Verdict = Literal["malicious", "suspicious", "clean", "unsupported", "error"]
VERDICT_ORDER: dict[str, int] = {"clean": 0, "unsupported": 1, "error": 2, "suspicious": 3, "malicious": 4}


def verdict_of(findings: list[Finding], *, supported: bool = True, failed: bool = False) -> Verdict:
    """Critical findings make a file malicious, high or medium ones suspicious; low ones are notes."""
    worst = max((f.severity for f in findings), default=None)
    if worst is Severity.CRITICAL:
        return "malicious"
    if worst is not None and worst >= Severity.MEDIUM:
        return "suspicious"
    if failed:
        return "error"
    return "clean" if supported else "unsupported"


class FileScan(Frozen):
    path: str
    format: str
    sha256: str | None = None
    size: int | None = None
    verdict: Verdict
    findings: list[Finding] = Field(default_factory=list)


class ScanSummary(Frozen):
    files: int
    verdicts: dict[str, int]
    findings: int
    bytes_scanned: int
    seconds: float


class ModelScanReport(Frozen):
    scanner: str
    version: str
    policy: str = Field(description="Policy in force: 'default' or the path of the user's policy file.")
    files: list[FileScan]
    summary: ScanSummary

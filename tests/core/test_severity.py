from __future__ import annotations

from clearsight.core.severity import Severity, clamp_level, severity_from_matrix


def test_order() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW
    assert max([Severity.MEDIUM, Severity.CRITICAL, Severity.LOW]) is Severity.CRITICAL
    assert sorted([Severity.HIGH, Severity.LOW]) == [Severity.LOW, Severity.HIGH]


def test_matrix_bands() -> None:
    assert severity_from_matrix(5, 4) is Severity.CRITICAL
    assert severity_from_matrix(4, 3) is Severity.HIGH
    assert severity_from_matrix(2, 3) is Severity.MEDIUM
    assert severity_from_matrix(1, 5) is Severity.MEDIUM  # rare catastrophes still need an owner
    assert severity_from_matrix(1, 4) is Severity.LOW


def test_clamp() -> None:
    assert clamp_level(7) == 5
    assert clamp_level(-2) == 1
    assert clamp_level(3.4) == 3

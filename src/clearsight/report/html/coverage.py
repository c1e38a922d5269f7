"""Control coverage by framework: required controls by status per NIST AI RMF function and CRISP-ML(Q) phase.

A control counts once per system that requires it; a control mapped to several NIST functions counts in each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from clearsight.core.assessment import SystemAssessment
from clearsight.core.control import Control
from clearsight.report import charts
from clearsight.report.html.context import ControlIndex

NIST_FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
_NIST_ABBREVIATIONS = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
_NIST_REF = re.compile(r"^\s*([A-Za-z]+)")
CRISP_PHASES: Mapping[str, str] = {
    "P1": "Business and Data Understanding",
    "P2": "Data Preparation",
    "P3": "ML Model Engineering",
    "P4": "ML Model Evaluation",
    "P5": "Deployment",
    "P6": "Monitoring and Maintenance",
}


def coverage_rows(
    systems: Sequence[SystemAssessment], controls: ControlIndex
) -> tuple[list[charts.CoverageRow], list[charts.CoverageRow]]:
    """Required controls (system x control) by status, per NIST AI RMF function and per CRISP-ML(Q) phase."""
    nist = {f: [0, 0, 0] for f in NIST_FUNCTIONS}
    crisp = {p: [0, 0, 0] for p in CRISP_PHASES}
    column = {"implemented": 0, "partial": 1, "missing": 2}
    for sa in systems:
        for gap in sa.gaps:
            control = controls.get(gap.control)
            if control is None or gap.status not in column:
                continue
            slot = column[gap.status]
            for function in _nist_functions(control):
                nist[function][slot] += 1
            if control.crisp_phase in crisp:
                crisp[control.crisp_phase][slot] += 1
    return (
        [charts.CoverageRow(f.capitalize(), nist[f][0], nist[f][1], nist[f][2]) for f in NIST_FUNCTIONS],
        [charts.CoverageRow(p, crisp[p][0], crisp[p][1], crisp[p][2], detail=name)
         for p, name in CRISP_PHASES.items()],
    )


def _nist_functions(control: Control) -> set[str]:
    found: set[str] = set()
    for ref in control.refs.nist_ai_rmf:
        match = _NIST_REF.match(ref)
        if match:
            word = match.group(1).upper()
            word = _NIST_ABBREVIATIONS.get(word, word)
            if word in NIST_FUNCTIONS:
                found.add(word)
    return found

from __future__ import annotations

import datetime as dt
from pathlib import Path

from clearsight.core.assessment import Assessment
from clearsight.runner import assess_path

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_same_input_gives_the_same_document(example_dir: Path, example_assessment: Assessment) -> None:
    again = assess_path(example_dir, now=NOW, home=Path("/nonexistent"))
    assert again.model_dump_json() == example_assessment.model_dump_json()


def test_ids_are_stable_and_unique(example_assessment: Assessment) -> None:
    ids = [g.id for r in example_assessment.systems for g in r.gaps]
    ids += [t.id for r in example_assessment.systems for t in r.threats]
    ids += [s.id for r in example_assessment.systems for s in r.scenarios]
    ids += [a.id for a in example_assessment.plan.actions]
    assert len(ids) == len(set(ids))
    assert "GAP:card-fraud-detection:CS-API-02" in ids
    assert "ACT:CS-API-02:critical" in ids


def test_summary_and_portfolio_agree_with_the_details(example_assessment: Assessment) -> None:
    s = example_assessment.summary
    open_gaps = [g for r in example_assessment.systems for g in r.gaps if g.is_open]
    assert sum(s.open_gaps.values()) == len(open_gaps)
    assert [e.rank for e in example_assessment.portfolio] == list(range(1, len(example_assessment.systems) + 1))
    planned = {g for a in example_assessment.plan.actions for g in a.gaps}
    assert planned == {g.id for g in open_gaps}


def test_the_json_document_round_trips(example_assessment: Assessment) -> None:
    text = example_assessment.model_dump_json()
    assert Assessment.model_validate_json(text) == example_assessment


def test_calendar_and_date_are_recorded(example_dir: Path) -> None:
    original = assess_path(example_dir, now=NOW, calendar="regulation-2024", as_of=dt.date(2026, 1, 1))
    assert original.settings.eu_ai_act_calendar == "regulation-2024"
    assert original.settings.as_of == dt.date(2026, 1, 1)
    loan = next(r for r in original.systems if r.system.id == "loan-precheck")
    art26 = next(o for o in loan.risk.legal.obligations if o.id == "ART26")
    assert art26.applies_from == dt.date(2026, 8, 2)

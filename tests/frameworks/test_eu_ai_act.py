"""The built-in EU AI Act catalogue: counts, IDs, calendars and the use-case vocabulary hold together."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from own_words import assert_own_words

from clearsight.frameworks.eu_ai_act import EuAiAct, load_eu_ai_act

D = dt.date


@pytest.fixture(scope="module")
def eu() -> EuAiAct:
    return load_eu_ai_act()


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "eu-ai-act" / "eu-ai-act.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ------------------------------------------------------------------------------------------ meta


def test_meta(eu: EuAiAct, ref: dict[str, Any]) -> None:
    assert eu.meta.source == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"
    assert eu.meta.effective_date == _date(ref["meta"]["entry_into_force"]) == D(2024, 8, 1)
    assert eu.meta.reviewed_on == D(2026, 11, 26)
    assert "legal advice" in (eu.meta.note or "").lower()
    assert "2024/1689" in eu.meta.version


# ------------------------------------------------------------------------------------- calendars


def test_calendars_resolve(eu: EuAiAct) -> None:
    ids = {c.id for c in eu.calendars}
    assert ids == {"regulation-2024", "digital-omnibus-2026"}
    assert eu.default_calendar == "digital-omnibus-2026"
    base = eu.calendar_dates("regulation-2024")
    assert base == {
        "entry_into_force": D(2024, 8, 1),
        "prohibitions": D(2025, 2, 2),
        "ai_literacy": D(2025, 2, 2),
        "gpai": D(2025, 8, 2),
        "penalties": D(2025, 8, 2),
        "annex_iii_high_risk": D(2026, 8, 2),
        "transparency": D(2026, 8, 2),
        "gpai_fines": D(2026, 8, 2),
        "annex_i_high_risk": D(2027, 8, 2),
        "gpai_legacy": D(2027, 8, 2),
        "public_authority_legacy": D(2030, 8, 2),
        "new_prohibitions": None,
    }
    omnibus = eu.calendar_dates("digital-omnibus-2026")
    assert omnibus["annex_iii_high_risk"] == D(2027, 12, 2)
    assert omnibus["annex_i_high_risk"] == D(2028, 8, 2)
    assert omnibus["new_prohibitions"] == D(2026, 12, 2)
    assert omnibus["prohibitions"] == D(2025, 2, 2)
    changed = {k for k in base if base[k] != omnibus[k]}
    assert changed == {"annex_iii_high_risk", "annex_i_high_risk", "new_prohibitions"}
    with pytest.raises(KeyError):
        eu.calendar_dates("no-such-calendar")


def test_amendment_only_changes_known_keys(eu: EuAiAct) -> None:
    by_id = {c.id: c for c in eu.calendars}
    amendment = by_id["digital-omnibus-2026"]
    assert amendment.amends == "regulation-2024"
    assert set(amendment.dates) <= set(by_id["regulation-2024"].dates)
    assert by_id["regulation-2024"].amends is None


def test_calendar_matches_reference_timeline(eu: EuAiAct, ref: dict[str, Any]) -> None:
    timeline = {t["id"]: _date(t["date"]) for t in ref["application_dates"]}
    base = eu.calendar_dates("regulation-2024")
    assert base["entry_into_force"] == timeline["T0"]
    assert base["prohibitions"] == base["ai_literacy"] == timeline["T1"]
    assert base["gpai"] == base["penalties"] == timeline["T2"]
    assert base["annex_iii_high_risk"] == base["transparency"] == timeline["T3"]
    assert base["annex_i_high_risk"] == timeline["T4"]
    assert base["public_authority_legacy"] == timeline["T5"]
    assert base["gpai_legacy"] == _date(ref["gpai"]["legacy_models_deadline"])
    assert base["gpai_fines"] == _date(ref["gpai"]["fines_from"])
    assert base["gpai"] == _date(ref["gpai"]["applies_from"])


def test_amendment_dates_match_reference(eu: EuAiAct, ref: dict[str, Any]) -> None:
    amendment = ref["pending_amendments"][0]
    changes = " ".join(amendment["reported_changes"])
    by_id = {c.id: c for c in eu.calendars}
    for key, value in by_id["digital-omnibus-2026"].dates.items():
        assert value is not None, key
        assert value.isoformat() in changes, f"{key}={value} is not among the reported changes"
    assert amendment["procedure"] in by_id["digital-omnibus-2026"].label


def test_every_date_key_resolves(eu: EuAiAct) -> None:
    keys = (
        {p.date_key for p in eu.prohibited_practices}
        | {o.date_key for o in eu.obligations}
        | {t.date_key for t in eu.transparency_duties}
    )
    for calendar in eu.calendars:
        dates = eu.calendar_dates(calendar.id)
        assert keys <= set(dates), f"{calendar.id} lacks {keys - set(dates)}"
        assert all(dates[k] is not None for k in keys - {"new_prohibitions"})


# ------------------------------------------------------------------------------------ Art. 5


def test_prohibited_practices(eu: EuAiAct, ref: dict[str, Any]) -> None:
    original = [p for p in eu.prohibited_practices if p.date_key == "prohibitions"]
    assert len(original) == 8
    ref_items = ref["prohibited_practices"]["items"]
    assert [(p.id, p.title) for p in original] == [(r["id"], r["title"]) for r in ref_items]
    for practice, letter in zip(original, "abcdefgh", strict=True):
        assert practice.id == f"ART5-1{letter}"
        assert practice.article == f"Art. 5(1)({letter})"
    for practice, item in zip(original, ref_items, strict=True):
        assert_own_words(practice.id, practice.summary, *item["criteria"])
        if practice.exception and "exception" in item:
            assert_own_words(practice.id + " exception", practice.exception, item["exception"])


def test_omnibus_prohibition(eu: EuAiAct) -> None:
    new = [p for p in eu.prohibited_practices if p.date_key != "prohibitions"]
    assert [p.id for p in new] == ["ART5-OMNIBUS-ncii"]
    assert new[0].date_key == "new_prohibitions"
    assert eu.calendar_dates("regulation-2024")["new_prohibitions"] is None
    assert eu.calendar_dates("digital-omnibus-2026")["new_prohibitions"] == D(2026, 12, 2)


# --------------------------------------------------------------------------------- Annex I / III


def test_annex_i(eu: EuAiAct, ref: dict[str, Any]) -> None:
    annex_i = ref["high_risk_classification"]["annex_i"]
    assert len(eu.annex_i_section_a) == 12
    assert len(eu.annex_i_section_b) == 8
    assert [(a.id, a.act, a.ref) for a in eu.annex_i_section_a] == [
        (r["id"], r["act"], r["ref"]) for r in annex_i["section_a"]
    ]
    assert [(a.id, a.act, a.ref) for a in eu.annex_i_section_b] == [
        (r["id"], r["act"], r["ref"]) for r in annex_i["section_b"]
    ]


def test_annex_iii(eu: EuAiAct, ref: dict[str, Any]) -> None:
    ref_areas = ref["high_risk_classification"]["annex_iii"]
    assert len(eu.annex_iii) == 8
    assert sum(len(a.points) for a in eu.annex_iii) == 25
    assert [(a.id, a.area) for a in eu.annex_iii] == [(r["id"], r["area"]) for r in ref_areas]
    ref_points = {p["id"]: p["text"] for r in ref_areas for p in r["points"]}
    ours = [p for a in eu.annex_iii for p in a.points]
    assert [p.id for p in ours] == list(ref_points)
    for area in eu.annex_iii:
        number = area.id.removeprefix("III-")
        for point in area.points:
            letter = point.id[-1]
            assert point.id == f"III-{number}{letter}"
            assert point.ref == f"Annex III {number}({letter})"
            assert_own_words(point.id, point.summary, ref_points[point.id])
            assert eu.annex_iii_point(point.id) == point
    assert eu.annex_iii_point("III-5b").ref == "Annex III 5(b)"
    with pytest.raises(KeyError):
        eu.annex_iii_point("III-9a")


def test_derogation(eu: EuAiAct, ref: dict[str, Any]) -> None:
    ref_derogation = ref["high_risk_classification"]["derogation"]
    assert eu.derogation.article == "Art. 6(3)"
    assert [c.id for c in eu.derogation.conditions] == ["D-a", "D-b", "D-c", "D-d"]
    ref_conditions = {c["id"]: c["text"] for c in ref_derogation["conditions"]}
    for condition in eu.derogation.conditions:
        assert_own_words(condition.id, condition.summary, ref_conditions[condition.id])
    assert "profil" in eu.derogation.profiling_override.lower()
    assert_own_words("profiling override", eu.derogation.profiling_override, ref_derogation["override"])
    assert_own_words("derogation", eu.derogation.summary, ref_derogation["rule"])


# ------------------------------------------------------------------------------------ Art. 50


def test_transparency_duties(eu: EuAiAct, ref: dict[str, Any]) -> None:
    ref_items = ref["transparency_obligations"]["items"]
    assert len(eu.transparency_duties) == 4
    assert [(t.id, t.actor) for t in eu.transparency_duties] == [(r["id"], r["actor"]) for r in ref_items]
    for duty, item in zip(eu.transparency_duties, ref_items, strict=True):
        assert duty.article == f"Art. 50({duty.id[-1]})"
        assert duty.date_key == "transparency"
        assert_own_words(duty.id + " duty", duty.duty, item["duty"])
        assert_own_words(duty.id + " trigger", duty.trigger, item["trigger"])


# ---------------------------------------------------------------------------------------- GPAI


def test_gpai(eu: EuAiAct, ref: dict[str, Any]) -> None:
    assert eu.gpai.systemic_threshold_flops == 1e25
    assert eu.gpai.article_classification == ref["gpai"]["classification"]["article"] == "Art. 51"


# -------------------------------------------------------------------------------- obligations

EXPECTED_OBLIGATIONS: dict[str, tuple[str, str]] = {
    "ART6-4": ("annex-iii-derogated", "annex_iii_high_risk"),
    "ART49-2": ("annex-iii-derogated", "annex_iii_high_risk"),
    "ART4": ("all", "ai_literacy"),
    **{
        f"ART{n}": ("high-risk-provider", "annex_iii_high_risk")
        for n in (9, 10, 11, 12, 13, 14, 15, 16, 17, 43, 47, 49, 72, 73)
    },
    "ART26": ("high-risk-deployer", "annex_iii_high_risk"),
    "ART27": ("annex-iii-fria", "annex_iii_high_risk"),
    "ART86": ("high-risk-deployer", "annex_iii_high_risk"),
    **{f"ART53-1{x}": ("gpai", "gpai") for x in "abcd"},
    **{f"ART55-1{x}": ("gpai-systemic", "gpai") for x in "abcd"},
}


def test_obligation_ids_and_classes(eu: EuAiAct) -> None:
    ours = {o.id: (o.applies_to, o.date_key) for o in eu.obligations}
    assert len(ours) == len(eu.obligations), "duplicate obligation IDs"
    assert ours == EXPECTED_OBLIGATIONS


def test_obligations_match_reference(eu: EuAiAct, ref: dict[str, Any]) -> None:
    ref_obligations = {
        o["id"]: o
        for o in [*ref["high_risk_requirements"], *ref["provider_obligations"], *ref["deployer_obligations"]]
    }
    gpai_items = {
        i["id"]: i
        for group in ("obligations_all_gpai", "obligations_systemic_risk")
        for i in ref["gpai"][group]["items"]
    }
    for ob in eu.obligations:
        assert ob.summary.strip() and ob.title.strip(), ob.id
        if ob.id in ref_obligations:
            item = ref_obligations[ob.id]
            assert ob.title == item["title"], ob.id
            assert ob.article == "Art. " + ob.id.removeprefix("ART")
            texts = [item.get("summary", ""), *item.get("engine_checks", [])]
            assert_own_words(ob.id, ob.summary, *[t for t in texts if t])
        elif ob.applies_to == "annex-iii-derogated":
            # The reference lists these as the duties that remain after an Art. 6(3) derogation.
            derogation = ref["high_risk_classification"]["derogation"]
            assert derogation["article"] == "Art. 6(3)-(4)"
            assert ob.article in ("Art. 6(4)", "Art. 49(2)")
            assert ob.article != "Art. 49(2)" or "Art. 49(2)" in derogation["duties_if_used"]
            assert_own_words(ob.id, ob.summary, derogation["duties_if_used"])
        else:
            assert ob.id in gpai_items, f"{ob.id} is in neither the reference obligations nor GPAI duties"
            number, letter = ob.id.removeprefix("ART").split("-1")
            assert ob.article == f"Art. {number}(1)({letter})"
            assert_own_words(ob.id, ob.summary, gpai_items[ob.id]["duty"])
    assert set(gpai_items) <= {o.id for o in eu.obligations}


def test_obligation_ids_helper(eu: EuAiAct) -> None:
    ids = eu.obligation_ids()
    assert set(EXPECTED_OBLIGATIONS) <= ids
    assert {"ART50-1", "ART50-4", "ART5-1c", "ART5-OMNIBUS-ncii"} <= ids


# -------------------------------------------------------------------------------- use cases


def test_use_case_vocabulary_is_consistent(eu: EuAiAct) -> None:
    ids = [u.id for u in eu.use_cases]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids), "duplicate use-case IDs"
    assert eu.use_case_ids() == set(ids)
    points = {p.id for a in eu.annex_iii for p in a.points}
    practices = {p.id for p in eu.prohibited_practices}
    duties = {t.id for t in eu.transparency_duties}
    for use in eu.use_cases:
        assert use.label.strip(), use.id
        if use.annex_iii:
            assert use.annex_iii in points, use.id
        if use.related_point:
            assert use.related_point in points, use.id
            assert use.annex_iii is None, f"{use.id}: a carved-out use must not also be listed"
        if use.prohibited:
            assert use.prohibited in practices, use.id
        assert set(use.transparency) <= duties, use.id


def test_use_cases_cover_the_law(eu: EuAiAct) -> None:
    points = {p.id for a in eu.annex_iii for p in a.points}
    practices = {p.id for p in eu.prohibited_practices}
    assert points <= {u.annex_iii for u in eu.use_cases}
    assert practices <= {u.prohibited for u in eu.use_cases}
    assert {t.id for t in eu.transparency_duties} <= {d for u in eu.use_cases for d in u.transparency}


@pytest.mark.parametrize(
    ("use_case", "point"),
    [
        ("credit-scoring", "III-5b"),
        ("life-health-insurance-pricing", "III-5c"),
        ("recruitment", "III-4a"),
        ("worker-management", "III-4b"),
        ("exam-proctoring", "III-3d"),
        ("admission", "III-3a"),
        ("emotion-recognition", "III-1c"),
        ("remote-biometric-identification", "III-1a"),
        ("critical-infrastructure-safety", "III-2a"),
        ("public-benefits-eligibility", "III-5a"),
        ("emergency-triage", "III-5d"),
    ],
)
def test_annex_iii_mappings(eu: EuAiAct, use_case: str, point: str) -> None:
    assert eu.use_case(use_case).annex_iii == point


def test_prohibited_mappings(eu: EuAiAct) -> None:
    assert eu.use_case("social-scoring").prohibited == "ART5-1c"
    assert eu.use_case("emotion-recognition-workplace").prohibited == "ART5-1f"
    assert eu.use_case("emotion-recognition").transparency == ["ART50-3"]


@pytest.mark.parametrize(
    ("use_case", "point"),
    [
        ("fraud-detection", "III-5b"),
        ("biometric-verification", "III-1a"),
        ("travel-document-verification", "III-7d"),
    ],
)
def test_carve_outs(eu: EuAiAct, use_case: str, point: str) -> None:
    use = eu.use_case(use_case)
    assert use.annex_iii is None
    assert use.prohibited is None
    assert use.related_point == point
    assert use.carve_out and use.carve_out.strip()
    assert eu.annex_iii_point(point).ref in use.carve_out


def test_fraud_detection_carve_out(eu: EuAiAct) -> None:
    use = eu.use_case("fraud-detection")
    assert "fraud" in (use.carve_out or "").lower()
    assert use.adversarial_incentive == "high"


def test_transparency_uses(eu: EuAiAct) -> None:
    assert eu.use_case("customer-support-chat").transparency == ["ART50-1"]
    assert eu.use_case("content-generation").transparency == ["ART50-2"]
    assert eu.use_case("deepfake-generation").transparency == ["ART50-2", "ART50-4"]


MINIMAL = [
    "recommendation", "demand-forecasting", "spam-filtering", "anomaly-detection-it", "code-assistant",
    "document-search", "translation", "internal-analytics", "predictive-maintenance", "churn-prediction",
    "marketing-personalisation",
]


@pytest.mark.parametrize("use_case", MINIMAL)
def test_minimal_risk_uses(eu: EuAiAct, use_case: str) -> None:
    use = eu.use_case(use_case)
    assert (use.annex_iii, use.related_point, use.prohibited, use.transparency) == (None, None, None, [])


def test_adversarial_incentive(eu: EuAiAct) -> None:
    high = {
        "fraud-detection", "spam-filtering", "malware-detection", "aml-transaction-monitoring",
        "credit-scoring", "content-moderation",
    }
    for use_case in high:
        assert eu.use_case(use_case).adversarial_incentive == "high", use_case
    assert eu.use_case("translation").adversarial_incentive == "low"
    with pytest.raises(KeyError):
        eu.use_case("no-such-purpose")

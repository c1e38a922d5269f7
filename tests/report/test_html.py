"""The HTML report: one valid, self-contained, escaped document that shows what the assessment holds."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from factories import CATALOGUES, make_assessment, make_controls, make_system

from clearsight.core.assessment import Assessment
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.atlas_store import load_builtin_atlas
from clearsight.report import html
from clearsight.report.html.format import esc

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
EVIL = "<script>alert(1)</script>"


class Checker(HTMLParser):
    """Records elements and fails on unbalanced tags, so a broken document cannot pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(document: str) -> Checker:
    checker = Checker()
    checker.feed(document)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    tags = [t for t, _ in checker.elements]
    for tag in ("html", "head", "body", "main", "header", "footer", "style"):
        assert tags.count(tag) == 1, tag
    return checker


def with_attr(checker: Checker, name: str, value: str | None = None) -> list[dict[str, str | None]]:
    return [a for _, a in checker.elements if name in a and (value is None or a[name] == value)]


@pytest.fixture(scope="module")
def atlas() -> AtlasCatalogue:
    return load_builtin_atlas()


@pytest.fixture(scope="module")
def assessment() -> Assessment:
    systems = [make_system(i) for i in range(6)]
    systems[0] = make_system(0, name=EVIL, likelihood=4, impact=5, tier="high-risk", llm=True)
    return make_assessment(systems, organisation='Acme <b>"Bank"</b> & Co')


@pytest.fixture(scope="module")
def report(assessment: Assessment, atlas: AtlasCatalogue) -> str:
    return html.render_html(assessment, atlas=atlas, controls=make_controls())


def test_document_is_well_formed(report: str) -> None:
    assert report.startswith("<!DOCTYPE html>")
    checker = check(report)
    svgs = re.findall(r"<svg\b.*?</svg>", report, flags=re.S)
    assert len(svgs) == 5  # matrix, heat map, two coverage charts, Gantt
    for svg in svgs:
        ET.fromstring(svg)
    assert [a.get("id") for a in with_attr(checker, "id")] == [
        "summary", "portfolio", "legal", "threats", "atlas", "gaps", "plan", "catalogues"]


def test_loads_nothing_from_anywhere(report: str) -> None:
    checker = check(report)
    for tag, attrs in checker.elements:
        if tag in {"link", "script", "img", "iframe", "embed", "object", "source", "image", "use"}:
            for attr in ("src", "href", "xlink:href", "data"):
                value = attrs.get(attr) or ""
                assert not re.match(r"\s*(https?:)?//", value), (tag, attrs)
    assert "url(" not in report
    assert "@import" not in report
    scripts = [a for t, a in checker.elements if t == "script"]
    assert scripts == [{}]  # only the inline print helper


def test_user_text_is_escaped(report: str) -> None:
    assert EVIL not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert '<b>"Bank"</b>' not in report
    checker = check(report)
    assert 'Acme <b>"Bank"</b> & Co' in "".join(checker.text)
    assert report.count("<script>") == 1


def test_header_shows_organisation_date_and_version(report: str, assessment: Assessment) -> None:
    header = report[report.index("<header"): report.index("</header>")]
    assert "Acme &lt;b&gt;&quot;Bank&quot;&lt;/b&gt; &amp; Co" in header
    assert "2026-05-04" in header
    assert f"Clearsight {assessment.tool_version}" in header


def kpi(report: str, key: str) -> str:
    match = re.search(rf'data-kpi="{key}">.*?<div class="v">([^<]*)</div>', report)
    assert match, key
    return match.group(1)


def test_kpis_match_the_assessment(report: str, assessment: Assessment) -> None:
    s = assessment.summary
    assert kpi(report, "systems") == str(s.systems)
    assert kpi(report, "shadow") == str(s.shadow_systems)
    assert kpi(report, "high-risk") == str(s.high_risk_legal)
    critical_high = s.open_gaps.get("critical", 0) + s.open_gaps.get("high", 0)
    assert kpi(report, "critical-high-gaps") == str(critical_high)
    assert kpi(report, "effort") == f"{assessment.plan.total_effort_days:,.1f}".removesuffix(".0")


def test_executive_summary_sentences_are_computed(assessment: Assessment, atlas: AtlasCatalogue) -> None:
    sentences = html.executive_summary(assessment, atlas)
    tiers = assessment.summary.internal_tiers
    high = tiers.get("high", 0) + tiers.get("critical", 0)
    assert sentences[0].startswith(f"{high} of 6 systems ")
    assert any(f"{assessment.summary.high_risk_legal} systems are high-risk under the EU AI Act" in s
               for s in sentences)
    assert any(s.startswith(f"The highest-ranked system is {EVIL}") for s in sentences)
    s = assessment.summary
    assert any(f"{s.controls_in_place} of {s.controls_required} control requirements are met" in x
               for x in sentences)


def test_every_catalogue_version_is_shown(report: str) -> None:
    checker = check(report)
    rows = with_attr(checker, "data-catalogue")
    assert [r["data-catalogue"] for r in rows] == [c.id for c in CATALOGUES]
    footer = report[report.index("<footer"):]
    for catalogue in CATALOGUES:
        assert esc(catalogue.version) in footer
        assert esc(catalogue.title) in footer
    assert "EU AI Act calendar" in footer and "original" in footer


def test_portfolio_ranks_every_system_on_table_and_matrix(report: str, assessment: Assessment) -> None:
    ranking = re.findall(r'<tr data-system="([^"]+)"><td class="num">(\d+)</td>', report)
    assert ranking == [(p.system, str(p.rank)) for p in assessment.portfolio]
    matrix = re.search(r'<svg[^>]*chart-matrix.*?</svg>', report, flags=re.S)
    assert matrix
    root = ET.fromstring(matrix.group(0))
    cell = next(g for g in root.iter("{http://www.w3.org/2000/svg}g")
                if g.get("data-likelihood") == "4" and g.get("data-impact") == "5")
    assert cell.get("data-count") == "1"


def test_legal_threat_and_gap_details_per_system(report: str, assessment: Assessment) -> None:
    for section in ("legal", "threats", "gaps"):
        body = report[report.index(f'<section id="{section}">'):]
        body = body[: body.index("</section>")]
        shown = re.findall(r'<details class="sys"[^>]*data-system="([^"]+)"', body)
        assert sorted(shown) == sorted(sa.system.id for sa in assessment.systems), section
    assert "Annex III point 5(b)" in report
    assert "Art. 6(3)(a) narrow procedural task" in report  # an exception applied
    assert "2 Aug 2026" in report and "In force" in report and "In 90 days" in report
    assert 'href="https://atlas.mitre.org/studies/AML.CS0020"' in report
    assert '<span class="tac">Execution</span>' in report  # tactic chain as step pills
    for status in ("missing", "partial", "implemented"):
        assert f'class="b st-{status}"' in report
    implemented = next(g for sa in assessment.systems for g in sa.gaps if g.evidence)
    assert f"<code>{esc(implemented.evidence[0])}</code> Owner attests the control is in place" in report


def test_coverage_counts_per_nist_function_and_crisp_phase(assessment: Assessment) -> None:
    controls = make_controls()
    nist, crisp = html.coverage_rows(assessment.systems, controls)
    assert [r.label for r in nist] == ["Govern", "Map", "Measure", "Manage"]
    assert [r.label for r in crisp] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    expected = {"implemented": 0, "partial": 0, "missing": 0}
    for sa in assessment.systems:
        for gap in sa.gaps:
            refs = controls[gap.control].refs.nist_ai_rmf
            if gap.status in expected and any(r.startswith("MEASURE") for r in refs):
                expected[gap.status] += 1
    measure = nist[2]
    assert (measure.implemented, measure.partial, measure.missing) == (
        expected["implemented"], expected["partial"], expected["missing"])
    total = sum(1 for sa in assessment.systems for g in sa.gaps if g.status != "not-applicable")
    assert sum(r.total for r in crisp) == total


def test_without_control_catalogue_the_report_says_so(assessment: Assessment, atlas: AtlasCatalogue) -> None:
    document = html.render_html(
        assessment, atlas=atlas, controls=None, controls_problem="controls.yaml missing"
    )
    check(document)
    assert "control catalogue could not be read (controls.yaml missing)" in document
    assert "chart-coverage" not in document


def test_plan_shows_gantt_phases_and_key_controls(report: str, assessment: Assessment) -> None:
    plan = assessment.plan
    gantt = re.search(r'<svg[^>]*chart-gantt.*?</svg>', report, flags=re.S)
    assert gantt
    bars = re.findall(r'<g class="bar" data-action="([^"]+)"', gantt.group(0))
    assert sorted(bars) == sorted(a.id for a in plan.actions if a.phase is not None)
    for phase in plan.phases:
        assert f'data-phase="{phase.number}"><h3>Phase {phase.number}: ' in report
    rows = re.findall(r'<tr class="(key)?" data-action="([^"]+)"', report)
    assert sorted(a for _, a in rows) == sorted(a.id for a in plan.actions)
    assert {a for k, a in rows if k} == {a.id for a in plan.actions if a.key}
    assert "@media print" in report


def test_empty_assessment(atlas: AtlasCatalogue) -> None:
    assessment = make_assessment(0)
    document = html.render_html(assessment, atlas=atlas, controls=make_controls())
    check(document)
    assert kpi(document, "systems") == "0"
    assert "No AI systems were assessed" in document
    assert "No systems to rank." in document


def test_two_thousand_systems_stay_reasonable(atlas: AtlasCatalogue) -> None:
    assessment = make_assessment(2000)
    document = html.render_html(assessment, atlas=atlas, controls=make_controls())
    check(document)
    assert len(document.encode()) < 3_000_000
    assert kpi(document, "systems") == "2,000"
    assert len(re.findall(r'<tr data-system="', document)) == 2000
    assert len(re.findall(r'<details class="sys"', document)) == 3 * html.DETAIL_LIMIT
    assert "highest-ranked of 2,000 systems" in document
    assert "Show the other 1,975 systems" in document


def test_render_entry_point_works_with_or_without_the_control_catalogue(assessment: Assessment) -> None:
    document = html.render(assessment)
    check(document)
    assert ("chart-coverage" in document) or ("control catalogue could not be read" in document)


def test_shadow_ai_is_not_claimed_without_discovery(example_dir) -> None:  # type: ignore[no-untyped-def]
    from clearsight.runner import assess_path

    declared_only = assess_path(example_dir, discover=False)
    assert not declared_only.summary.discovery_run
    document = html.render(declared_only)
    assert "not measured" in document
    assert "Every AI system discovery found is declared" not in document

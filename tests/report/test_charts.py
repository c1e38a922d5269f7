"""The inline SVG charts: well-formed, data in the right place, text escaped, empty inputs handled."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from factories import make_assessment, make_system

from clearsight.core.plan import Action, Phase, Plan
from clearsight.core.severity import Severity
from clearsight.core.threat import ThreatMatch
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.atlas_store import load_builtin_atlas
from clearsight.report import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("viewBox")
    return root


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if g.get("class") == cls]


def title_of(element: ET.Element) -> str:
    title = element.find(f"{NS}title")
    assert title is not None
    return title.text or ""


@pytest.fixture(scope="module")
def atlas() -> AtlasCatalogue:
    return load_builtin_atlas()


# --------------------------------------------------------------------------- risk matrix


def test_risk_matrix_places_system_in_its_cell() -> None:
    hot = make_system(0, name="Fraud scoring", likelihood=4, impact=5)
    cold = make_system(1, name="Spam filter", likelihood=1, impact=1)
    root = parse(charts.risk_matrix_svg([hot, cold]))
    cells = groups(root, "cell")
    assert len(cells) == 25
    by_coord = {(int(c.get("data-likelihood", 0)), int(c.get("data-impact", 0))): c for c in cells}
    target = by_coord[(4, 5)]
    assert target.get("data-count") == "1"
    assert target.get("data-severity") == "critical"
    assert [g.get("data-system") for g in groups(target, "system")] == ["sys-0000"]
    assert by_coord[(1, 1)].get("data-count") == "1"
    assert sum(int(c.get("data-count", 0)) for c in cells) == 2

    # Geometry: likelihood grows to the right, impact grows upwards.
    def rect(cell: ET.Element) -> tuple[float, float]:
        r = cell.find(f"{NS}rect")
        assert r is not None
        return float(r.get("x", 0)), float(r.get("y", 0))

    xs = sorted({rect(c)[0] for c in cells})
    ys = sorted({rect(c)[1] for c in cells})
    assert rect(target) == (xs[3], ys[0])
    assert rect(by_coord[(1, 1)]) == (xs[0], ys[4])


def test_risk_matrix_cell_colour_follows_severity_bands() -> None:
    root = parse(charts.risk_matrix_svg([]))
    sev = {
        (c.get("data-likelihood"), c.get("data-impact")): c.get("data-severity") for c in groups(root, "cell")
    }
    assert sev[("5", "5")] == "critical"
    assert sev[("3", "4")] == "high"
    assert sev[("1", "5")] == "medium"
    assert sev[("1", "1")] == "low"


def test_risk_matrix_aggregates_crowded_cells() -> None:
    points = [charts.MatrixPoint(f"s{i}", f"System {i}", 3, 3) for i in range(10_000)]
    points.append(charts.MatrixPoint("one", "Lonely", 5, 1))
    svg = charts.risk_matrix_svg(points)
    assert len(svg) < 40_000
    root = parse(svg)
    crowded = next(
        c for c in groups(root, "cell") if c.get("data-likelihood") == "3" and c.get("data-impact") == "3"
    )
    assert crowded.get("data-count") == "10000"
    assert groups(crowded, "system") == []
    assert "10,000" in "".join(t.text or "" for t in crowded.iter(f"{NS}text"))
    assert "and 9,970 more" in title_of(crowded)


def test_risk_matrix_escapes_names() -> None:
    name = '<script>alert("x")</script> & co'
    svg = charts.risk_matrix_svg([charts.MatrixPoint("x", name, 2, 2)])
    assert "<script>" not in svg
    root = parse(svg)
    system = groups(root, "system")[0]
    assert name in title_of(system)


# --------------------------------------------------------------------------- heat map


def test_heatmap_has_one_column_per_tactic_in_atlas_order(atlas: AtlasCatalogue) -> None:
    root = parse(charts.atlas_heatmap_svg(make_assessment(6), atlas))
    columns = [g.get("data-tactic") for g in groups(root, "tactic")]
    assert columns == [t.id for t in atlas.tactics]


def test_heatmap_has_a_cell_for_every_threatened_technique(atlas: AtlasCatalogue) -> None:
    assessment = make_assessment(6)
    root = parse(charts.atlas_heatmap_svg(assessment, atlas))
    expected: dict[tuple[str, str], set[str]] = {}
    for sa in assessment.systems:
        for threat in sa.threats:
            for tactic in threat.tactics:
                expected.setdefault((tactic, threat.technique), set()).add(sa.system.id)
    found = {}
    for column in groups(root, "tactic"):
        for cell in groups(column, "technique"):
            found[(column.get("data-tactic"), cell.get("data-technique"))] = int(cell.get("data-systems", 0))
    assert found == {key: len(systems) for key, systems in expected.items()}
    poison = next(g for g in groups(root, "technique") if g.get("data-technique") == "AML.T0020")
    assert "Poison Training Data" in title_of(poison)
    worst = max(t.severity for sa in assessment.systems for t in sa.threats if t.technique == "AML.T0020")
    assert poison.get("data-severity") == worst.value


def test_heatmap_collapses_unthreatened_techniques(atlas: AtlasCatalogue) -> None:
    root = parse(charts.atlas_heatmap_svg(make_assessment(0), atlas))
    assert groups(root, "technique") == []
    others = {g.get("data-tactic"): int(g.get("data-count", 0)) for g in groups(root, "others")}
    for tactic in atlas.tactics:
        assert others[tactic.id] == sum(1 for t in atlas.techniques if tactic.id in t.tactics)
    assert len(groups(root, "tactic")) == len(atlas.tactics)


def test_heatmap_keeps_techniques_the_catalogue_does_not_know(atlas: AtlasCatalogue) -> None:
    sa = make_system(0)
    novel = ThreatMatch(id="THR:x", system=sa.system.id, technique="AML.T9999", name="Brand-new <trick>",
                        tactics=["AML.TA9999"], likelihood=3, impact=3, severity=Severity.HIGH)
    assessment = make_assessment([sa.model_copy(update={"threats": [*sa.threats, novel]})])
    svg = charts.atlas_heatmap_svg(assessment, atlas, per_row=0)
    root = parse(svg)
    assert [g.get("data-tactic") for g in groups(root, "tactic")][-1] == "AML.TA9999"
    cell = next(g for g in groups(root, "technique") if g.get("data-technique") == "AML.T9999")
    assert "Brand-new <trick>" in title_of(cell)
    assert "<trick>" not in svg


# --------------------------------------------------------------------------- coverage bars


def test_coverage_bars_one_row_per_group_with_counts() -> None:
    rows = [charts.CoverageRow("Govern", 5, 2, 3), charts.CoverageRow("Map", 0, 0, 0),
            charts.CoverageRow("P1", 1, 0, 1, detail="Business & Data Understanding")]
    root = parse(charts.coverage_bars_svg(rows))
    found = groups(root, "row")
    assert [g.get("data-label") for g in found] == ["Govern", "Map", "P1"]
    govern = found[0]
    counts = (govern.get("data-implemented"), govern.get("data-partial"), govern.get("data-missing"))
    assert counts == ("5", "2", "3")
    widths = {r.get("class"): float(r.get("width", 0)) for r in govern.iter(f"{NS}rect") if r.get("class")}
    assert widths["seg-implemented"] == pytest.approx(widths["seg-missing"] * 5 / 3, rel=0.01)
    assert "5/10" in "".join(t.text or "" for t in govern.iter(f"{NS}text"))
    assert "Business & Data Understanding" in title_of(found[2])


def test_coverage_bars_empty() -> None:
    root = parse(charts.coverage_bars_svg([]))
    assert groups(root, "row") == []


# --------------------------------------------------------------------------- gantt


def _action(aid: str, phase: int | None, effort: float, **extra: object) -> Action:
    return Action(id=aid, control=aid.removeprefix("ACT:"), title=f"Do {aid}", severity=Severity.HIGH,
                  phase=phase, systems=["a"], gaps=[], effort_days=effort, effort_drivers="x", **extra)


def _plan(actions: list[Action]) -> Plan:
    phases = [Phase(number=n, name=f"P{n}", months="", capacity_days=40, planned_days=0,
                    actions=[a.id for a in actions if a.phase == n]) for n in (1, 2, 3)]
    return Plan(phases=phases, actions=actions, backlog=[a.id for a in actions if a.phase is None],
                key_controls=[a.control for a in actions if a.key],
                total_effort_days=sum(a.effort_days for a in actions))


def test_gantt_one_bar_per_planned_action() -> None:
    actions = [
        _action("ACT:CS-GOV-01", 1, 10, key=True),
        _action("ACT:CS-GOV-02", 1, 10, depends_on=["ACT:CS-GOV-03"]),
        _action("ACT:CS-GOV-03", 1, 5),
        _action("ACT:CS-DAT-01", 2, 20, start_week=10, end_week=12),
        _action("ACT:CS-MON-01", 3, 8),
        _action("ACT:CS-LLM-01", None, 30),
    ]
    root = parse(charts.gantt_svg(_plan(actions)))
    bars = {g.get("data-action"): g for g in groups(root, "bar")}
    assert set(bars) == {"ACT:CS-GOV-01", "ACT:CS-GOV-02", "ACT:CS-GOV-03", "ACT:CS-DAT-01", "ACT:CS-MON-01"}

    def span(aid: str) -> tuple[float, float]:
        return float(bars[aid].get("data-start", -1)), float(bars[aid].get("data-end", -1))

    assert span("ACT:CS-DAT-01") == (9, 12)
    windows = {"ACT:CS-GOV-01": (0, 8), "ACT:CS-GOV-03": (0, 8), "ACT:CS-MON-01": (16, 24)}
    for aid, (low, high) in windows.items():
        start, end = span(aid)
        assert low <= start < end <= high
    assert span("ACT:CS-GOV-02")[0] >= span("ACT:CS-GOV-03")[1]
    assert bars["ACT:CS-GOV-01"].get("data-key") == "true"
    assert "★" in "".join(t.text or "" for t in bars["ACT:CS-GOV-01"].iter(f"{NS}text"))
    assert [g.get("data-action") for g in groups(root, "backlog-item")] == ["ACT:CS-LLM-01"]
    phases = groups(root, "phase")
    labels = ["".join(t.text or "" for t in g.iter(f"{NS}text")) for g in phases]
    assert labels == ["Critical (months 1–2)", "High (months 3–4)", "Medium (months 5–6)"]


def test_gantt_of_factory_plan_matches_plan() -> None:
    plan = make_assessment(12).plan
    root = parse(charts.gantt_svg(plan))
    assert sorted(g.get("data-action") or "" for g in groups(root, "bar")) == sorted(
        a.id for a in plan.actions if a.phase is not None)


def test_gantt_empty_plan() -> None:
    svg = charts.gantt_svg(Plan(phases=[], actions=[], total_effort_days=0))
    root = parse(svg)
    assert groups(root, "bar") == []
    assert "No actions planned" in svg

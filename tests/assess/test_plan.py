from __future__ import annotations

from clearsight.assess.plan import build_plan
from clearsight.core.control import Control, Effort
from clearsight.core.gap import ControlStatus, Gap
from clearsight.core.severity import Severity


def control(cid: str, base: float = 5, per: float = 1, deps: tuple[str, ...] = ()) -> Control:
    return Control(
        id=cid, title=f"Control {cid}", objective="test", domain="deployment", crisp_phase="P5",
        effort=Effort(base_days=base, per_system_days=per, drivers="test"), detection="attestation",
        depends_on=list(deps),
    )


def gap(system: str, cid: str, severity: Severity, status: ControlStatus = "missing") -> Gap:
    return Gap(id=f"GAP:{system}:{cid}", system=system, control=cid, title=f"Control {cid}", status=status,
               severity=severity, required_by=["test"], status_reason="test")


def test_severity_sets_the_phase_and_low_goes_to_backlog() -> None:
    ids = ("CS-API-01", "CS-DAT-01", "CS-MON-01", "CS-GOV-01")
    controls = {c: control(c) for c in ids}
    plan = build_plan([
        gap("a", "CS-API-01", Severity.CRITICAL), gap("a", "CS-DAT-01", Severity.HIGH),
        gap("a", "CS-MON-01", Severity.MEDIUM), gap("a", "CS-GOV-01", Severity.LOW),
        gap("a", "CS-GOV-01", Severity.LOW, status="implemented"),
    ], controls, [60, 60, 60])
    phase = {a.control: a.phase for a in plan.actions}
    assert phase == {"CS-API-01": 1, "CS-DAT-01": 2, "CS-MON-01": 3, "CS-GOV-01": None}
    assert plan.backlog == ["ACT:CS-GOV-01:low"]
    assert [p.name for p in plan.phases] == ["Critical", "High", "Medium"]


def test_one_action_per_control_with_effort_per_extra_system() -> None:
    controls = {"CS-API-01": control("CS-API-01", base=4, per=1.5)}
    plan = build_plan([gap(s, "CS-API-01", Severity.HIGH) for s in ("a", "b", "c")], controls, [60, 60, 60])
    (action,) = plan.actions
    assert action.systems == ["a", "b", "c"]
    assert action.effort_days == 7.0
    assert plan.total_effort_days == 7.0


def test_prerequisite_is_placed_with_its_dependant_and_first() -> None:
    controls = {c.id: c for c in (control("CS-MON-01"), control("CS-API-02", deps=("CS-MON-01",)))}
    plan = build_plan([gap("a", "CS-API-02", Severity.CRITICAL), gap("a", "CS-MON-01", Severity.MEDIUM)],
                      controls, [60, 60, 60])
    by = {a.control: a for a in plan.actions}
    assert by["CS-MON-01"].phase == 1
    assert "prerequisite of ACT:CS-API-02:critical" in (by["CS-MON-01"].note or "")
    assert by["CS-API-02"].depends_on == ["ACT:CS-MON-01:medium"]
    assert (by["CS-MON-01"].start_week or 0) <= (by["CS-API-02"].start_week or 0)
    assert plan.key_controls == ["ACT:CS-API-02:critical"]  # the prerequisite is not a key control


def test_prerequisite_is_not_pulled_forward_when_its_dependant_slips() -> None:
    controls = {c.id: c for c in (control("CS-SUP-01", base=5), control("CS-IR-04", base=50, deps=("CS-SUP-01",)),
                                  control("CS-API-01", base=30))}
    plan = build_plan([gap("a", "CS-IR-04", Severity.CRITICAL), gap("a", "CS-SUP-01", Severity.MEDIUM),
                       gap("a", "CS-API-01", Severity.CRITICAL)], controls, [40, 60, 60])
    by = {a.control: a for a in plan.actions}
    assert by["CS-API-01"].phase == 1
    assert by["CS-IR-04"].phase == 2  # does not fit phase 1 after CS-API-01
    assert by["CS-SUP-01"].phase == 2  # comes with it, not earlier


def test_critical_systems_are_not_held_back_by_the_long_tail() -> None:
    controls = {"CS-API-02": control("CS-API-02", base=2, per=1)}
    gaps = [gap("crit", "CS-API-02", Severity.CRITICAL)]
    gaps += [gap(f"m{i}", "CS-API-02", Severity.MEDIUM) for i in range(80)]
    plan = build_plan(gaps, controls, [20, 20, 20])
    by = {a.id: a for a in plan.actions}
    assert by["ACT:CS-API-02:critical"].phase == 1
    assert by["ACT:CS-API-02:critical"].systems == ["crit"]
    medium = [a for a in plan.actions if a.severity is Severity.MEDIUM]
    assert len(medium) > 1, "a band too big for one phase is split into batches"
    assert all(a.effort_days <= 20 for a in medium)
    assert sorted(s for a in medium for s in a.systems) == sorted(f"m{i}" for i in range(80))


def test_capacity_overflow_moves_work_to_the_next_phase_with_a_note() -> None:
    controls = {f"CS-API-0{i}": control(f"CS-API-0{i}", base=20, per=0) for i in range(1, 5)}
    plan = build_plan([gap("a", c, Severity.CRITICAL) for c in controls], controls, [40, 40, 40])
    phases = sorted(a.phase or 0 for a in plan.actions)
    assert phases == [1, 1, 2, 2]
    moved = [a for a in plan.actions if a.phase == 2]
    assert all("capacity" in (a.note or "") for a in moved)
    assert all(p.planned_days <= p.capacity_days for p in plan.phases)


def test_an_action_bigger_than_any_phase_goes_to_the_backlog_with_advice() -> None:
    controls = {"CS-API-01": control("CS-API-01", base=100)}
    plan = build_plan([gap("a", "CS-API-01", Severity.CRITICAL)], controls, [60, 60, 60])
    assert plan.actions[0].phase is None
    assert "split it or add people" in (plan.actions[0].note or "")


def test_key_controls_are_the_biggest_phase_one_risk_reducers() -> None:
    controls = {f"CS-API-0{i}": control(f"CS-API-0{i}", base=2, per=0) for i in range(1, 8)}
    gaps = [gap("a", c, Severity.CRITICAL) for c in controls]
    gaps += [gap("b", "CS-API-07", Severity.CRITICAL), gap("c", "CS-API-07", Severity.CRITICAL)]
    plan = build_plan(gaps, controls, [60, 60, 60])
    assert len(plan.key_controls) == 5
    assert "ACT:CS-API-07:critical" in plan.key_controls  # covers three systems
    assert all(a.phase == 1 for a in plan.actions if a.key)


def test_weeks_stay_inside_their_phase() -> None:
    controls = {f"CS-API-0{i}": control(f"CS-API-0{i}", base=10, per=0) for i in range(1, 7)}
    plan = build_plan([gap("a", c, Severity.HIGH) for c in controls], controls, [60, 60, 60])
    for action in plan.actions:
        assert action.phase == 2
        assert 9 <= (action.start_week or 0) <= (action.end_week or 0) <= 16

"""Discovery inside ``assess``: undeclared AI systems join the portfolio as shadow AI, and what was found in
every system's code becomes ``discovery.*`` Evidence.

Controls seen in use (components named ``control:<name>``, see :mod:`clearsight.discover.detectors.controls`)
become one ``discovery.control`` Evidence per system and control, with facts ``{control: <name>}``. A control found
in a repository-level CI file (``.github/workflows/``, ``.gitlab-ci.yml``, ``Jenkinsfile``…) that no system claims
applies to every system found in that scan: the repository's pipeline builds and ships all of them.

A shadow system's traits are inferred from its components (``discover.traits``) and say so in its
description; nobody vouched for them, so the assessment treats them as a first estimate to be declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clearsight.core.base import SourceLocation
from clearsight.core.discovery import DiscoveredComponent, DiscoveredSystem, DiscoveryReport
from clearsight.core.evidence import Evidence
from clearsight.core.ids import slugify
from clearsight.core.system import AISystem, Component
from clearsight.discover.detectors.controls import control_name, is_ci_file

COLLECTOR_ID = "discovery"


def discover_systems(root: Path, declared: Sequence[AISystem]) -> tuple[list[AISystem], list[Evidence]]:
    from clearsight.discover.run import discover
    from clearsight.discover.traits import infer_traits

    folders = {s.id: ([s.root] if s.root else []) + s.paths for s in declared}
    report = discover([root], declared=folders)
    repo_wide = _repo_wide_controls(report)
    taken = {s.id for s in declared}
    shadow: list[AISystem] = []
    evidence: list[Evidence] = []
    for found in report.systems:
        if found.declared_as is not None:
            system_id = found.declared_as
        else:
            system_id = _free_id(f"shadow-{slugify(found.id)}", taken)
            taken.add(system_id)
            shadow.append(AISystem(
                id=system_id, name=found.name, declared=False, root=found.root,
                description=("Found by discovery in code, not in the inventory; its traits are inferred from "
                             "what the code uses and should be declared."),
                traits=infer_traits(found.components), components=_components(found),
                location=SourceLocation(path=str(root / found.root)),
            ))
        evidence.append(Evidence(
            id=f"EV:{COLLECTOR_ID}:{system_id}", kind="discovery.system", source="clearsight discover",
            system=system_id,
            facts={"declared": found.declared, "components": [f"{c.kind}:{c.name}" for c in found.components]},
            summary=f"{len(found.components)} components found in {found.root}",
        ))
        evidence.extend(_control_evidence(system_id, found.components, repo_wide))
    return shadow, evidence


def _repo_wide_controls(report: DiscoveryReport) -> list[DiscoveredComponent]:
    """Control components seen in CI files that belong to no system (e.g. ``.github/workflows``)."""
    claimed = {(c.name, loc) for s in report.systems for c in s.components for loc in c.locations}
    out: list[DiscoveredComponent] = []
    for component in report.components:
        if control_name(component.name) is None:
            continue
        places = [loc for loc in component.locations
                  if is_ci_file(loc.path) and (component.name, loc) not in claimed]
        if places:
            out.append(component.model_copy(update={"locations": places}))
    return out


def _control_evidence(system_id: str, components: Sequence[DiscoveredComponent],
                      repo_wide: Sequence[DiscoveredComponent]) -> list[Evidence]:
    by_control: dict[str, DiscoveredComponent] = {}
    for component in (*components, *repo_wide):
        name = control_name(component.name)
        if name is not None and name not in by_control:
            by_control[name] = component
    return [
        Evidence(
            id=f"EV:{COLLECTOR_ID}:{system_id}:control:{name}", kind="discovery.control", source="clearsight discover",
            system=system_id, facts={"control": name},
            location=component.locations[0] if component.locations else None,
            summary=f"{name} in use: {component.evidence}"
                    + (f" ({_where(component.locations[0])})" if component.locations else ""),
        )
        for name, component in sorted(by_control.items())
    ]


def _where(location: SourceLocation) -> str:
    return f"{location.path}:{location.line}" if location.line else location.path


def _components(found: DiscoveredSystem) -> list[Component]:
    return [
        Component(kind=c.kind, name=c.name, version=c.version, location=c.locations[0] if c.locations else None,
                  detail=c.evidence)
        for c in found.components
    ]


def _free_id(candidate: str, taken: set[str]) -> str:
    base = candidate[:60].rstrip("-")
    system_id, n = base, 2
    while system_id in taken:
        system_id, n = f"{base}-{n}", n + 1
    return system_id

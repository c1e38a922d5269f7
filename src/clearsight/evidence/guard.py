"""Guard policies in a system's folders, read as ``guard.config`` Evidence.

A ``guard.yaml`` that rate-limits, watches for extraction, hardens outputs or writes an audit log closes
the matching controls on the next ``clearsight assess`` (CS-API-02, CS-MON-02, CS-API-03, CS-MON-01); the
audit summary that ``clearsight guard audit-summary --record`` writes (kind ``guard.audit``) shows the
guard actually ran. A policy that does not validate is reported as a finding, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from clearsight.core.base import SourceLocation
from clearsight.core.errors import InputError
from clearsight.core.evidence import Evidence, Finding
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem
from clearsight.evidence.folders import walk_files

COLLECTOR_ID = "guard.policy"
MAX_DEPTH = 6


def collect_guard_policies(root: Path, systems: Sequence[AISystem]) -> list[Evidence]:
    from clearsight.guard.policy import load_policy

    out: list[Evidence] = []
    by_id = {s.id: s for s in systems}
    seen: set[Path] = set()
    walked: dict[Path, list[Path]] = {}  # many systems share a folder (root "."): walk each folder once
    for system in systems:
        folders = [(root / f).resolve() for f in ([system.root] if system.root else []) + system.paths]
        for folder in dict.fromkeys(folders):
            if folder not in walked:
                walked[folder] = list(_policy_files(folder))
            for path in walked[folder]:
                if path in seen:
                    continue
                seen.add(path)
                shown = _shown(path, root)
                try:
                    policy = load_policy(path)
                except InputError as exc:
                    out.append(Evidence(
                        id=f"EV:{COLLECTOR_ID}:{system.id}:{shown}", kind="guard.invalid", source=COLLECTOR_ID,
                        system=system.id, location=SourceLocation(path=shown, line=exc.line),
                        findings=[Finding(rule="guard.policy-invalid", severity=Severity.MEDIUM,
                                          message=f"guard policy does not validate: {exc.message}",
                                          location=SourceLocation(path=shown, line=exc.line))],
                        summary="a guard policy that does not validate protects nothing",
                    ))
                    continue
                routes = [r.path for r in policy.routes]
                target = policy.system if policy.system in by_id else system.id
                facts: dict[str, str | int | float | bool | list[str]] = {
                    "rate_limit": policy.rate_limited,
                    "extraction_detection": policy.extraction_detection,
                    "output_hardening": policy.output_hardening,
                    "audit_log": policy.audit.enabled,
                    "alerts": policy.alerts.webhook is not None,
                    "prompt_screening": any(r.screening is not None for r in policy.routes),
                    "routes": routes,
                    "shared_limits": not policy.storage.startswith("memory://"),
                }
                on = [k for k in ("rate_limit", "extraction_detection", "output_hardening", "audit_log") if facts[k]]
                out.append(Evidence(
                    id=f"EV:{COLLECTOR_ID}:{target}:{shown}", kind="guard.config", source=COLLECTOR_ID,
                    system=target, facts=facts, location=SourceLocation(path=shown, line=1),
                    summary=f"guard policy covers {', '.join(routes)}"
                            + (f" with {', '.join(k.replace('_', ' ') for k in on)}" if on else " (no protection on)"),
                ))
    return out


def _policy_files(folder: Path) -> Iterator[Path]:
    from clearsight.guard.policy import POLICY_NAMES

    for entry in walk_files(folder, max_depth=MAX_DEPTH):
        if entry.name in POLICY_NAMES:
            yield entry.resolve()


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)

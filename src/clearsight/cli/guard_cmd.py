"""``clearsight guard``: run the guard as a proxy, check a policy, summarise an audit log as evidence."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clearsight.cli.extras import require
from clearsight.core.errors import InputError

if TYPE_CHECKING:
    from clearsight.guard.policy import GuardPolicy

app = typer.Typer(help="Runtime guard for model APIs: limits, extraction detection, hardening, audit.",
                  no_args_is_help=True)



class SummaryFormat(StrEnum):
    table = "table"
    json = "json"


def _runtime() -> None:
    require(("httpx", "limits", "uvicorn"), what="the guard's runtime", extra="guard")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got {value!r})")
    return host or "127.0.0.1", int(port)


@app.command("serve")
def serve(
    upstream: str = typer.Option(..., "--upstream", help="Base URL of the model API to protect."),
    policy_file: Path = typer.Option(..., "--policy", help="guard.yaml"),
    listen: str = typer.Option("127.0.0.1:8080", "--listen", help="HOST:PORT to listen on."),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Put the guard in front of any HTTP model API, whatever it is written in."""
    policy = _checked_policy(policy_file)
    if not upstream.startswith(("http://", "https://")):
        raise InputError(f"--upstream must be an http(s) URL (got {upstream!r})")
    host, port = _listen(listen)
    _runtime()
    import uvicorn

    from clearsight.guard.proxy import build_proxy

    app = build_proxy(upstream, policy)  # an unusable upstream URL is refused before anything is announced
    routes = ", ".join(f"{'/'.join(r.methods)} {r.path}" for r in policy.routes)
    typer.echo(f"clearsight guard: http://{host}:{port} -> {upstream} ({routes}; limits in {policy.storage}; "
               f"audit {policy.audit.target if policy.audit.enabled else 'off'})", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")


def _checked_policy(policy_file: Path) -> GuardPolicy:
    """The policy, with what only the running guard used to find (screeners, detector tuning, reference data)
    checked as well, every error naming the policy file: ``check`` passes only what ``serve`` starts with."""
    from clearsight.guard.engine import runtime_parts
    from clearsight.guard.policy import load_policy

    policy = load_policy(policy_file)
    try:
        runtime_parts(policy)
    except InputError as exc:
        raise InputError(exc.message, path=exc.path or str(policy_file), line=exc.line, field=exc.field,
                         hint=exc.hint) from None
    return policy


@app.command("check")
def check(
    policy_file: Path = typer.Argument(..., help="guard.yaml to validate."),
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", "-f"),
) -> None:
    """Validate a policy and show what it protects (exit 2 with file:line on an error)."""
    policy = _checked_policy(policy_file)
    if fmt is SummaryFormat.json:
        typer.echo(policy.model_dump_json(indent=2))
        return
    typer.echo(f"{policy_file}: valid guard policy" + (f" for system '{policy.system}'" if policy.system else ""))
    typer.echo(f"  limits storage: {policy.storage}   audit: "
               f"{policy.audit.target if policy.audit.enabled else 'off'}   "
               f"alerts: {policy.alerts.webhook or 'log only'}")
    from clearsight.guard.shared_volume import SYNC_SECONDS

    # the policy takes only memory:// or one Redis server, on which replicas share the volume count
    counted = ("counted per process" if policy.storage.startswith("memory://")
               else f"counted by all replicas in Redis, every {SYNC_SECONDS:g} s")
    for route in policy.routes:
        parts = [f"limits {', '.join(route.limits)}" if route.limits else "no limits"]
        if route.extraction and route.extraction.enabled:
            spec = route.extraction
            stated = ([f"volume over {spec.volume}, {counted}"] if spec.volume else []) + (
                [f"clock on {spec.clock}"] if spec.clock is not None else [])
            named = f" ({'; '.join(stated)})" if stated else ""
            parts.append(f"extraction{named} -> {'+'.join(spec.actions)}")
        if route.hardening and route.hardening.active:
            parts.append("hardening " + ", ".join(
                ([f"round {route.hardening.round}"] if route.hardening.round is not None else [])
                + (["top label only"] if route.hardening.top_label_only else [])
                + ([f"noise {route.hardening.noise}"] if route.hardening.noise else [])))
        if route.screening:
            parts.append(f"screening {route.screening.screener} -> {route.screening.action}")
        typer.echo(f"  {'/'.join(route.methods)} {route.path}: {'; '.join(parts)}")


@app.command("audit-summary")
def audit_summary(
    source: str = typer.Argument(..., help="Audit log: a .jsonl file or a database URL."),
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", "-f"),
    record: Path | None = typer.Option(None, "--record", help="Folder holding clearsight.yaml: record the summary "
                                       "as evidence in its .clearsight/evidence for the next assess."),
    system: str | None = typer.Option(None, "--system", help="System ID the evidence is for (with --record)."),
) -> None:
    """Summarise what the guard decided; with --record it becomes evidence for `clearsight assess`."""
    from clearsight.guard.audit_summary import summarise

    summary = summarise(source)
    if record is not None:
        if not system:
            raise InputError("--record needs --system (the system ID in clearsight.yaml)")
        from clearsight.evidence.recorded import EVIDENCE_FOLDER, record_evidence

        path = record_evidence(
            record / EVIDENCE_FOLDER, kind="guard.audit", system=system, source="clearsight guard audit-summary",
            facts={"records": summary.total, "clients": summary.clients,
                   "blocked": summary.actions.get("block", 0), "throttled": summary.actions.get("throttle", 0),
                   "audit_log": summary.total > 0},
            summary=f"guard audit log with {summary.total} decisions from {summary.clients} clients",
        )
        typer.echo(f"recorded {path}", err=True)
    if fmt is SummaryFormat.json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
        return
    first = summary.first.isoformat() if summary.first else None
    last = summary.last.isoformat() if summary.last else None
    typer.echo(f"{source}: {summary.total} decisions, {summary.clients} clients, {first} .. {last}")
    for action, count in sorted(summary.actions.items()):
        typer.echo(f"  {action:<10} {count}")
    for tally in summary.top_clients:
        typer.echo(f"  client {tally.client}: {tally.blocks} blocked, {tally.alerts} alerts")
    for peak in summary.busiest:
        typer.echo(f"  busiest client-day on {peak.route}: {peak.client}, {peak.queries} answered queries "
                   f"(the day to {peak.at.isoformat()})")
    if summary.unshared:
        typer.echo(f"  {summary.unshared} answers judged on one replica's volume count (the shared one in Redis "
                   "out of reach)")
    if summary.malformed:
        typer.echo(f"  {summary.malformed} malformed lines, e.g. {'; '.join(summary.malformed_examples)}")

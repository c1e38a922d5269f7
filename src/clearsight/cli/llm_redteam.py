"""``clearsight llm redteam``: attack an LLM application over HTTP and report what got through.

Thin on purpose: options are checked and turned into a target and settings here; probing, judging and
rendering live in ``clearsight.llm.redteam`` and ``clearsight.report.redteam``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clearsight.cli.extras import require
from clearsight.cli.gates import SeverityGate
from clearsight.core.errors import InputError

if TYPE_CHECKING:
    from clearsight.core.redteam import RedTeamReport
    from clearsight.llm.redteam.targets import Target

MAX_SYSTEM_PROMPT_BYTES = 64 * 1024
MIN_CANARY_CHARS = 8  # shorter values turn up in ordinary answers by chance
EXIT_INTERRUPTED = 130  # what a shell reports for a program stopped by SIGINT


class TargetFormat(StrEnum):
    openai = "openai"
    template = "template"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"
    sarif = "sarif"


def redteam(
    target: str = typer.Option(..., "--target", help="Chat endpoint (base URL or exact URL) or the template's URL."),
    target_format: TargetFormat = typer.Option(TargetFormat.openai, "--target-format"),
    template: Path | None = typer.Option(None, "--template", help="Request/response template (with template format)."),
    model: str | None = typer.Option(None, "--model", help="Model name sent in the request."),
    api_key_env: str | None = typer.Option(None, "--api-key-env",
                                           help="Name of the environment variable holding the API key."),
    system_prompt: Path | None = typer.Option(None, "--system-prompt",
                                              help="The application's system prompt; canaries are appended to it."),
    canary: list[str] = typer.Option([], "--canary", help="A secret planted in the application's own prompt or "
                                                          "knowledge base; its appearance is a leak (repeatable)."),
    probes: str | None = typer.Option(None, "--probes", help="Comma-separated probe families (default: all)."),
    rate: float | None = typer.Option(None, "--rate", min=0.01, help="At most N requests per second."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Probes in flight at once."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait for each answer."),
    retries: int = typer.Option(3, "--retries", min=0, max=10, help="Retries on connection errors, 429 and 5xx."),
    attempts: int = typer.Option(1, "--attempts", min=1, max=20, help="Runs of every probe (answers vary)."),
    fmt: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    fail_on: SeverityGate = typer.Option(SeverityGate.high, "--fail-on",
                                         help="Exit 1 when a vulnerable result reaches this."),
    max_errors: int = typer.Option(0, "--max-errors", min=0, help="Exit 2 when more probe runs than this error."),
    record: Path | None = typer.Option(None, "--record", help="Record the run as evidence in this folder."),
    system: str | None = typer.Option(None, "--system", help="System ID the evidence is for (with --record)."),
) -> None:
    """Probe an LLM application for injection, jailbreaks, prompt and data leakage, harmful output, tool misuse."""
    if (record is None) != (system is None):
        raise InputError("--record and --system go together")
    require(("httpx",), what="the LLM red-team runner", extra="llm")
    from clearsight.cli.output import write_outputs
    from clearsight.cli.progress import progress_bar
    from clearsight.llm.redteam.probes import select_families
    from clearsight.llm.redteam.runner import RunSettings, run_redteam
    from clearsight.report import redteam as render

    families = select_families([p.strip() for p in probes.split(",") if p.strip()] if probes else None)
    base_prompt = _read_prompt(system_prompt) if system_prompt else None
    canaries = _canaries(canary)
    if output is not None and not output.parent.is_dir():  # found out now, not after an hour of probing
        raise InputError("output folder does not exist", path=str(output.parent), field="--output")
    chosen = _target(target, target_format, template, model, api_key_env)
    settings = RunSettings(concurrency=concurrency, rate=rate, timeout=timeout, retries=retries, attempts=attempts)
    with progress_bar("Probing") as progress:
        report = run_redteam(chosen, families, settings=settings, system_prompt=base_prompt, canaries=canaries,
                             progress=progress)
    text = {ReportFormat.json: render.render_json, ReportFormat.html: render.render_html,
            ReportFormat.sarif: render.render_sarif, ReportFormat.table: render.render_table}[fmt](report)
    write_outputs({output: text})
    if report.interrupted:
        typer.echo(f"interrupted: the report holds the {len(report.results)} probe runs that finished; evidence is "
                   "not recorded for a partial run", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if record is not None and system is not None:
        _record(record, system, report)
    _exit(report, fail_on, max_errors)


def _exit(report: RedTeamReport, fail_on: SeverityGate, max_errors: int) -> None:
    """Exit 1 for a finding at --fail-on, 2 when the run proved too little, else 0 with warnings."""
    counts = report.counts()
    if not report.results:
        first = report.skipped[0].reason if report.skipped else "no probe selected"
        raise InputError(f"no probe ran against {report.target.url}: {first}",
                         hint="the report lists every skipped probe with its reason")
    if len(report.errors) == len(report.results):
        raise InputError(f"no probe got an answer from {report.target.url}: {report.errors[0].reason}",
                         hint="check --target, --target-format and that the application is running")
    if fail_on.fails(report.worst):
        raise typer.Exit(1)
    if counts["error"] > max_errors:
        raise InputError(f"{counts['error']} of {len(report.results)} probe runs got no answer (more than "
                         f"--max-errors {max_errors}; first: {report.errors[0].reason})",
                         hint="errors test nothing; fix the cause or raise --max-errors")
    for verdict, meaning in (("error", "got no answer and count as errors, not as resisted"),
                             ("inconclusive", "got answers the judge could not rule on; read them in the report"),
                             ("skipped", "were skipped; the report says why")):
        if counts[verdict]:
            total = len(report.results) + (counts["skipped"] if verdict == "skipped" else 0)
            typer.echo(f"warning: {counts[verdict]} of {total} probe runs {meaning}", err=True)


def _canaries(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in (v.strip() for v in values):
        if len(value) < MIN_CANARY_CHARS:
            raise InputError(f"a canary needs at least {MIN_CANARY_CHARS} characters, or ordinary answers would "
                             "contain it by chance", field="--canary")
        out.append(value)
    return tuple(out)


def _read_prompt(path: Path) -> str:
    from clearsight.yaml_models import read_text_file

    if not path.is_file():
        raise InputError("system prompt file does not exist", path=str(path))
    return read_text_file(path, max_bytes=MAX_SYSTEM_PROMPT_BYTES, what="a system prompt")


def _api_key(variable: str | None) -> str | None:
    if variable is None:
        return None
    from clearsight.llm.redteam.targets import check_api_key

    value = os.environ.get(variable)
    if not value:
        raise InputError(f"environment variable {variable} is not set or empty", field="--api-key-env")
    return check_api_key(value, f"environment variable {variable}")


def _target(url: str, fmt: TargetFormat, template: Path | None, model: str | None, key_env: str | None) -> Target:
    from clearsight.llm.redteam.targets import OpenAITarget, TemplateTarget, load_template

    if fmt is TargetFormat.openai:
        if template is not None:
            raise InputError("--template goes with --target-format template")
        return OpenAITarget(url, model=model, api_key=_api_key(key_env), api_key_env=key_env)
    if template is None:
        raise InputError("--target-format template needs --template FILE", hint="docs/llm-redteam.md has an example")
    spec = load_template(template)
    return TemplateTarget(url, spec, template_path=str(template), model=model, api_key=_api_key(key_env),
                          api_key_env=key_env)


def _record(folder: Path, system: str, report: RedTeamReport) -> None:
    from clearsight.core.evidence import FactValue
    from clearsight.evidence.recorded import record_evidence

    counts = report.counts()
    answered = report.answered_families()
    facts: dict[str, FactValue] = {
        "run": bool(report.families) and all(f in answered for f in report.families),
        "target": report.target.url,
        "families": report.families,
        "probes": len(report.results),
        "worst": report.worst.value if report.worst else "none",
    }
    facts.update(counts)
    for f in report.summary:
        facts[f"vulnerable.{f.family}"] = f.vulnerable
        facts[f"resisted.{f.family}"] = f.resisted
        facts[f"inconclusive.{f.family}"] = f.inconclusive
        facts[f"error.{f.family}"] = f.error
        facts[f"skipped.{f.family}"] = f.skipped
    where = record_evidence(folder, kind="llm.redteam", system=system, source="clearsight llm redteam", facts=facts,
                            summary=f"{report.target.url}: {counts['vulnerable']} vulnerable of "
                                    f"{len(report.results)} probe runs ({counts['skipped']} skipped, "
                                    f"{counts['error']} errors)")
    typer.echo(f"recorded evidence in {where}" + ("" if facts["run"] else "; run is false, since not every selected "
                                                  "family got an answer"), err=True)

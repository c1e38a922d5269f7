"""``clearsight assess PATH``: the main job."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clearsight.core.errors import InputError
from clearsight.report.names import FORMAT_NAMES

if TYPE_CHECKING:  # the CLI starts fast because heavy modules load only when a command runs
    from clearsight.atomic_files import Rendered
    from clearsight.core.assessment import Assessment
    from clearsight.core.severity import Severity
    from clearsight.frameworks.atlas import AtlasCatalogue

FORMAT_HELP = f"table, {', '.join(FORMAT_NAMES)}. Repeat for several; with --output-dir each gets a file."


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


def assess(
    path: Path = typer.Argument(..., help="Folder with clearsight.yaml, or the inventory file itself."),
    formats: list[str] = typer.Option(
        ["table"], "--format", "-f",
        help=FORMAT_HELP,
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the (single) format to this file."),
    output_dir: Path | None = typer.Option(None, "--output-dir", help="Write every format into this folder."),
    fail_on: FailOn | None = typer.Option(None, "--fail-on", help="Exit 1 if an open gap is at least this."),
    as_of: str | None = typer.Option(None, "--as-of", help="Assess as of this date (YYYY-MM-DD)."),
    calendar: str | None = typer.Option(None, "--calendar", help="EU AI Act calendar ID (see 'catalogue versions')."),
    home: Path | None = typer.Option(None, "--home", help="Clearsight data folder (an installed ATLAS edition)."),
    no_discover: bool = typer.Option(False, "--no-discover", help="Assess the declared systems only."),
) -> None:
    """Assess the AI systems declared under PATH and write the reports."""
    from clearsight.cli.lifetime import keep_until_exit
    from clearsight.cli.output import write_outputs
    from clearsight.core.severity import Severity
    from clearsight.frameworks.bundle import load_catalogues
    from clearsight.runner import assess_path

    unknown = [f for f in formats if f != "table" and f not in FORMAT_NAMES]
    if unknown:
        raise InputError(f"unknown format '{unknown[0]}'", hint="choose from table, " + ", ".join(FORMAT_NAMES))
    if output and output_dir:
        raise InputError("use either --output or --output-dir, not both")
    if output and len(formats) > 1:
        raise InputError("--output takes one format; use --output-dir for several")
    if not output and not output_dir and len(set(formats)) > 1:  # they would overwrite each other on the screen
        raise InputError("standard output takes one format; use --output-dir for several")
    date = _parse_date(as_of) if as_of else None
    catalogues = load_catalogues(home)
    assessment = assess_path(path, as_of=date, calendar=calendar, catalogues=catalogues, discover=not no_discover)
    keep_until_exit(assessment)
    rendered = _render(assessment, catalogues.atlas, formats, output, output_dir)
    write_outputs(rendered)
    for target in rendered:
        if target is not None:
            typer.echo(f"wrote {target}", err=True)
    if fail_on is not None and _fails(assessment, Severity(fail_on.value)):
        raise typer.Exit(1)


def _render(
    assessment: Assessment, atlas: AtlasCatalogue, formats: list[str], output: Path | None,
    output_dir: Path | None,
) -> dict[Path | None, Rendered]:
    from clearsight.cli.output import prepare_folder
    from clearsight.cli.tables import assessment_table
    from clearsight.report.registry import get_format

    rendered: dict[Path | None, Rendered] = {}
    if output_dir is not None:
        prepare_folder(output_dir)
    for name in dict.fromkeys(formats):
        if name == "table":  # a terminal view: always to the screen when writing a folder of reports
            text: Rendered = assessment_table(assessment)
            target = None if output_dir else output
        else:
            fmt = get_format(name)
            text = fmt.render(assessment, atlas)
            target = (output_dir / f"assessment.{fmt.extension}") if output_dir else output
        rendered[target] = text
    return rendered


def _fails(assessment: Assessment, threshold: Severity) -> bool:
    return any(g.is_open and g.severity >= threshold for r in assessment.systems for g in r.gaps)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--as-of '{text}' is not a date", hint="use YYYY-MM-DD") from exc

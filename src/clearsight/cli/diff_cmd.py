"""``clearsight diff OLD.json NEW.json``: what got better or worse."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer


class DiffFormat(StrEnum):
    table = "table"
    json = "json"


def diff(
    old: Path = typer.Argument(..., help="Earlier assessment (JSON report)."),
    new: Path = typer.Argument(..., help="Later assessment (JSON report)."),
    fmt: DiffFormat = typer.Option(DiffFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o"),
    fail_on_worse: bool = typer.Option(False, "--fail-on-worse", help="Exit 1 when anything got worse."),
) -> None:
    """Compare two assessments by their stable IDs."""
    from clearsight.assess.diff import diff_assessments
    from clearsight.cli.output import write_outputs
    from clearsight.cli.tables import diff_table
    from clearsight.report.json_report import read_assessment

    result = diff_assessments(read_assessment(old), read_assessment(new))
    if fmt is DiffFormat.json:
        payload = result.model_dump(mode="json")
        payload.update(improved=result.improved, worsened=result.worsened)
        text = json.dumps(payload, indent=2) + "\n"
    else:
        text = diff_table(result)
    write_outputs({output: text})
    if fail_on_worse and result.worsened:
        raise typer.Exit(1)

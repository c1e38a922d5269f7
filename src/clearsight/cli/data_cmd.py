"""``clearsight data``: screen a training set for poisoning and diff it against the trusted version."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from clearsight.cli.extras import require
from clearsight.cli.gates import SeverityGate
from clearsight.core.errors import InputError

app = typer.Typer(help="Training-data defences: poisoning screening, baseline diff, manifests.", no_args_is_help=True)



class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"
    html = "html"


def _runtime() -> None:
    require(("pandera", "pyarrow", "scipy", "sklearn", "PIL"), what="the data checks", extra="data")


@app.command("check")
def check(
    data: Path = typer.Argument(..., help="Training data: CSV, Parquet or .npz (X and labels)."),
    label: str = typer.Option(..., "--label", help="Label column (or the label array in an .npz)."),
    id_column: str | None = typer.Option(None, "--id", help="Column that identifies a row across versions."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Trusted previous data file or manifest."),
    baseline_key: Path | None = typer.Option(None, "--baseline-key",
                                             help="Public key the baseline's signature must verify with."),
    schema: Path | None = typer.Option(None, "--schema", help="schema.yaml with the rules the data must meet."),
    fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    fail_on: SeverityGate = typer.Option(SeverityGate.high, "--fail-on",
                                         help="Exit 1 when a finding reaches this severity."),
    delimiter: str | None = typer.Option(None, "--delimiter", help="CSV delimiter (guessed from the header)."),
    max_rows: int = typer.Option(1_000_000, "--max-rows", min=10, help="Refuse data larger than this."),
    sample: int | None = typer.Option(None, "--sample", min=10,
                                      help="Screen a uniform sample of N rows; every row of the CSV/Parquet "
                                           "data is still read, in pieces, by the executor."),
    signals: str | None = typer.Option(None, "--signals", help="Comma-separated signal IDs (default: all)."),
    ignore: str | None = typer.Option(None, "--ignore",
                                      help="Comma-separated columns the signals leave out (label leaks, notes)."),
    no_effect: bool = typer.Option(False, "--no-effect", help="Skip retraining without the flagged rows."),
    record: Path | None = typer.Option(None, "--record", help="Record the result as evidence in this folder."),
    system: str | None = typer.Option(None, "--system", help="System ID the evidence is for (with --record)."),
    seed: int = typer.Option(0, "--seed"),
    executor_spec: str = typer.Option("local", "--executor",
                                      help="Where model fits (and, with --sample, the reading) run: local, or "
                                           "dask://HOST:PORT (clearsight[dask])."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Worker processes for the local executor."),
) -> None:
    """Screen training data for poisoning before a training run (exit 1 when a finding reaches --fail-on)."""
    from clearsight.cli.output import write_outputs

    if (record is None) != (system is None):
        raise InputError("--record and --system go together")
    from clearsight.executors import executor_from

    executor = executor_from(executor_spec, jobs)
    _runtime()
    from clearsight.data.check import check_data
    from clearsight.report import data_check as render

    chosen = [s.strip() for s in signals.split(",") if s.strip()] if signals else None
    with _status() as progress:
        report = check_data(data, label=label, id_column=id_column, baseline=baseline, schema=schema, sample=sample,
                            baseline_key=baseline_key,
                            delimiter=delimiter,
                            max_rows=max_rows, signals=chosen, effect=not no_effect, seed=seed, executor=executor,
                            ignore=[c.strip() for c in ignore.split(",") if c.strip()] if ignore else None,
                            progress=progress)
    text = {CheckFormat.json: render.render_json, CheckFormat.md: render.render_markdown,
            CheckFormat.html: render.render_html, CheckFormat.table: render.render_table}[fmt](report)
    write_outputs({output: text})
    if record is not None and system is not None:
        from clearsight.evidence.recorded import record_evidence

        ran = {s.id for s in report.signals if s.ran}
        record_evidence(record, kind="data.check", system=system, source="clearsight data check", facts={
            "poisoning_detection": bool(ran & {"label.confident", "region.targeted", "trigger.pattern"}),
            "baseline_diff": report.baseline is not None,
            "validation": report.validation is not None,
            "validation_passed": report.validation is not None and report.validation.passed,
            "provenance": report.baseline is not None and report.data.sha256 is not None
                          and report.baseline.manifest_verified is not False,
            "baseline_signed": bool(report.baseline and report.baseline.manifest_verified),
            "data_sha256": report.data.sha256 or "", "rows": report.data.rows, "flagged": len(report.flagged),
            "worst": report.worst.value if report.worst else "none",
        }, summary=f"{report.data.path}: {len(report.flagged)} rows flagged of {report.data.rows}")
    if fail_on.fails(report.worst):
        raise typer.Exit(1)


@app.command("infer-schema")
def infer_schema_cmd(
    data: Path = typer.Argument(..., help="Trusted training data to learn the rules from."),
    label: str = typer.Option(..., "--label"),
    id_column: str | None = typer.Option(None, "--id"),
    output: Path | None = typer.Option(None, "--output", "-o", help="schema.yaml to write (default: stdout)."),
    delimiter: str | None = typer.Option(None, "--delimiter"),
    max_rows: int = typer.Option(1_000_000, "--max-rows", min=10),
) -> None:
    """Write a starting schema from a trusted snapshot: types, ranges, allowed values, uniqueness, relations."""
    _runtime()
    from clearsight.cli.output import write_outputs
    from clearsight.data.loading import load_table
    from clearsight.data.schema import dump_schema, infer_schema

    table = load_table(data, label, id_column=id_column, max_rows=max_rows, delimiter=delimiter)
    write_outputs({output: dump_schema(infer_schema(table))})


@app.command("manifest")
def manifest(
    data: Path = typer.Argument(..., help="The trusted training data to snapshot."),
    label: str = typer.Option(..., "--label"),
    id_column: str | None = typer.Option(None, "--id"),
    output: Path = typer.Option(..., "--output", "-o", help="Manifest file to write (JSON)."),
    key: Path | None = typer.Option(None, "--key", help="EC private key (PEM): sign the manifest to MANIFEST.sig."),
    delimiter: str | None = typer.Option(None, "--delimiter"),
    max_rows: int = typer.Option(1_000_000, "--max-rows", min=10),
) -> None:
    """Write a manifest (file hash, one fingerprint and label per row, feature samples) to diff against later.

    With --key it is signed (OpenSSF model signing, to MANIFEST.sig); ``data check --baseline-key`` verifies it.
    """
    _runtime()
    from clearsight.data.baseline import write_manifest
    from clearsight.data.loading import load_table

    table = load_table(data, label, id_column=id_column, max_rows=max_rows, delimiter=delimiter)
    if output.parent and not output.parent.is_dir():
        raise InputError("output folder does not exist", path=str(output.parent))
    write_manifest(table, output)
    typer.echo(f"{output}: manifest of {table.rows:,} rows (sha256 {table.sha256})", err=True)
    if key is not None:
        from clearsight.controls.integrity.signing import sign_model

        signed = sign_model(output, private_key=key)
        typer.echo(f"{signed.signature}: signature of the manifest", err=True)


@contextmanager
def _status() -> Iterator[Callable[[str], None] | None]:
    """A spinner naming the step in progress on a terminal's stderr; silent in pipes and CI logs."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("reading data") as live:
        yield lambda step: live.update(step)

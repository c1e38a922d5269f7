"""``clearsight model``: scan model files without loading them, sign and verify models, vet downloads."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clearsight.cli.progress import progress_bar
from clearsight.core.errors import InputError

if TYPE_CHECKING:
    from clearsight.core.artifact import ModelScanReport

app = typer.Typer(help="Model artifacts: scan, sign, verify, check downloaded pre-trained models.",
                  no_args_is_help=True)


class ScanFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


class FailOn(StrEnum):
    malicious = "malicious"
    suspicious = "suspicious"


@app.command("scan")
def scan(
    paths: list[Path] = typer.Argument(..., help="Files and folders to scan (recursively)."),
    fmt: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    fail_on: FailOn = typer.Option(FailOn.malicious, "--fail-on",
                                   help="Exit 1 when a file's verdict reaches this (errors count as suspicious)."),
    policy_file: Path | None = typer.Option(None, "--policy", help="YAML file extending the pickle allowlist."),
    show_clean: bool = typer.Option(False, "--show-clean", help="List clean files in the table too."),
    no_hash: bool = typer.Option(False, "--no-hash", help="Skip the SHA-256 of each file (faster on big files)."),
) -> None:
    """Scan model files for code that would run when they are loaded. Nothing is unpickled or imported."""
    from clearsight.cli.output import write_outputs
    from clearsight.controls.artifacts.containers import Limits
    from clearsight.controls.artifacts.policy import load_policy
    from clearsight.controls.artifacts.scan import scan_paths
    from clearsight.report.model_scan import render_json, render_sarif, render_table

    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise InputError("no such file or folder", path=str(missing[0]))
    policy = load_policy(policy_file)
    with progress_bar("Scanning") as progress:
        report = scan_paths(paths, policy=policy, progress=progress, limits=Limits(hash_files=not no_hash))
    if fmt is ScanFormat.json:
        text = render_json(report)
    elif fmt is ScanFormat.sarif:
        text = render_sarif(report)
    else:
        text = render_table(report, show_clean=show_clean)
    write_outputs({output: text})
    if reaches(report, fail_on.value):
        raise typer.Exit(1)


def reaches(report: ModelScanReport, threshold: str) -> bool:
    """Whether any verdict reaches ``threshold``; a file that could not be read counts as suspicious."""
    from clearsight.core.artifact import VERDICT_ORDER

    wanted = VERDICT_ORDER[threshold]
    return any(VERDICT_ORDER["suspicious" if f.verdict == "error" else f.verdict] >= wanted for f in report.files)


@app.command("sign")
def sign(
    path: Path = typer.Argument(..., help="Model file or folder (every file in it is covered)."),
    key: Path | None = typer.Option(None, "--key", help="Private key (PEM, EC) for key-based signing."),
    certificate: Path | None = typer.Option(None, "--certificate", help="Signing certificate (certificate mode)."),
    chain: list[Path] = typer.Option([], "--chain", help="Certificate chain files (certificate mode)."),
    sigstore: bool = typer.Option(False, "--sigstore", help="Keyless signing with Sigstore (needs a network)."),
    signature: Path | None = typer.Option(None, "--signature", help="Where to write it (default: model.sig)."),
) -> None:
    """Sign a model with the OpenSSF model-signing library."""
    from clearsight.controls.integrity import signing

    if sigstore:
        result = signing.sign_model_sigstore(path, signature=signature)
    elif key is None:
        raise InputError("give --key (with --certificate for certificate mode) or --sigstore")
    elif certificate is not None:
        result = signing.sign_model_with_certificate(
            path, private_key=key, signing_certificate=certificate, certificate_chain=chain, signature=signature
        )
    else:
        result = signing.sign_model(path, private_key=key, signature=signature)
    typer.echo(f"signed {result.files} files of {result.model} ({result.method}) -> {result.signature}")


@app.command("verify")
def verify(
    path: Path = typer.Argument(..., help="Model file or folder."),
    key: Path | None = typer.Option(None, "--key", help="Public key (PEM) for key-based signatures."),
    chain: list[Path] = typer.Option([], "--chain", help="Trusted certificate chain (certificate mode)."),
    identity: str | None = typer.Option(None, "--identity", help="Expected signer identity (Sigstore)."),
    issuer: str | None = typer.Option(None, "--issuer", help="Expected OIDC issuer (Sigstore)."),
    signature: Path | None = typer.Option(None, "--signature", help="Signature file (default: model.sig)."),
    record: str | None = typer.Option(
        None, "--record", help="System ID: save the result as evidence for 'clearsight assess'."),
    evidence_dir: Path = typer.Option(Path(".clearsight/evidence"), "--evidence-dir",
                                      help="Where --record writes (read by assess next to clearsight.yaml)."),
) -> None:
    """Verify a model's signature; fails on a changed, missing or extra file, or the wrong key."""
    from clearsight.controls.integrity import signing
    from clearsight.evidence.recorded import record_evidence

    result = signing.verify_model(path, public_key=key, certificate_chain=chain or None, identity=identity,
                                  oidc_issuer=issuer, signature=signature)
    if record is not None:
        where = record_evidence(
            evidence_dir, kind="integrity.signature", system=record, source="clearsight model verify",
            facts={"verified": result.ok, "files": result.files, "method": result.method},
            summary=result.summary(),
        )
        typer.echo(f"recorded evidence in {where}", err=True)
    if not result.ok:
        typer.echo(f"verification FAILED for {result.model}", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"verified {result.files} files of {result.model} (signed by {result.signer or 'unknown'})")


@app.command("check-source")
def check_source(
    path: Path = typer.Argument(..., help="A downloaded pre-trained model folder (or a hub cache folder)."),
    allow_licence: list[str] = typer.Option([], "--allow-licence", help="Extra licences to accept (SPDX IDs)."),
    fmt: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="table or json"),
) -> None:
    """Vet a pre-trained model: weights format, licence, pinned revision, signature and scan verdict."""
    import json

    from clearsight.controls.artifacts import source_check
    from clearsight.controls.artifacts.policy import default_policy
    from clearsight.controls.artifacts.scan import scan_paths
    from clearsight.core.artifact import VERDICT_ORDER

    def verdict_of_folder(folder: Path) -> str:
        report = scan_paths([folder], policy=default_policy())
        return max((f.verdict for f in report.files), key=lambda v: VERDICT_ORDER[v], default="clean")

    allowed = source_check.DEFAULT_ALLOWED | frozenset(x.lower() for x in allow_licence)
    result = source_check.check_source(path, licence_allowlist=allowed, scan=verdict_of_folder)
    if fmt is ScanFormat.json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        typer.echo(f"{result.status.upper()}: {result.path}")
        for check in result.checks:
            typer.echo(f"  {check.status:5} {check.rule:18} {check.reason}")
    if result.status == "fail":
        raise typer.Exit(1)

"""``clearsight atlas``: which ATLAS edition is in use, and installing a newer official one."""

from __future__ import annotations

from pathlib import Path

import typer

from clearsight.core.errors import CatalogueError, InputError

app = typer.Typer(help="MITRE ATLAS catalogue: show the edition in use or install a newer one.", no_args_is_help=True)

HOME_HELP = "Clearsight data folder (default: $CLEARSIGHT_HOME or ~/.local/share/clearsight)."


@app.command("show")
def show(home: Path | None = typer.Option(None, "--home", help=HOME_HELP)) -> None:
    """Print the ATLAS edition that assessments use."""
    from clearsight.frameworks.atlas_store import load_atlas, load_builtin_atlas

    atlas = load_atlas(home)
    builtin = load_builtin_atlas()
    where = "built-in" if atlas.meta == builtin.meta else "installed"
    typer.echo(
        f"MITRE ATLAS {atlas.meta.version} ({where}; {len(atlas.tactics)} tactics, {len(atlas.techniques)} "
        f"techniques, {len(atlas.mitigations)} mitigations, {len(atlas.case_studies)} case studies)"
    )


@app.command("update")
def update(
    source: str = typer.Option(..., "--from", help="Path or http(s) URL of an official ATLAS.yaml."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the differences without installing."),
) -> None:
    """Validate an official ATLAS.yaml, print what changed, and use it for later assessments."""
    from clearsight.frameworks.atlas_store import data_home, load_atlas, load_builtin_atlas, save_installed_atlas
    from clearsight.frameworks.atlas_update import convert, dangling_references, diff_atlas, read_source
    from clearsight.frameworks.controls import load_controls
    from clearsight.frameworks.threat_model import load_threat_model

    data, name = read_source(source)
    new, repairs = convert(data, name)
    try:
        current = load_atlas(home)
    except CatalogueError as exc:  # a broken installed edition must not block its own repair
        typer.echo(f"warning: {exc.diagnostic()}; comparing with the built-in edition", err=True)
        current = load_builtin_atlas()
    diff = diff_atlas(current, new)
    typer.echo(f"ATLAS {diff.old_version} -> {diff.new_version}")
    for repair in repairs:
        typer.echo(f"  repaired: {repair}")
    if diff.unchanged:
        typer.echo("  no changes to tactics, techniques, mitigations, case studies or their links")
    for item in diff.added:
        typer.echo(f"  + {item} {new.name_of(item)}")
    for item in diff.removed:
        typer.echo(f"  - {item} {current.name_of(item)}")
    for renamed in diff.renamed:
        typer.echo(f"  ~ {renamed.id}: '{renamed.old}' -> '{renamed.new}'")
    if diff.links_added or diff.links_removed:
        typer.echo(f"  mitigation links: +{diff.links_added} -{diff.links_removed}")
    referenced = {
        "controls": {i for c in load_controls().controls
                     for i in (*c.refs.atlas_mitigations, *c.refs.atlas_techniques)},
        "threat rules": {r.technique for r in load_threat_model().rules}
        | {s.technique for t in load_threat_model().scenarios for s in t.steps},
    }
    for owner, ids in dangling_references(new, referenced).items():
        typer.echo(f"  warning: {owner} use IDs this edition lacks (they will be skipped): {', '.join(ids)}")
    if dry_run:
        typer.echo("dry run: nothing installed")
        return
    target = home if home is not None else data_home()
    try:
        path = save_installed_atlas(new, target)
    except OSError as exc:
        raise InputError(f"cannot install the catalogue ({exc.strerror or exc})", path=str(target)) from exc
    typer.echo(f"installed to {path}; later assessments use ATLAS {new.meta.version}")

"""``clearsight catalogue``: look up the vocabularies the inventory file uses."""

from __future__ import annotations

import typer

app = typer.Typer(help="List catalogue contents: use cases, controls, versions.", no_args_is_help=True)


@app.command("use-cases")
def use_cases() -> None:
    """Purposes a system can declare (traits.purposes) and where the EU AI Act puts them."""
    from clearsight.frameworks.bundle import load_catalogues

    eu = load_catalogues().eu_ai_act
    for use in eu.use_cases:
        where = use.prohibited or use.annex_iii or (f"carve-out of {use.related_point}" if use.carve_out else "")
        extra = ", ".join(use.transparency)
        typer.echo(f"{use.id:38} {use.label}" + (f"  [{where}]" if where else "") + (f"  [{extra}]" if extra else ""))


@app.command("controls")
def controls() -> None:
    """Controls that attestations can name."""
    from clearsight.frameworks.bundle import load_catalogues

    for control in load_catalogues().controls.controls:
        typer.echo(f"{control.id:12} {control.domain:18} {control.title}")


@app.command("versions")
def versions() -> None:
    """Catalogue editions in use and the EU AI Act calendars."""
    from clearsight.frameworks.bundle import load_catalogues

    cats = load_catalogues()
    for v in cats.versions():
        date = v.effective_date.isoformat() if v.effective_date else "-"
        typer.echo(f"{v.id:28} {v.version:40} {date}  {v.source}")
    for cal in cats.eu_ai_act.calendars:
        mark = " (default)" if cal.id == cats.eu_ai_act.default_calendar else ""
        typer.echo(f"calendar {cal.id}{mark}: {cal.label} - {cal.status}")

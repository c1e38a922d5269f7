"""Entry point: the command groups, and the one place errors become exit codes.

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage or input error, 3 internal error.
"""

from __future__ import annotations

import os

import typer

from clearsight import __version__
from clearsight.cli import (
    assess_cmd,
    atlas_cmd,
    catalogue_cmd,
    data_cmd,
    diff_cmd,
    discover_cmd,
    guard_cmd,
    llm_cmd,
    model_cmd,
    schema_cmd,
)
from clearsight.cli.lifetime import exit_process, release
from clearsight.core.errors import ClearsightError

EXIT_INPUT = 2
EXIT_INTERNAL = 3

app = typer.Typer(
    name="clearsight",
    help="Find AI systems, classify their risk, model ATLAS threats, measure control gaps and plan the fixes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("assess")(assess_cmd.assess)
app.command("diff")(diff_cmd.diff)
app.command("discover")(discover_cmd.discover)
app.command("schema")(schema_cmd.schema)
app.add_typer(atlas_cmd.app, name="atlas")
app.add_typer(catalogue_cmd.app, name="catalogue")
app.add_typer(model_cmd.app, name="model")
app.add_typer(guard_cmd.app, name="guard")
app.add_typer(data_cmd.app, name="data")
app.add_typer(llm_cmd.app, name="llm")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clearsight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Clearsight: ends cyber blindness about the AI inside a company."""


def main(argv: list[str] | None = None) -> int:
    release()
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising it.
        result = app(args=argv, standalone_mode=False)
    except ClearsightError as exc:
        typer.echo(f"error: {exc.diagnostic()}", err=True)
        return EXIT_INPUT
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return EXIT_INPUT
    except Exception as exc:  # usage errors from the (vendored) click, and anything unexpected
        show = getattr(exc, "show", None)
        if isinstance(exc, typer.exceptions.TyperException) and callable(show):
            show()
            return EXIT_INPUT
        if os.environ.get("CLEARSIGHT_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set CLEARSIGHT_DEBUG=1 for details)", err=True)
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0


def run() -> None:
    exit_process(main())

"""``clearsight discover PATH...``: find AI systems in code, shadow AI included."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clearsight.core.errors import InputError

if TYPE_CHECKING:
    from clearsight.core.discovery import DiscoveryReport


class DiscoverFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    cyclonedx = "cyclonedx"


def discover(
    paths: list[Path] | None = typer.Argument(
        None, help="Project folders or repositories to search (optional with --repos-file)."),
    fmt: DiscoverFormat = typer.Option(DiscoverFormat.table, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    inventory: Path | None = typer.Option(
        None, "--inventory", help="clearsight.yaml whose systems count as declared (default: one in PATH)."),
    fail_on_shadow: bool = typer.Option(False, "--fail-on-shadow", help="Exit 1 when undeclared AI is found."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes for the local executor."),
    executor: str = typer.Option("local", "--executor", help="local, or dask://HOST:PORT for a Dask cluster."),
    repos_file: Path | None = typer.Option(
        None, "--repos-file", help="File with one folder per line (# comments and blank lines ignored)."),
) -> None:
    """Find AI SDKs, models, model files, datasets, data stores and personal data, grouped into systems."""
    from clearsight.discover import WORKER_PRELOAD
    from clearsight.discover.interface import is_utf8, printable
    from clearsight.executors import LocalExecutor, executor_from

    paths = list(paths or [])
    missing = [p for p in paths if not _is_dir(p)]
    if missing:
        raise InputError("not a folder", path=str(missing[0]))
    if repos_file is not None:
        paths.extend(_read_repos_file(repos_file))
    if not paths:
        raise InputError("give at least one PATH or --repos-file")
    unnamed = [p for p in paths if not is_utf8(str(p))]
    if unnamed:  # its folder name would name a system, and no report format can encode it
        raise InputError("the path is not valid UTF-8; rename it to scan it", path=printable(str(unnamed[0])))
    runner = executor_from(executor, jobs, preload=WORKER_PRELOAD)
    if isinstance(runner, LocalExecutor):
        runner.start()  # its workers' imports run while this process imports the detectors and walks

    from clearsight.cli.lifetime import keep_until_exit
    from clearsight.discover.run import discover as run_discovery

    declared = _declared(inventory, paths)
    report = run_discovery(paths, declared=declared, executor=runner, meanwhile=lambda: _renderer(fmt))
    keep_until_exit(report)  # tens of thousands of observations: the process ends without freeing them one by one
    from clearsight.cli.output import write_outputs

    write_outputs({output: _renderer(fmt)(report)})
    if fail_on_shadow and any(not s.declared for s in report.systems):
        raise typer.Exit(1)


_RENDERERS = {
    DiscoverFormat.table: ("clearsight.report.discovery", "render_table"),
    DiscoverFormat.json: ("clearsight.report.discovery", "render_json"),
    DiscoverFormat.sarif: ("clearsight.report.discovery", "render_sarif"),
    DiscoverFormat.cyclonedx: ("clearsight.report.cyclonedx", "render_cyclonedx"),
}


def _renderer(fmt: DiscoverFormat) -> Callable[[DiscoveryReport], str]:
    """The format's renderer, importing only its own module: discovery asks for it while the workers scan
    (once they have every file), when every import competes with them for the cores."""
    import importlib

    import clearsight.cli.output  # noqa: F401  (written with it)

    module, name = _RENDERERS[fmt]
    render: Callable[[DiscoveryReport], str] = getattr(importlib.import_module(module), name)
    return render


def _declared(inventory: Path | None, paths: list[Path]) -> dict[str, list[str]]:
    """System ID -> folders, from the inventory (only when one root is searched: folders are relative)."""
    from clearsight.inventory import INVENTORY_NAMES

    if inventory is None:
        if len(paths) != 1 or not any((paths[0] / n).is_file() for n in INVENTORY_NAMES):
            return {}
        inventory = paths[0]
    from clearsight.frameworks.bundle import load_catalogues  # a tenth of a second: only with an inventory
    from clearsight.inventory.loader import load_inventory

    cats = load_catalogues()
    loaded = load_inventory(inventory, known_purposes=cats.eu_ai_act.use_case_ids(),
                            known_controls=set(cats.controls.by_id()))
    return {s.id: ([s.root] if s.root else []) + s.paths for s in loaded.systems}


def _read_repos_file(repos_file: Path) -> list[Path]:
    """Folders listed one a line; relative ones are relative to the file's folder."""
    try:
        lines = repos_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the repositories file: {exc.__class__.__name__}", path=str(repos_file)) from None
    folders: list[Path] = []
    for number, raw in enumerate(lines, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            folder = Path(entry).expanduser()
        except RuntimeError:  # ~user of a user this machine does not know
            raise InputError(f"cannot expand the home folder in {entry}", path=str(repos_file), line=number) from None
        if not folder.is_absolute():
            folder = repos_file.parent / folder
        if not _is_dir(folder):
            raise InputError(f"not a folder: {entry}", path=str(repos_file), line=number)
        folders.append(folder)
    return folders


def _is_dir(path: Path) -> bool:
    """``Path.is_dir`` without its exceptions: a name too long for the file system is no folder either."""
    try:
        return path.is_dir()
    except OSError:
        return False

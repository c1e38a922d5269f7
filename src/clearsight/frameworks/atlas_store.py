"""Which ATLAS edition an assessment uses: the built-in one, or a newer one the user installed.

``clearsight atlas update`` writes the converted catalogue to the Clearsight data folder
(``$CLEARSIGHT_HOME``, else ``$XDG_DATA_HOME/clearsight``, else ``~/.local/share/clearsight``); every later
assessment reads it from there. Writes go to a temporary file first, so a failed update leaves the
previous edition intact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from clearsight.atomic_files import write_atomically
from clearsight.core.errors import CatalogueError
from clearsight.frameworks.atlas import AtlasCatalogue
from clearsight.frameworks.catalogue import read_package_data

INSTALLED_NAME = "atlas.json"


def data_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("CLEARSIGHT_HOME"):
        return Path(env["CLEARSIGHT_HOME"])
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else Path.home() / ".local" / "share"
    return base / "clearsight"


@cache
def load_builtin_atlas() -> AtlasCatalogue:
    return AtlasCatalogue.model_validate(read_package_data(INSTALLED_NAME))


def atlas_edition(version: str | None, home: Path | None = None) -> AtlasCatalogue:
    """The edition an assessment was made with, when it is still at hand; otherwise the one in use.

    Reports rendered later from a JSON file should name techniques as the assessment saw them.
    """
    current = load_atlas(home)
    if version is None or current.meta.version == version:
        return current
    builtin = load_builtin_atlas()
    return builtin if builtin.meta.version == version else current


def installed_atlas_path(home: Path) -> Path:
    return home / "catalogues" / INSTALLED_NAME


def load_atlas(home: Path | None = None) -> AtlasCatalogue:
    """The installed edition when there is one, else the built-in one."""
    path = installed_atlas_path(home if home is not None else data_home())
    if not path.exists():
        return load_builtin_atlas()
    return _load_installed(str(path), path.stat().st_mtime_ns)


@cache
def _load_installed(path: str, _mtime: int) -> AtlasCatalogue:
    try:
        return AtlasCatalogue.model_validate_json(Path(path).read_bytes())
    except (OSError, ValidationError) as exc:
        raise CatalogueError(
            f"installed ATLAS catalogue {path} is unreadable ({type(exc).__name__}); "
            "run 'clearsight atlas update' again or delete the file to use the built-in edition"
        ) from exc


def save_installed_atlas(catalogue: AtlasCatalogue, home: Path) -> Path:
    path = installed_atlas_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, catalogue_json(catalogue))
    return path


def catalogue_json(catalogue: AtlasCatalogue) -> str:
    return json.dumps(catalogue.model_dump(mode="json", exclude_defaults=True), indent=1, ensure_ascii=False)

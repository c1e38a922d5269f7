"""What every catalogue shares: provenance metadata and how package data is read."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import yaml

from clearsight.core.assessment import CatalogueVersion
from clearsight.core.base import Frozen
from clearsight.core.errors import CatalogueError
from clearsight.yaml_models import SAFE_LOADER


class CatalogueMeta(Frozen):
    """Provenance of a catalogue: enough to cite it and to know when it was last checked."""

    id: str
    title: str
    version: str
    effective_date: dt.date | None = None
    source: str
    licence: str
    reviewed_on: dt.date | None = None
    note: str | None = None

    def as_version(self) -> CatalogueVersion:
        return CatalogueVersion(
            id=self.id, title=self.title, version=self.version,
            effective_date=self.effective_date, source=self.source,
        )


def read_package_data(name: str) -> Any:
    """Parse ``frameworks/data/<name>`` (YAML or JSON) from the installed package."""
    ref = resources.files("clearsight.frameworks").joinpath("data", name)
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogueError(f"built-in catalogue file {name} is missing from the installation") from exc
    if name.endswith(".json"):
        return json.loads(text)
    return yaml.load(text, Loader=SAFE_LOADER)

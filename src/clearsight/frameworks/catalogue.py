"""What every catalogue shares: provenance metadata and how package data is read."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from typing import Any

import yaml

from clearsight.core.assessment import CatalogueVersion
from clearsight.core.base import Frozen
from clearsight.core.errors import CatalogueError

# libyaml's loader is ten times faster; the pure-Python one is the fallback. Both are safe loaders.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_YAML_NESTING = 500
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


class YamlTooDeepError(yaml.YAMLError):
    """Nested deeper than :data:`MAX_YAML_NESTING`: refused before libyaml could crash the interpreter."""


def check_nesting(text: str) -> None:
    """Raise :class:`YamlTooDeepError` for flow collections nested past :data:`MAX_YAML_NESTING` levels.

    libyaml builds nodes by C recursion, so ~100,000 nested ``[`` (100 KB) end the process with a segmentation
    fault that no ``except`` can catch. Only flow brackets nest that cheaply (a block level costs a line of
    growing indentation), so their depth is counted over the raw text; brackets inside quotes count too, which
    can only over-estimate.
    """
    if text.count("[") + text.count("{") <= MAX_YAML_NESTING:
        return
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > MAX_YAML_NESTING:
            raise YamlTooDeepError(f"collections nested deeper than {MAX_YAML_NESTING} levels")


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


def parse_yaml(text: str) -> Any:
    """Parse YAML with the safe loader (libyaml when present); too deep a document is a ``yaml.YAMLError``."""
    check_nesting(text)
    return yaml.load(text, Loader=SAFE_LOADER)

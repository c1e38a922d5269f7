"""Which packages and imports mean AI: one table (data/ai_packages.yaml) shared by every detector."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from clearsight.discover.interface import Confidence
from clearsight.yaml_models import parse_yaml

if TYPE_CHECKING:
    from clearsight.core.system import ComponentKind


@dataclass(frozen=True)
class AIPackage:
    name: str
    kind: ComponentKind
    provider: str | None
    confidence: Confidence


@dataclass(frozen=True)
class _Tables:
    pypi: dict[str, AIPackage]
    npm: dict[str, AIPackage]
    imports: dict[str, AIPackage]


def _normalise(name: str) -> str:
    """PEP 503 normalisation, so 'Scikit_Learn' and 'scikit-learn' match."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _tables() -> _Tables:
    text = resources.files("clearsight.discover").joinpath("data", "ai_packages.yaml").read_text(encoding="utf-8")
    pypi: dict[str, AIPackage] = {}
    npm: dict[str, AIPackage] = {}
    imports: dict[str, AIPackage] = {}
    for entry in parse_yaml(text)["packages"]:
        package = AIPackage(name=entry["name"], kind=entry["kind"], provider=entry.get("provider"),
                            confidence=entry.get("confidence", "high"))
        for dist in entry.get("pypi", []):
            pypi[_normalise(dist.split("[")[0])] = package
        for name in entry.get("npm", []):
            npm[name] = package
        for module in entry.get("imports", []):
            imports[module] = package
    return _Tables(pypi=pypi, npm=npm, imports=imports)


def lookup_pypi(distribution: str) -> AIPackage | None:
    return _tables().pypi.get(_normalise(distribution.split("[")[0].strip()))


def lookup_npm(package: str) -> AIPackage | None:
    return _tables().npm.get(package.strip())


def lookup_import(module: str) -> AIPackage | None:
    """The package for a dotted import, matching the longest known prefix (``google.genai.types``)."""
    imports = _tables().imports
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        found = imports.get(".".join(parts[:i]))
        if found is not None:
            return found
    return None


@cache
def import_names() -> tuple[tuple[str, ...], ...]:
    """Every catalogued import as its dotted parts in lower case, for text pre-checks before parsing."""
    return tuple(sorted({tuple(module.lower().split(".")) for module in _tables().imports}))

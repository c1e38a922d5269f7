"""CycloneDX 1.6 JSON (an AI bill of materials) from a discovery report, built from plain dicts.

Each discovered system is an ``application`` component that depends on what was found in it; models are
``machine-learning-model`` components, datasets, data stores and personal data are ``data`` components, SDKs and
frameworks are ``library`` components (with a purl when the ecosystem is known), providers and MCP servers are
``services``. Secret references appear only as a property naming the variable, never with a value.

The serial number is derived from the scanned roots and the findings, so a rerun on an unchanged tree gives
the same document (the timestamp honours ``SOURCE_DATE_EPOCH`` for fully reproducible output).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from clearsight import __version__
from clearsight.core.discovery import DiscoveredComponent, DiscoveredSystem, DiscoveryReport
from clearsight.discover.catalog import lookup_npm, lookup_pypi

SPEC_VERSION = "1.6"
_NAMESPACE = uuid.UUID("6f1d6c1e-6c2b-5d0e-9a59-0c1ea5197a11")
_ROOT_REF = "clearsight-scan-root"

_MODEL_KINDS = frozenset({"model", "model_file"})
_DATA_KINDS = {"dataset": "dataset", "personal_data": "dataset", "data_store": "other"}
_LIBRARY_KINDS = frozenset({"sdk", "agent_framework", "vector_store", "serving"})
_SERVICE_KINDS = frozenset({"provider", "mcp_server", "service"})

_PYPI_DETECTORS = frozenset({
    "python-code", "notebooks", "manifest.requirements", "manifest.pyproject", "manifest.pipfile",
    "manifest.pipfile_lock", "manifest.setup_cfg", "manifest.setup_py", "manifest.conda",
})
_NPM_DETECTORS = frozenset({"javascript", "manifest.package_json", "manifest.package_lock"})
_EXACT_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")


def render_cyclonedx(report: DiscoveryReport) -> str:
    """The report as a CycloneDX 1.6 JSON BOM (text, newline-terminated)."""
    refs = _RefAllocator()
    components: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    root_children: list[str] = []

    in_systems: set[tuple[str, str]] = set()
    for system in report.systems:
        system_ref = refs.take(system.id)
        root_children.append(system_ref)
        children: list[str] = []
        for found in system.components:
            in_systems.add((found.kind, found.name))
            if found.kind == "secret_ref":
                continue
            ref = refs.take(f"{system.id}/{found.kind}:{found.name}")
            _add(found, ref, components, services)
            children.append(ref)
            dependencies.append({"ref": ref})
        components.append(_system_component(system, system_ref))
        dependencies.append({"ref": system_ref, "dependsOn": _unique(children)})

    for found in report.components:  # anything discovery did not place in a system hangs off the root
        if (found.kind, found.name) in in_systems or found.kind == "secret_ref":
            continue
        ref = refs.take(f"unassigned/{found.kind}:{found.name}")
        _add(found, ref, components, services)
        root_children.append(ref)
        dependencies.append({"ref": ref})

    dependencies.insert(0, {"ref": _ROOT_REF, "dependsOn": _unique(root_children)})
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": _serial_number(report),
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(),
            "tools": {"components": [{
                "type": "application", "name": "Clearsight", "version": __version__,
            }]},
            "component": _root_component(report),
        },
        "components": components,
    }
    if services:
        bom["services"] = services
    bom["dependencies"] = dependencies
    return json.dumps(bom, indent=2) + "\n"


class _RefAllocator:
    """Hands out bom-refs that are unique within the document (a numeric suffix on collision)."""

    def __init__(self) -> None:
        self._used: set[str] = {_ROOT_REF}

    def take(self, wanted: str) -> str:
        ref = wanted or "component"
        n = 2
        while ref in self._used:
            ref = f"{wanted}#{n}"
            n += 1
        self._used.add(ref)
        return ref


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def _serial_number(report: DiscoveryReport) -> str:
    digest = hashlib.sha256(
        json.dumps({"roots": report.roots, "systems": report.model_dump(mode="json")["systems"]},
                   sort_keys=True).encode()
    ).hexdigest()
    return uuid.uuid5(_NAMESPACE, "\n".join(report.roots) + "\n" + digest).urn


def _timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _root_component(report: DiscoveryReport) -> dict[str, Any]:
    names = [PurePosixPath(r.replace("\\", "/").rstrip("/")).name or r for r in report.roots]
    return {
        "type": "application",
        "bom-ref": _ROOT_REF,
        "name": names[0] if len(names) == 1 else ", ".join(names) or "scan",
        "properties": [_prop("clearsight:root", r) for r in report.roots]
        + [_prop("clearsight:files-read", str(report.files_read))],
    }


def _system_component(system: DiscoveredSystem, ref: str) -> dict[str, Any]:
    props = [
        _prop("clearsight:declared", "true" if system.declared else "false"),
        _prop("clearsight:root", system.root),
    ]
    if system.declared_as:
        props.append(_prop("clearsight:declared-as", system.declared_as))
    for name in sorted({c.name for c in system.components if c.kind == "secret_ref"}):
        props.append(_prop("clearsight:secret-ref", name))  # the variable's name only, never its value
    return {"type": "application", "bom-ref": ref, "name": system.name, "properties": props}


def _common_props(found: DiscoveredComponent) -> list[dict[str, str]]:
    return [
        _prop("clearsight:kind", found.kind),
        _prop("clearsight:confidence", found.confidence),
        *(_prop("clearsight:detector", d) for d in sorted(set(found.detectors))),
    ]


def _occurrences(found: DiscoveredComponent) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for loc in found.locations:
        where = f"{loc.path}:{loc.line}" if loc.line is not None else loc.path
        entry: dict[str, Any] = {"location": where}
        if loc.line is not None and loc.line >= 0:
            entry["line"] = loc.line
        seen.setdefault(where, entry)
    return list(seen.values())


def _add(found: DiscoveredComponent, ref: str, components: list[dict[str, Any]],
         services: list[dict[str, Any]]) -> None:
    if found.kind in _SERVICE_KINDS:
        services.append(_service(found, ref))
    else:
        components.append(_component(found, ref))


def _service(found: DiscoveredComponent, ref: str) -> dict[str, Any]:
    props = _common_props(found)
    if found.kind == "provider":
        props.append(_prop("clearsight:provider", found.name))
    props.extend(_prop("clearsight:location", o["location"]) for o in _occurrences(found))
    service: dict[str, Any] = {"bom-ref": ref, "name": found.name}
    if found.version:
        service["version"] = found.version
    service["description"] = found.evidence
    service["properties"] = props
    return service


def _component(found: DiscoveredComponent, ref: str) -> dict[str, Any]:
    component: dict[str, Any] = {"type": _component_type(found.kind), "bom-ref": ref, "name": found.name}
    if found.kind in _DATA_KINDS:
        data: dict[str, Any] = {"type": _DATA_KINDS[found.kind], "name": found.name,
                                "description": found.evidence}
        if found.kind == "personal_data":
            data["classification"] = "personal data"
            data["sensitiveData"] = [found.name]
        component["data"] = [data]
    if found.version:
        component["version"] = found.version
    component["description"] = found.evidence
    if found.kind in _LIBRARY_KINDS and (purl := _purl(found)):
        component["purl"] = purl
    component["properties"] = _common_props(found)
    if occurrences := _occurrences(found):
        component["evidence"] = {"occurrences": occurrences}
    return component


def _component_type(kind: str) -> str:
    if kind in _MODEL_KINDS:
        return "machine-learning-model"
    if kind in _DATA_KINDS:
        return "data"
    if kind in _LIBRARY_KINDS:
        return "library"
    return "application"  # pipeline and any kind added later


def _purl(found: DiscoveredComponent) -> str | None:
    detectors = set(found.detectors)
    pypi, npm = bool(detectors & _PYPI_DETECTORS), bool(detectors & _NPM_DETECTORS)
    if pypi == npm:  # neither, or both: the ecosystem is not known
        return None
    # Only when the name is itself a published package (the catalogue's "pytorch" is pypi's "torch").
    known = lookup_pypi(found.name) if pypi else lookup_npm(found.name)
    if known is None or known.name != found.name:
        return None
    if pypi:
        name = re.sub(r"[-_.]+", "-", found.name).lower()
        purl = f"pkg:pypi/{quote(name, safe='')}"
    else:
        namespace, _, name = found.name.rpartition("/")
        purl = "pkg:npm/" + (f"{quote(namespace, safe='')}/" if namespace else "") + quote(name, safe="")
    if found.version and _EXACT_VERSION.fullmatch(found.version):
        purl += f"@{quote(found.version, safe='+')}"
    return purl

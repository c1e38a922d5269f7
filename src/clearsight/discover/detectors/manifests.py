"""Dependency-manifest detectors: which AI packages a project declares or locks.

Every manifest is parsed as data (tomllib, json, PyYAML ``safe_load``, ``ast.parse`` for setup.py) — nothing is
imported or executed. A dependency becomes an Observation only when ``data/ai_packages.yaml`` knows it; the
observation's kind and name are the catalogue's, ``version`` is set only for an exact pin (``==1.2.3``, a bare
Poetry/npm version, a lock entry) and the declared constraint goes into the evidence. Lock files report
``confidence="medium"``: a locked package may be a transitive dependency the project never uses directly.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

import yaml

from clearsight.discover.catalog import AIPackage, lookup_npm, lookup_pypi
from clearsight.discover.detectors.python_code import is_known_model_name, plausible_identifier
from clearsight.discover.interface import (
    DEPLOYMENT_FILES,
    Confidence,
    Detector,
    FunctionDetector,
    KeyLines,
    NameFilter,
    Observation,
    SourceFile,
    line_at,
    source_lines,
)
from clearsight.discover.relpaths import base_name
from clearsight.yaml_models import parse_yaml

__all__ = ["MANIFEST_DETECTORS", "parse_requirement"]

# A PEP 508 requirement: name, optional [extras], then a version spec, URL or marker.
_REQ = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_PIN = re.compile(r"^\(?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*\)?$")
_BARE_VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:[-.+]?[A-Za-z0-9.]+)?$")
# conda package names that differ from their PyPI distribution
_CONDA_ALIASES = {"pytorch": "torch", "pytorch-cpu": "torch", "pytorch-gpu": "torch", "tensorflow-gpu": "tensorflow",
                  "py-xgboost": "xgboost", "faiss": "faiss-cpu", "huggingface_hub": "huggingface-hub"}


class _Where:
    """Where a manifest's entries are written: each name is searched for ahead of the last one found, within the
    section (``start_line``) it belongs to, so a file is read about once however many entries it lists (see
    :class:`~clearsight.discover.interface.KeyLines`, whose budget bounds the rest). Searching each name from
    its section's start, as before, made a manifest of 20,000 catalogued entries take minutes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._keys = KeyLines(text)
        self._offsets: dict[int, int] = {}

    def line(self, pattern: Callable[[str], re.Pattern[str]], key: str, start_line: int | None = None) -> int | None:
        """The line of ``pattern(key)``; the pattern is compiled only while the budget allows a lookup."""
        if not self._keys.wanted():
            return None
        if start_line is None:
            return self._keys.line_of(pattern(key))
        offset = self._offsets.get(start_line)
        if offset is None:
            offset = self._offsets[start_line] = _offset_of_line(self.text, start_line)
        return self._keys.line_of(pattern(key), offset)


@lru_cache(maxsize=1024)
def _token(name: str) -> re.Pattern[str]:
    """``name`` as a whole package token."""
    return re.compile(r"(?<![A-Za-z0-9_.@/-])" + re.escape(name) + r"(?![A-Za-z0-9_-])", re.IGNORECASE)


def _find_line(where: _Where, name: str, start_line: int | None = None) -> int | None:
    """The line of ``name`` as a whole package token: the next one in its section (``start_line``), else the
    first in the file."""
    return where.line(_token, name, start_line)


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return len(text)
    return offset


def _header_line(text: str, header: str) -> int:
    """Line of a TOML/INI ``[header]`` (1 if absent)."""
    match = re.search(r"^[^\S\n]*\[\s*" + re.escape(header) + r"\s*\][^\S\n]*$", text, re.MULTILINE)
    return line_at(text, match.start()) if match else 1


def parse_requirement(spec: str) -> tuple[str, str | None, str] | None:
    """``(name, pinned version or None, constraint text)`` for one PEP 508 requirement string, else None."""
    spec = spec.split(" #", 1)[0].strip()
    if not spec or spec.startswith(("-", "#", ".", "/")) or "://" in spec.split("@", 1)[0]:
        return None
    match = _REQ.match(spec)
    if match is None:
        return None
    name, rest = match.group(1), match.group(3)
    constraint = rest.split(";", 1)[0].strip()
    if constraint.startswith("@"):  # direct reference: name @ https://...
        return name, None, "@ URL"
    pin = _PIN.match(constraint)
    return name, (pin.group(1) if pin else None), constraint


def _observe(package: AIPackage, file: SourceFile, line: int | None, detector: str, evidence: str,
             version: str | None, lock: bool = False) -> Observation:
    confidence: Confidence = package.confidence
    if lock and confidence == "high":
        confidence = "medium"
    return Observation(kind=package.kind, name=package.name, rel=file.rel, line=line, detector=detector,
                       evidence=evidence, confidence=confidence, version=version)


def _from_specs(file: SourceFile, detector: str, specs: Iterable[tuple[str, int | None]],
                where: str, lines: _Where | None = None) -> list[Observation]:
    """Observations for ``(requirement string, line)`` pairs; a None line is looked up by name in the text."""
    lines = lines or _Where(file.text or "")
    found: list[Observation] = []
    for spec, line in specs:
        parsed = parse_requirement(spec)
        if parsed is None:
            continue
        name, version, constraint = parsed
        package = lookup_pypi(name)
        if package is None:
            continue
        at = line if line is not None else _find_line(lines, name)
        joiner = "" if constraint[:1] in ("<", ">", "=", "!", "~", "(") else " "
        evidence = f"{name}{(joiner + constraint) if constraint else ''} in {where}"
        found.append(_observe(package, file, at, detector, evidence, version))
    return found


# --- requirements files ------------------------------------------------------------------------------------------

def _wants_requirements(rel: str) -> bool:
    base = base_name(rel).lower()
    parent = rel.lower().rsplit("/", 2)[-2] if "/" in rel else ""
    if base.endswith(".txt"):
        return "requirements" in base or base.startswith("constraints") or parent == "requirements"
    if base.endswith(".in"):
        return base.count(".") == 1 and base not in {"manifest.in", "makefile.in"}
    return False


def _logical_lines(text: str) -> Iterator[tuple[str, int]]:
    """Requirement lines with ``\\`` continuations joined, each with its first physical line number."""
    buffer, start = "", 0
    for number, raw in enumerate(source_lines(text), start=1):
        line = raw if raw.lstrip().startswith("#") else re.split(r"(?:^|\s)#", raw, maxsplit=1)[0]
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        yield buffer + line, start
        buffer = ""
    if buffer:
        yield buffer, start


def _detect_requirements(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    specs = [(line.strip(), number) for line, number in _logical_lines(file.text)
             if line.strip() and not line.lstrip().startswith(("-", "#"))]  # -r / -c / -e / --index-url ignored
    return _from_specs(file, "manifest.requirements", specs, base_name(file.rel))


# --- pyproject.toml ----------------------------------------------------------------------------------------------

def _poetry_version(value: Any) -> tuple[str | None, str]:
    """(pinned version, constraint) for a Poetry/Pipfile dependency value (string or table)."""
    if isinstance(value, dict):
        value = value.get("version", "")
    if not isinstance(value, str):
        return None, ""
    value = value.strip()
    if value in ("", "*"):
        return None, value
    pin = _PIN.match(value)
    if pin:
        return pin.group(1), value
    if _BARE_VERSION.match(value):
        return value, value
    return None, value


def _table_observations(file: SourceFile, detector: str, table: Any, header: str, where: str) -> list[Observation]:
    """Observations for a Poetry/Pipfile ``name = version-or-table`` mapping under ``[header]``."""
    if not isinstance(table, dict):
        return []
    text = file.text or ""
    start = _header_line(text, header)
    lines = _Where(text)
    found: list[Observation] = []
    for name, value in table.items():
        if not isinstance(name, str) or name.lower() == "python":
            continue
        package = lookup_pypi(name)
        if package is None:
            continue
        version, constraint = _poetry_version(value)
        evidence = f"{name}{(' ' + constraint) if constraint else ''} in {where}"
        found.append(_observe(package, file, _find_line(lines, name, start), detector, evidence, version))
    return found


def _load_toml(file: SourceFile) -> dict[str, Any] | None:
    if not file.text:
        return None
    try:
        return tomllib.loads(file.text)
    except (tomllib.TOMLDecodeError, ValueError):
        return None


def _string_list(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _detect_pyproject(file: SourceFile) -> list[Observation]:
    data = _load_toml(file)
    if data is None:
        return []
    text = file.text or ""
    lines = _Where(text)
    detector = "manifest.pyproject"
    found: list[Observation] = []
    project = data.get("project")
    if isinstance(project, dict):
        start = _header_line(text, "project")
        deps_key = re.compile(r"^[^\S\n]*dependencies\s*=", re.MULTILINE).search(text, _offset_of_line(text, start))
        start = line_at(text, deps_key.start()) if deps_key else start
        specs: list[tuple[str, int | None]] = []
        for spec in _string_list(project.get("dependencies")):
            parsed = parse_requirement(spec)
            specs.append((spec, _find_line(lines, parsed[0], start) if parsed else None))
        found += _from_specs(file, detector, specs, "pyproject.toml [project].dependencies", lines)
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            opt_start = _header_line(text, "project.optional-dependencies")
            for extra, deps in optional.items():
                specs = []
                for spec in _string_list(deps):
                    parsed = parse_requirement(spec)
                    specs.append((spec, _find_line(lines, parsed[0], opt_start) if parsed else None))
                found += _from_specs(file, detector, specs, f"pyproject.toml optional-dependencies.{extra}", lines)
    poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    if isinstance(poetry, dict):
        for key in ("dependencies", "dev-dependencies"):
            found += _table_observations(file, detector, poetry.get(key), f"tool.poetry.{key}",
                                         f"pyproject.toml [tool.poetry.{key}]")
        groups = poetry.get("group")
        if isinstance(groups, dict):
            for group, body in groups.items():
                if isinstance(body, dict):
                    header = f"tool.poetry.group.{group}.dependencies"
                    found += _table_observations(file, detector, body.get("dependencies"), header,
                                                 f"pyproject.toml [{header}]")
    return found


# --- Pipfile -----------------------------------------------------------------------------------------------------

def _detect_pipfile(file: SourceFile) -> list[Observation]:
    data = _load_toml(file)
    if data is None:
        return []
    found: list[Observation] = []
    for section in ("packages", "dev-packages"):
        found += _table_observations(file, "manifest.pipfile", data.get(section), section, f"Pipfile [{section}]")
    return found


# --- setup.cfg / setup.py ----------------------------------------------------------------------------------------

def _detect_setup_cfg(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(file.text)
    except configparser.Error:
        return []
    text = file.text
    lines = _Where(text)
    found: list[Observation] = []
    sections: list[tuple[str, str, str]] = []
    if parser.has_option("options", "install_requires"):
        sections.append(("options", parser.get("options", "install_requires"), "setup.cfg install_requires"))
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            sections.append(("options.extras_require", value, f"setup.cfg extras_require.{extra}"))
    for header, value, where in sections:
        start = _header_line(text, header)
        specs: list[tuple[str, int | None]] = []
        for spec in value.splitlines():
            parsed = parse_requirement(spec)
            if parsed is not None:
                specs.append((spec, _find_line(lines, parsed[0], start)))
        found += _from_specs(file, "manifest.setup_cfg", specs, where, lines)
    return found


def _literal_strings(node: ast.expr) -> list[tuple[str, int]]:
    if isinstance(node, ast.List | ast.Tuple):
        return [(item.value, item.lineno) for item in node.elts
                if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return []


def _detect_setup_py(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    try:
        tree = ast.parse(file.text)
    except (SyntaxError, ValueError):
        return []
    specs: list[tuple[str, int | None]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "install_requires":
                specs += _literal_strings(keyword.value)
            elif keyword.arg == "extras_require" and isinstance(keyword.value, ast.Dict):
                for value in keyword.value.values:
                    specs += _literal_strings(value)
    return _from_specs(file, "manifest.setup_py", specs, "setup.py install_requires")


# --- conda environment.yml ---------------------------------------------------------------------------------------

def _wants_conda(rel: str) -> bool:
    base = base_name(rel).lower()
    return bool(re.fullmatch(r"(environment|conda)([-_.][\w.-]*)?\.ya?ml", base))


def _conda_spec(spec: str) -> tuple[str, str | None] | None:
    spec = spec.split("#", 1)[0].strip()
    if "::" in spec:
        spec = spec.split("::", 1)[1]
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", spec)
    if match is None:
        return None
    name, rest = match.group(1), match.group(2).strip()
    version = None
    pinned = re.match(r"^==?\s*([0-9][A-Za-z0-9.+!_-]*)", rest)
    if pinned and "*" not in rest:
        version = pinned.group(1)
    return name, version


def _detect_conda(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    try:
        data = parse_yaml(file.text, refuse_alias_bombs=True)
    except (yaml.YAMLError, UnicodeError, RecursionError):
        return []
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        return []
    text = file.text
    lines = _Where(text)
    found: list[Observation] = []
    pip_specs: list[tuple[str, int | None]] = []
    deps_match = re.search(r"^dependencies\s*:", text, re.MULTILINE)
    deps_line = line_at(text, deps_match.start()) if deps_match else 1
    for entry in data["dependencies"]:
        if isinstance(entry, dict):
            for spec in _string_list(entry.get("pip")):
                parsed = parse_requirement(spec)
                pip_specs.append((spec, _find_line(lines, parsed[0], deps_line) if parsed else None))
            continue
        if not isinstance(entry, str):
            continue
        conda = _conda_spec(entry)
        if conda is None:
            continue
        name, version = conda
        package = lookup_pypi(_CONDA_ALIASES.get(name.lower(), name))
        if package is None:
            continue
        line = _find_line(lines, entry.strip(), deps_line) or _find_line(lines, name, deps_line)
        found.append(_observe(package, file, line, "manifest.conda", f"{entry.strip()} in "
                              f"{base_name(file.rel)} (conda)", version))
    found += _from_specs(file, "manifest.conda", pip_specs, f"{base_name(file.rel)} (pip)", lines)
    return found


# --- package.json ------------------------------------------------------------------------------------------------

_NPM_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
_NPM_PIN = re.compile(r"^=?v?(\d+\.\d+\.\d+(?:[-+][A-Za-z0-9.-]+)?)$")


@lru_cache(maxsize=1024)
def _lock_name(name: str) -> re.Pattern[str]:
    """A lock file's ``name = "x"`` line of a package."""
    return re.compile(r'^[^\S\n]*name\s*=\s*"' + re.escape(name) + r'"', re.MULTILINE)


@lru_cache(maxsize=1024)
def _json_key(key: str) -> re.Pattern[str]:
    return re.compile(r'"' + re.escape(key) + r'"\s*:')


def _json_key_line(where: _Where, key: str, start_line: int | None = None) -> int | None:
    return where.line(_json_key, key, start_line)


def _load_json(file: SourceFile) -> Any:
    if not file.text:
        return None
    try:
        return json.loads(file.text)
    except (json.JSONDecodeError, ValueError, RecursionError):
        return None


def _detect_package_json(file: SourceFile) -> list[Observation]:
    data = _load_json(file)
    if not isinstance(data, dict):
        return []
    lines = _Where(file.text or "")
    found: list[Observation] = []
    for section in _NPM_SECTIONS:
        deps = data.get(section)
        if not isinstance(deps, dict):
            continue
        start = _json_key_line(lines, section, 1) or 1
        for name, spec in deps.items():
            package = lookup_npm(name)
            if package is None:
                continue
            constraint = spec.strip() if isinstance(spec, str) else ""
            pin = _NPM_PIN.match(constraint)
            found.append(_observe(package, file, _json_key_line(lines, name, start), "manifest.package_json",
                                  f"{name} {constraint} in package.json {section}".replace("  ", " "),
                                  pin.group(1) if pin else None))
    return found


# --- lock files --------------------------------------------------------------------------------------------------

def _detect_toml_lock(file: SourceFile) -> list[Observation]:
    """poetry.lock and uv.lock: ``[[package]]`` tables with name and version."""
    data = _load_toml(file)
    if data is None or not isinstance(data.get("package"), list):
        return []
    lines = _Where(file.text or "")
    found: list[Observation] = []
    for entry in data["package"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        package = lookup_pypi(name)
        if package is None:
            continue
        version = entry.get("version") if isinstance(entry.get("version"), str) else None
        line = lines.line(_lock_name, name) or _find_line(lines, name)
        found.append(_observe(package, file, line, "manifest.lockfile", f"{name} {version or ''} locked in "
                              f"{base_name(file.rel)}".replace("  ", " "), version, lock=True))
    return found


def _detect_pipfile_lock(file: SourceFile) -> list[Observation]:
    data = _load_json(file)
    if not isinstance(data, dict):
        return []
    lines = _Where(file.text or "")
    found: list[Observation] = []
    for section in ("default", "develop"):
        deps = data.get(section)
        if not isinstance(deps, dict):
            continue
        start = _json_key_line(lines, section, 1) or 1
        for name, body in deps.items():
            package = lookup_pypi(name)
            if package is None:
                continue
            raw = body.get("version") if isinstance(body, dict) else None
            version = raw.lstrip("=") if isinstance(raw, str) else None
            found.append(_observe(package, file, _json_key_line(lines, name, start), "manifest.pipfile_lock",
                                  f"{name} {version or ''} locked in Pipfile.lock".replace("  ", " "), version,
                                  lock=True))
    return found


def _detect_package_lock(file: SourceFile) -> list[Observation]:
    data = _load_json(file)
    if not isinstance(data, dict):
        return []
    lines = _Where(file.text or "")
    entries: list[tuple[str, str, Any]] = []  # (package name, JSON key, body)
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, body in packages.items():
            if isinstance(key, str) and "node_modules/" in key:
                entries.append((key.rsplit("node_modules/", 1)[1], key, body))
    elif isinstance(data.get("dependencies"), dict):  # lockfileVersion 1
        for key, body in data["dependencies"].items():
            entries.append((key, key, body))
    found: list[Observation] = []
    seen: set[tuple[str, str | None]] = set()
    for name, key, body in entries:
        package = lookup_npm(name)
        if package is None:
            continue
        raw = body.get("version") if isinstance(body, dict) else None
        version = raw if isinstance(raw, str) else None
        if (package.name, version) in seen:
            continue
        seen.add((package.name, version))
        found.append(_observe(package, file, _json_key_line(lines, key), "manifest.package_lock",
                              f"{name} {version or ''} locked in {base_name(file.rel)}".replace("  ", " "), version,
                              lock=True))
    return found


def _named(*names: str) -> Any:
    wanted = {name.lower() for name in names}

    def wants(rel: str) -> bool:
        return base_name(rel).lower() in wanted

    return wants


# --- models named in deployment manifests ------------------------------------------------------------------------

# The model a server is started with: `--model org/x`, `--model-id=org/x`, `MODEL_ID: org/x` (compose, k8s args, env).
_SERVED_MODEL = re.compile(
    r"""(?:--model(?:-id|-name|_id|_name)?["']?\s*(?:[=\s]|["']?\s*,)\s*|\b(?:MODEL_ID|MODEL_NAME|HF_MODEL_ID)["']?\s*[:=]\s*)"""
    r"""["']?(?P<model>[A-Za-z0-9][\w.\-/:]*[\w])""")
_SERVER_WORDS = re.compile(r"vllm|text-generation|text-embeddings|tritonserver|torchserve|ollama|localai|llama\.cpp"
                           r"|llama-server|sglang|InferenceService|ServingRuntime", re.IGNORECASE)


def _wants_deployment(rel: str) -> bool:
    base = base_name(rel).lower()
    return (base in {"dockerfile", "containerfile"} or base.startswith(("dockerfile.", "containerfile."))
            or base.endswith((".dockerfile", ".yaml", ".yml")))


def _detect_served_models(file: SourceFile) -> list[Observation]:
    """Models named on a model server's command line or environment, in a file that runs a model server."""
    if not file.text or not _SERVER_WORDS.search(file.text):
        return []
    rel, lines = file.rel, source_lines(file.text)
    found: list[Observation] = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        for match in _SERVED_MODEL.finditer(line):
            model = match.group("model")
            if plausible_identifier(model) and is_known_model_name(model) and not model.startswith(("/", ".")):
                found.append(Observation(kind="model", name=model, rel=rel, line=index + 1,
                                         detector="manifest.served_model", evidence=f"served model {model}"[:120]))
    return found


def _detector(id_: str, description: str, wants: Callable[[str], bool],
              detect: Callable[[SourceFile], list[Observation]], names: NameFilter | None = None) -> Detector:
    # FunctionDetector is frozen while the Detector protocol declares plain (settable) attributes
    return FunctionDetector(id_, description, wants, detect, names)


def _named_detector(id_: str, description: str, names: tuple[str, ...],
                    detect: Callable[[SourceFile], list[Observation]]) -> Detector:
    return _detector(id_, description, _named(*names), detect, NameFilter.named(*names))


MANIFEST_DETECTORS: list[Detector] = [
    _detector("manifest.requirements", "AI packages in pip requirements files (requirements*.txt, *.in).",
                     _wants_requirements, _detect_requirements, NameFilter.of(".txt", ".in")),
    _named_detector("manifest.pyproject", "AI packages in pyproject.toml (PEP 621 and Poetry dependencies).",
                    ("pyproject.toml",), _detect_pyproject),
    _named_detector("manifest.pipfile", "AI packages in a Pipfile.", ("Pipfile",), _detect_pipfile),
    _named_detector("manifest.setup_cfg", "AI packages in setup.cfg install_requires and extras_require.",
                    ("setup.cfg",), _detect_setup_cfg),
    _named_detector("manifest.setup_py", "AI packages in literal install_requires lists of setup.py (never run).",
                    ("setup.py",), _detect_setup_py),
    _detector("manifest.conda", "AI packages in conda environment files, including their pip section.",
                     _wants_conda, _detect_conda, NameFilter.of(".yml", ".yaml")),
    _named_detector("manifest.package_json", "AI packages in package.json dependency sections.",
                    ("package.json",), _detect_package_json),
    _named_detector("manifest.lockfile", "AI packages pinned in poetry.lock or uv.lock (medium confidence).",
                    ("poetry.lock", "uv.lock"), _detect_toml_lock),
    _named_detector("manifest.pipfile_lock", "AI packages pinned in Pipfile.lock (medium confidence).",
                    ("Pipfile.lock",), _detect_pipfile_lock),
    _named_detector("manifest.package_lock", "AI packages pinned in package-lock.json (medium confidence).",
                    ("package-lock.json", "npm-shrinkwrap.json"), _detect_package_lock),
    _detector("manifest.served_model", "Models named on model-server command lines and environments (--model, "
              "--model-id, MODEL_ID) in compose files, Kubernetes manifests and Dockerfiles.",
              _wants_deployment, _detect_served_models, DEPLOYMENT_FILES),
]

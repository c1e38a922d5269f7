"""Control detectors: evidence that a security control is *in use*, for step 3 of the assessment.

Convention: a control detector returns ``Observation(kind="pipeline", name="control:<name>", ...)``. The
``control:`` prefix marks the observation as a control rather than a pipeline component; ``<name>`` is one of the
names that ``discovery.control`` evidence rules in ``frameworks/data/controls.yaml`` match on (``rate-limiting``,
``signature-verification-ci``, ``pinned-model-revision``, ``weights-only-format``, ``clearsight-model-scan``,
``clearsight-data-check``, ``dependency-pinning``, ``secrets-manager``, ``sbom``, ``prompt-screening``), plus
``clearsight-guard`` for Clearsight's own ModelGuard. :mod:`clearsight.evidence.discovery` turns each such component
into one ``discovery.control`` Evidence per system.

Detectors (each with its ID):

* ``controls.python`` — Python by AST (comments and strings do not count): rate limiting (slowapi, ``limits``,
  fastapi-limiter, flask-limiter, Clearsight's ``ModelGuard``), model revisions pinned to a 40-hex commit in
  ``from_pretrained`` / ``hf_hub_download`` / ``snapshot_download``, weights-only loading (``torch.load(...,
  weights_only=True)``, safetensors ``safe_open`` / ``load_file`` / ``load_model``), secrets managers (``hvac``,
  ``boto3.client("secretsmanager")``, Azure Key Vault, Google Secret Manager) and prompt screening (``detect``
  from ``clearsight.controls.llm``).
* ``controls.javascript`` — JS/TS imports of express-rate-limit, rate-limiter-flexible, @nestjs/throttler and similar.
* ``controls.gateway`` — nginx ``limit_req``, Kong ``rate-limiting`` plugins, Envoy rate-limit filters and ingress
  rate-limit annotations in configuration files.
* ``controls.ci`` — CI workflows and pre-commit hooks running signature verification (``clearsight model verify``,
  ``model_signing verify``, ``cosign verify``, ``sigstore verify``), ``clearsight model scan``, ``clearsight data
  check`` or an SBOM generator (CycloneDX tools, syft, cdxgen, ``clearsight discover --format cyclonedx``). Other
  scanners (modelscan, picklescan) are not reported: no evidence rule names them.
* ``controls.dependency_pinning`` — requirements files whose every requirement is pinned with ``==`` or carries a
  ``--hash``, and lock files (poetry.lock, uv.lock, Pipfile.lock, package-lock.json, ...).

Nothing is imported or executed; odd content yields no observations.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from clearsight.discover.interface import (
    Detector,
    FunctionDetector,
    NameFilter,
    Observation,
    SourceFile,
    last_extension,
    source_lines,
)
from clearsight.discover.python_source import parse_python
from clearsight.discover.relpaths import base_name
from clearsight.discover.text_gates import Gates, register_pattern, register_words

__all__ = ["CONTROL_DETECTORS", "CONTROL_PREFIX", "control_name", "is_ci_file"]

CONTROL_PREFIX = "control:"


def control_name(name: str) -> str | None:
    """``rate-limiting`` for a component named ``control:rate-limiting``; None for anything else."""
    return name[len(CONTROL_PREFIX):] if name.startswith(CONTROL_PREFIX) else None


def _observe(control: str, file: SourceFile, line: int | None, detector: str, evidence: str) -> Observation:
    return Observation(kind="pipeline", name=f"{CONTROL_PREFIX}{control}", rel=file.rel, line=line,
                       detector=detector, evidence=evidence[:200])


def _dedupe(found: list[Observation]) -> list[Observation]:
    seen: set[tuple[str, int | None]] = set()
    out: list[Observation] = []
    for ob in found:
        if (ob.name, ob.line) not in seen:
            seen.add((ob.name, ob.line))
            out.append(ob)
    return out


# --- Python ------------------------------------------------------------------------------------------------------

_PY_ID = "controls.python"
_RATE_LIMIT_MODULES = ("slowapi", "limits", "fastapi_limiter", "flask_limiter", "ratelimit", "ratelimiter")
_RATE_LIMIT_CALLS = frozenset({"Limiter", "RateLimiter", "limit", "shared_limit", "init", "FixedWindowRateLimiter",
                               "MovingWindowRateLimiter", "SlidingWindowCounterRateLimiter", "limits",
                               "sleep_and_retry", "RateLimitMiddleware"})
_HUB_CALLS = frozenset({"from_pretrained", "hf_hub_download", "snapshot_download", "load_dataset"})
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SAFETENSORS_CALLS = frozenset({"safe_open", "load_file", "load_model", "load"})


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):  # e.g. Limiter(...).limit
        return _dotted(node.func)
    return None


def _imports_and_calls(tree: ast.Module) -> tuple[dict[str, str], list[tuple[ast.Call, str]]]:
    """Local name -> fully qualified name from every import, and every call with its dotted name, in one walk."""
    aliases: dict[str, str] = {}
    calls: list[tuple[ast.Call, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            dotted = _dotted(node.func)
            if dotted:
                calls.append((node, dotted))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases, calls


def _resolve(dotted: str, aliases: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    full = aliases.get(head, head)
    return f"{full}.{rest}" if rest else full


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


# What every observation below needs written in the file: one of these names or literals, a pinned revision (a
# 40-hex commit), or a rate-limiting module in an import statement (see _imports_limiter).
_PYTHON_WORDS = ("ModelGuard", "weights_only", "safetensors", "hvac", "secretsmanager", "SecretClient",
                 "secretmanager", "clearsight")
_COMMIT = re.compile(r"[0-9a-f]{40}")
# What may come before a module's name on its line: ``from``, or ``import`` and earlier modules of its list.
_MAX_IMPORT_PREFIX = 1000  # characters before the module's name on its line; longer import lines are missed
_IMPORT_PREFIX = re.compile(r"(?:.*[;:])?[ \t]*(?:from|import(?:[ \t]+[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,)*)[ \t]+")


# Most modules' names hold "limit": where it is missing, one search settles them all.
_LIMITER_GATES = ("limit", *(module for module in _RATE_LIMIT_MODULES if "limit" not in module))


register_words((*_PYTHON_WORDS, "revision", *_LIMITER_GATES, *_RATE_LIMIT_MODULES))
register_pattern("controls.commit", _COMMIT.pattern, example="revision='" + "0" * 40 + "'")


def _might_observe(text: str, gates: Gates | None = None) -> bool:
    """A cheap text check before parsing: most files use none of these libraries. ``gates``: the file's
    shared word search (:mod:`~clearsight.discover.text_gates`); the same answers as searching ``text``."""
    holds = (gates or Gates(text)).holds
    return (any(map(holds, _PYTHON_WORDS))
            or (holds("revision") and (gates is None or gates.may_match("controls.commit"))
                and _COMMIT.search(text) is not None)
            or (any(map(holds, _LIMITER_GATES))
                and any(map(holds, _RATE_LIMIT_MODULES)) and _imports_limiter(text)))


def _imports_limiter(text: str) -> bool:
    """A rate-limiting module imported by its top-level name on one line (a statement continued with a
    backslash before the module's name is missed); "limits" in prose or ``sympy.series.limits`` is not enough.

    Each module's name is found by substring search (sympy says "limits" thousands of times, and a pattern
    over the whole text was most of this detector's time), and its line is looked at only when it is a whole
    word with "from" or "import" before it on its line."""
    for module in _RATE_LIMIT_MODULES:
        at = text.find(module)
        while at >= 0:
            end = at + len(module)
            if (at == 0 or not _word_char(text[at - 1])) and (end == len(text) or not _word_char(text[end])):
                floor = at - _MAX_IMPORT_PREFIX - 1  # a newline further back leaves too long a prefix
                newline = text.rfind("\n", max(floor, 0), at)
                if newline >= 0 or floor < 0:
                    prefix = text[newline + 1:at]
                    if ("from" in prefix or "import" in prefix) and _IMPORT_PREFIX.fullmatch(prefix):
                        return True
            at = text.find(module, at + 1)
    return False


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _detect_python(file: SourceFile) -> list[Observation]:
    if not file.text or not _might_observe(file.text, file.gates):
        return []
    return python_controls(file)


def python_controls(file: SourceFile) -> list[Observation]:
    """What :func:`_detect_python` reports, without the text check in front (tests compare the two)."""
    if not file.text:
        return []
    tree = parse_python(file.text)
    if tree is None:
        return []
    aliases, calls = _imports_and_calls(tree)
    modules = set(aliases.values())
    rate_limit_lib = any(m == lib or m.startswith(lib + ".") for m in modules for lib in _RATE_LIMIT_MODULES)
    found: list[Observation] = []
    for call, dotted in calls:
        full = _resolve(dotted, aliases)
        last = dotted.rsplit(".", 1)[-1]
        line = call.lineno
        if full.startswith("clearsight.") and last == "ModelGuard":
            found.append(_observe("rate-limiting", file, line, _PY_ID, "Clearsight ModelGuard in the request path"))
            found.append(_observe("clearsight-guard", file, line, _PY_ID, "Clearsight ModelGuard in use"))
        elif rate_limit_lib and last in _RATE_LIMIT_CALLS and (
                full.startswith(_RATE_LIMIT_MODULES) or _is_limiter_method(dotted, aliases)):
            found.append(_observe("rate-limiting", file, line, _PY_ID, f"rate limiting: {full}(...)"))
        if last in _HUB_CALLS:
            revision = _kw(call, "revision")
            if isinstance(revision, ast.Constant) and isinstance(revision.value, str) and _SHA.match(revision.value):
                found.append(_observe("pinned-model-revision", file, line, _PY_ID,
                                      f"{last}(..., revision=\"{revision.value[:12]}…\")"))
        if full in ("torch.load", "torch.serialization.load"):
            flag = _kw(call, "weights_only")
            if isinstance(flag, ast.Constant) and flag.value is True:
                found.append(_observe("weights-only-format", file, line, _PY_ID, "torch.load(..., weights_only=True)"))
        if full.startswith("safetensors") and last in _SAFETENSORS_CALLS:
            found.append(_observe("weights-only-format", file, line, _PY_ID, f"safetensors loading: {full}(...)"))
        secret = _secrets_manager(call, full)
        if secret:
            found.append(_observe("secrets-manager", file, line, _PY_ID, secret))
        if full.startswith("clearsight.controls.llm") and last == "detect":
            found.append(_observe("prompt-screening", file, line, _PY_ID, "clearsight.controls.llm detect(...)"))
    return _dedupe(found)


def _is_limiter_method(dotted: str, aliases: dict[str, str]) -> bool:
    """``limiter.limit(...)`` on a local object, in a module that imports a rate-limiting library."""
    head = dotted.split(".", 1)[0]
    return "." in dotted and head not in aliases and dotted.rsplit(".", 1)[-1] in ("limit", "shared_limit")


def _secrets_manager(call: ast.Call, full: str) -> str | None:
    if full.startswith("hvac.") and full.endswith("Client"):
        return "HashiCorp Vault client (hvac)"
    if full.startswith("boto3") and full.endswith("client"):
        arg = call.args[0] if call.args else _kw(call, "service_name")
        if isinstance(arg, ast.Constant) and arg.value == "secretsmanager":
            return "AWS Secrets Manager client (boto3)"
    if full.startswith("azure.keyvault.secrets") and full.endswith("SecretClient"):
        return "Azure Key Vault SecretClient"
    if full.startswith("google.cloud.secretmanager") and full.endswith("SecretManagerServiceClient"):
        return "Google Secret Manager client"
    return None


# --- JavaScript / TypeScript -------------------------------------------------------------------------------------

_JS_ID = "controls.javascript"
_JS_EXTS = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs")
_JS_RATE = re.compile(
    r"""(?:require\s*\(\s*|from\s+|import\s+)['"](express-rate-limit|rate-limiter-flexible|@nestjs/throttler|"""
    r"""express-slow-down|@fastify/rate-limit|fastify-rate-limit|koa-ratelimit|@upstash/ratelimit|"""
    r"""hono-rate-limiter)['"]""")


def _code_lines(text: str, comment: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for lines that are not comments; trailing comments are cut off."""
    in_block = False
    for number, raw in enumerate(source_lines(text), start=1):
        line = raw.strip()
        if comment == "//":
            if in_block:
                if "*/" in line:
                    in_block = False
                    line = line.split("*/", 1)[1].strip()
                else:
                    continue
            if line.startswith("/*"):
                if "*/" not in line:
                    in_block = True
                    continue
                line = line.split("*/", 1)[1].strip()
            if line.startswith("//"):
                continue
            line = re.sub(r"(^|\s)//.*$", "", line)
        else:
            if line.startswith("#"):
                continue
            line = re.sub(r"(^|\s)#.*$", "", line)
        if line:
            yield number, line


def _detect_javascript(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    return _dedupe([
        _observe("rate-limiting", file, number, _JS_ID, f"rate limiting: {match.group(1)}")
        for number, line in _code_lines(file.text, "//") for match in [_JS_RATE.search(line)] if match
    ])


# --- gateway and server configuration ----------------------------------------------------------------------------

_GW_ID = "controls.gateway"
_GW_PATTERNS = (
    re.compile(r"\blimit_req(?:_zone)?\b"),
    re.compile(r"""\bname:\s*["']?rate-limiting(?:-advanced)?["']?\s*$"""),
    re.compile(r"""["']name["']\s*:\s*["']rate-limiting(?:-advanced)?["']"""),
    re.compile(r"\benvoy\.(?:filters\.http\.)?(?:local_)?ratelimit\b"),
    re.compile(r"\bnginx\.ingress\.kubernetes\.io/limit-(?:rps|rpm|connections)\b"),
)


def _wants_gateway(rel: str) -> bool:
    base = base_name(rel).lower()
    return (base.endswith((".conf", ".yaml", ".yml", ".json")) and not base.endswith("-lock.json")
            and not is_ci_file(rel))


# every pattern above contains one of these: one search over the whole text skips most files at C speed
_GW_HINT = re.compile(r"limit_req|rate-limiting|ratelimit|/limit-(?:rps|rpm|connections)")


def _detect_gateway(file: SourceFile) -> list[Observation]:
    if not file.text or not _GW_HINT.search(file.text):
        return []
    found: list[Observation] = []
    for number, line in _code_lines(file.text, "#"):
        if any(p.search(line) for p in _GW_PATTERNS):
            found.append(_observe("rate-limiting", file, number, _GW_ID, f"rate limiting configured: {line[:120]}"))
    return _dedupe(found)


# --- CI workflows and pre-commit hooks ---------------------------------------------------------------------------

_CI_ID = "controls.ci"
_CI_NAMES = frozenset({".gitlab-ci.yml", ".gitlab-ci.yaml", "jenkinsfile", "azure-pipelines.yml",
                       "azure-pipelines.yaml", "bitbucket-pipelines.yml", ".pre-commit-config.yaml",
                       ".pre-commit-config.yml"})
_CI_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("signature-verification-ci", re.compile(
        r"\bclearsight\s+model\s+verify\b|\bmodel[_-]signing\s+verify\b|\bcosign\s+verify(?:-blob|-attestation)?\b"
        r"|\bsigstore\s+verify\b")),
    ("clearsight-model-scan", re.compile(r"\bclearsight\s+model\s+scan\b")),
    ("clearsight-data-check", re.compile(r"\bclearsight\s+data\s+check\b")),
    ("sbom", re.compile(r"\bcyclonedx-(?:py|bom|npm)\b|\bcdxgen\b|\bsyft\b|anchore/sbom-action"
                        r"|\bclearsight\s+discover\b.*--format[\s=]+cyclonedx")),
)


def is_ci_file(rel: str) -> bool:
    lower = rel.lower()
    base = base_name(lower)
    if lower.startswith(".github/workflows/") or "/.github/workflows/" in lower:
        return base.endswith((".yml", ".yaml"))
    if lower.endswith(".circleci/config.yml"):
        return True
    return base in _CI_NAMES


def _detect_ci(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    comment = "//" if base_name(file.rel).lower() == "jenkinsfile" else "#"
    found: list[Observation] = []
    for number, line in _code_lines(file.text, comment):
        for control, pattern in _CI_PATTERNS:
            match = pattern.search(line)
            if match:
                found.append(_observe(control, file, number, _CI_ID, f"CI step: {match.group(0)}"))
    return _dedupe(found)


# --- dependency pinning ------------------------------------------------------------------------------------------

_PIN_ID = "controls.dependency_pinning"
_REQUIREMENTS = re.compile(r"^requirements[\w.-]*\.txt$", re.IGNORECASE)
_LOCK_FILES = frozenset({"poetry.lock", "uv.lock", "pipfile.lock", "pdm.lock", "package-lock.json", "yarn.lock",
                         "pnpm-lock.yaml", "conda-lock.yml", "conda-lock.yaml", "npm-shrinkwrap.json", "bun.lockb"})
_NEUTRAL_OPTIONS = ("-r", "-c", "--requirement", "--constraint", "-i", "--index-url", "--extra-index-url",
                    "--find-links", "-f", "--trusted-host", "--prefer-binary", "--only-binary", "--no-binary",
                    "--pre", "--require-hashes")
_PINNED = re.compile(r"===?\s*[^\s,;*]+(?:\s*;.*)?$")


def _wants_pinning(rel: str) -> bool:
    base = base_name(rel)
    return bool(_REQUIREMENTS.match(base)) or base.lower() in _LOCK_FILES


def _requirement_lines(text: str) -> Iterator[tuple[int, str]]:
    """Logical requirement lines (backslash continuations joined), comments removed, with the first line number."""
    pending, start = "", 0
    for number, raw in enumerate(source_lines(text), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            yield start, joined
    if pending.strip():
        yield start, pending.strip()


def _detect_pinning(file: SourceFile) -> list[Observation]:
    base = base_name(file.rel)
    if base.lower() in _LOCK_FILES:
        return [_observe("dependency-pinning", file, None, _PIN_ID, f"lock file {base}")]
    if not file.text:
        return []
    requirements = 0
    for _number, line in _requirement_lines(file.text):
        if line.startswith("-") and not line.startswith(("-e", "--editable")):
            if line.split()[0].split("=")[0] in _NEUTRAL_OPTIONS:
                continue
            return []  # an option we do not understand: do not claim the file is pinned
        requirements += 1
        spec = line.split("--hash", 1)[0].strip()
        if "--hash" in line or _PINNED.search(spec):
            continue
        return []
    if requirements == 0:
        return []
    return [_observe("dependency-pinning", file, 1, _PIN_ID,
                     f"all {requirements} requirements in {base} are pinned to exact versions")]


def _wants(exts: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda rel: rel.lower().endswith(exts)


CONTROL_DETECTORS: tuple[Detector, ...] = (
    FunctionDetector(_PY_ID, "Controls in Python code: rate limiting, pinned revisions, weights-only loading, "
                     "secrets managers, prompt screening", _wants((".py", ".pyi")), _detect_python,
                     NameFilter.of(".py", ".pyi")),
    FunctionDetector(_JS_ID, "Rate-limiting middleware in JavaScript/TypeScript code", _wants(_JS_EXTS),
                     _detect_javascript, NameFilter.of(*_JS_EXTS)),
    FunctionDetector(_GW_ID, "Rate limits in nginx, Kong, Envoy and ingress configuration", _wants_gateway,
                     _detect_gateway, NameFilter.of(".conf", ".yaml", ".yml", ".json")),
    FunctionDetector(_CI_ID, "Signature verification, Clearsight scans and SBOM generation in CI and pre-commit",
                     is_ci_file, _detect_ci, NameFilter.of(".yml", ".yaml", *map(last_extension, _CI_NAMES))),
    FunctionDetector(_PIN_ID, "Requirements files pinned to exact versions, and lock files", _wants_pinning,
                     _detect_pinning, NameFilter.of(".txt", *map(last_extension, _LOCK_FILES))),
)

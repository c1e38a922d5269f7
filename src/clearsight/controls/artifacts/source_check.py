"""Check a downloaded pre-trained model before it is used: format, licence, pinned revision, signature, scan.

The model is a folder as ``huggingface_hub`` leaves it — a hub cache repository (``models--org--name`` with
``snapshots/<commit>/``), one snapshot folder, a ``local_dir`` download (``.cache/huggingface/download``), a git
clone — or any plain folder (a single file works too). Nothing is loaded, imported or executed: the format
check sniffs a few magic bytes and zip member names only.

Each check answers pass, warn or fail with a reason; the overall status is the worst one:

``source.format``
    Pickle-based weights can run code when loaded. Weights-only formats (.safetensors, .gguf, .onnx) →
    pass. Pickle weights next to a weights-only copy → warn (delete them or make sure the loader picks the
    safe copy). Pickle weights only → fail. A weights-only name hiding a pickle → fail. No weights → warn.
``source.licence``
    From the model card's YAML front matter (``license:``, ``license_name:`` for ``other``), else a LICENSE
    file recognised by its text. On the allowlist → pass. Known non-commercial, research-only or
    no-derivatives licences (``cc-by-nc-*``, ``cc-by-nd-*``, …) → fail. Anything else, unknown or missing →
    warn. The default allowlist is the permissive licences that allow commercial use without use-based
    restrictions: apache-2.0, mit, bsd-2-clause, bsd-3-clause, cc-by-4.0, cc0-1.0, unlicense. OpenRAIL and
    the Llama/Gemma licences are deliberately left out (warn): they allow commercial use but carry
    use restrictions someone must review and pass on to users. A card that disagrees with the LICENSE
    file gets the worse of the two.
``source.revision``
    A commit hash recorded by the download (snapshot folder name, ``refs/main``, ``.metadata`` files of a
    ``local_dir`` download, or a git HEAD) → pass; files from different commits or no commit → warn.
``source.signature``
    A signature file (``*.sig``, ``*.sigstore``, ``*.sigstore.json``) → pass (presence only: verify it
    with the integrity control); none → warn.
``source.scan``
    The injected scanner's verdict on the folder: malicious → fail, suspicious or error → warn, clean or
    unsupported → pass; no scanner → warn, a scanner that raises → warn.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from clearsight.core.base import Frozen, SourceLocation
from clearsight.core.errors import InputError
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

CheckStatus = Literal["pass", "warn", "fail"]
STATUS_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}

DEFAULT_ALLOWED: frozenset[str] = frozenset(
    {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc-by-4.0", "cc0-1.0", "unlicense"}
)
"""Permissive licences that allow commercial use without use-based restrictions."""

PICKLE_EXTENSIONS = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib"})
PICKLE_BY_NAME = frozenset({".pkl", ".pickle", ".joblib"})
WEIGHTS_ONLY_EXTENSIONS = frozenset({".safetensors", ".gguf", ".onnx"})
SIGNATURE_SUFFIXES = (".sig", ".sigstore", ".sigstore.json")

_SKIPPED_DIRS = frozenset({".git", ".cache", ".huggingface", "__pycache__"})
_MAX_FILES = 50_000
_COMMIT = re.compile(r"^[0-9a-f]{40}$")

# Known to forbid commercial use, allow research only, or forbid derivatives (fine-tunes).
_RESTRICTED_PREFIXES = ("cc-by-nc", "cc-by-nd")
_RESTRICTED_WORDS = ("noncommercial", "non-commercial", "research-only", "research-use", "non-production")
_RESTRICTED_IDS = frozenset(
    {
        "deepfloyd-if-license",
        "apple-amlr",
        "apple-ascl",
        "fair-noncommercial-research-license",
        "mnpl-0.1",
        "mnpl",
        "cc-nc",
    }
)
_USE_RESTRICTED = ("openrail", "rail", "llama", "gemma")
_COPYLEFT = ("gpl", "agpl", "lgpl", "cc-by-sa")
_ALIASES = {
    "apache": "apache-2.0",
    "apache2": "apache-2.0",
    "apache-2": "apache-2.0",
    "apache2.0": "apache-2.0",
    "apache-license-2.0": "apache-2.0",
    "apache-license-version-2.0": "apache-2.0",
    "asl-2.0": "apache-2.0",
    "mit-license": "mit",
    "expat": "mit",
    "bsd-3": "bsd-3-clause",
    "bsd-2": "bsd-2-clause",
    "new-bsd": "bsd-3-clause",
    "simplified-bsd": "bsd-2-clause",
    "cc-by-4": "cc-by-4.0",
    "cc-by": "cc-by-4.0",
    "cc0": "cc0-1.0",
    "cc0-1": "cc0-1.0",
    "public-domain": "cc0-1.0",
    "the-unlicense": "unlicense",
}


# --------------------------------------------------------------------------------------------- results


class SourceCheckItem(Frozen):
    """One check on a downloaded model."""

    rule: str = Field(description="source.format, source.licence, source.revision, source.signature, source.scan")
    status: CheckStatus
    reason: str
    detail: str | None = None
    files: list[str] = Field(default_factory=list, description="Files the check is about, relative to the model.")


class SourceCheck(Frozen):
    """Every check on one model; ``status`` is the worst of them."""

    path: str
    model_dir: str = Field(description="The folder checked (the chosen snapshot for a hub cache repository).")
    status: CheckStatus
    licence: str | None = None
    revision: str | None = None
    checks: list[SourceCheckItem]

    def check(self, rule: str) -> SourceCheckItem:
        """The check with this rule ID (``source.licence`` …)."""
        for item in self.checks:
            if item.rule == rule:
                return item
        raise KeyError(rule)

    def to_findings(self) -> list[Finding]:
        """A finding per check that did not pass: fail → high (critical for a malicious scan), warn → medium
        (low for a missing signature or unpinned revision, which are hygiene)."""
        findings = []
        for item in self.checks:
            if item.status == "pass":
                continue
            if item.status == "fail":
                severity = Severity.CRITICAL if item.rule == "source.scan" else Severity.HIGH
            elif item.rule in {"source.signature", "source.revision"}:
                severity = Severity.LOW
            else:
                severity = Severity.MEDIUM
            where = os.path.join(self.model_dir, item.files[0]) if item.files else self.model_dir
            findings.append(
                Finding(
                    rule=item.rule,
                    severity=severity,
                    message=item.reason,
                    location=SourceLocation(path=where),
                    detail=item.detail,
                )
            )
        return findings


# --------------------------------------------------------------------------------------------- entry point


def check_source(
    path: Path,
    *,
    licence_allowlist: frozenset[str] = DEFAULT_ALLOWED,
    scan: Callable[[Path], str] | None = None,
) -> SourceCheck:
    """Run the five checks on a downloaded pre-trained model (see the module docstring)."""
    if not path.exists():
        raise InputError("model not found", path=str(path))
    model_dir, revision_hint = _resolve_model_dir(path)
    files = _model_files(path if path.is_file() else model_dir)
    meta_dir = path.parent if path.is_file() else model_dir
    allowed = frozenset(normalise_licence(name) for name in licence_allowlist)

    format_check = _check_format(files, meta_dir)
    licence_check, licence = _check_licence(meta_dir, allowed)
    revision_check, revision = _check_revision(path, model_dir, revision_hint)
    signature_check = _check_signature(path, meta_dir)
    scan_check = _check_scan(path if path.is_file() else model_dir, scan)
    checks = [format_check, licence_check, revision_check, signature_check, scan_check]
    status = max((c.status for c in checks), key=STATUS_ORDER.__getitem__)
    return SourceCheck(
        path=str(path),
        model_dir=str(model_dir),
        status=status,
        licence=licence,
        revision=revision,
        checks=checks,
    )


# --------------------------------------------------------------------------------------------- layout


def _resolve_model_dir(path: Path) -> tuple[Path, tuple[str, str] | None]:
    """The folder holding the model files, and a (commit, source) when the layout itself pins one."""
    if path.is_file():
        return path.parent, None
    snapshots = path / "snapshots"
    if snapshots.is_dir():  # a hub cache repository: models--org--name/{blobs,refs,snapshots}
        commits = sorted(p for p in snapshots.iterdir() if p.is_dir())
        ref = _read_small(path / "refs" / "main").strip()
        if _COMMIT.match(ref) and (snapshots / ref).is_dir():
            return snapshots / ref, (ref, "refs/main of the hub cache")
        if len(commits) == 1:
            return commits[0], (commits[0].name, "hub cache snapshot") if _COMMIT.match(commits[0].name) else None
        if commits:
            newest = max(commits, key=lambda p: p.stat().st_mtime)
            hint = (newest.name, "newest hub cache snapshot") if _COMMIT.match(newest.name) else None
            return newest, hint
    return path, None


def _model_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(names):
            candidate = Path(folder) / name
            if candidate.is_file():
                found.append(candidate)
                if len(found) >= _MAX_FILES:
                    return found
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _read_small(path: Path, limit: int = 1 << 20) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------- format


def sniff_pickle(path: Path) -> str | None:
    """``"pickle"`` (protocol 2+ header), ``"torch-zip"`` (zip with data.pkl), ``"zip-pickle"`` or None.

    Minimal on purpose: the model scanner does the real reading; this only tells weights formats apart.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            return "torch-zip"
        if any(n.endswith(".pkl") for n in names):
            return "zip-pickle"
    return None


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _check_format(files: list[Path], root: Path) -> SourceCheckItem:
    pickles: list[str] = []
    weights_only: list[str] = []
    disguised: list[str] = []
    for file in files:
        suffix = _suffix(file)
        if suffix not in PICKLE_EXTENSIONS and suffix not in WEIGHTS_ONLY_EXTENSIONS:
            continue
        sniffed = sniff_pickle(file)
        name = _relative(file, root)
        if suffix in WEIGHTS_ONLY_EXTENSIONS:
            (disguised if sniffed else weights_only).append(name)
        elif sniffed or suffix in PICKLE_BY_NAME:
            pickles.append(name)
    if disguised:
        return SourceCheckItem(
            rule="source.format",
            status="fail",
            files=disguised,
            reason=f"{len(disguised)} file(s) named as weights-only format contain a pickle: {_few(disguised)}",
            detail="a pickle under a .safetensors/.gguf/.onnx name is a strong sign of tampering",
        )
    if pickles and weights_only:
        return SourceCheckItem(
            rule="source.format",
            status="warn",
            files=pickles,
            reason=f"pickle-based weights next to weights-only copies: {_few(pickles)}",
            detail="delete the pickle files or make sure the loader uses " + _few(weights_only),
        )
    if pickles:
        return SourceCheckItem(
            rule="source.format",
            status="fail",
            files=pickles,
            reason=f"only pickle-based weights, which can run code when loaded: {_few(pickles)}",
            detail="prefer a .safetensors (or .gguf/.onnx) release of the model; scan these files before use",
        )
    if weights_only:
        return SourceCheckItem(
            rule="source.format",
            status="pass",
            files=weights_only,
            reason=f"weights-only format: {_few(weights_only)}",
        )
    return SourceCheckItem(rule="source.format", status="warn", reason="no model weights recognised")


def _few(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --------------------------------------------------------------------------------------------- licence


def normalise_licence(raw: str) -> str:
    """Lower-case SPDX-ish form: ``Apache 2.0`` → ``apache-2.0``, ``CC BY-NC 4.0`` → ``cc-by-nc-4.0``."""
    text = re.sub(r"[\s_]+", "-", raw.strip().lower())
    text = re.sub(r"-+", "-", text).strip("-")
    return _ALIASES.get(text, text)


def classify_licence(licence: str, allowed: frozenset[str] = DEFAULT_ALLOWED) -> tuple[CheckStatus, str]:
    """Status and reason for one licence ID (already normalised or not)."""
    spdx = normalise_licence(licence)
    if spdx in allowed:
        return "pass", f"licence {spdx} is on the allowlist"
    if spdx in _RESTRICTED_IDS or spdx.startswith(_RESTRICTED_PREFIXES) or any(w in spdx for w in _RESTRICTED_WORDS):
        return "fail", f"licence {spdx} forbids commercial use or derivatives"
    if any(word in spdx for word in _USE_RESTRICTED):
        return "warn", f"licence {spdx} carries use restrictions to review and pass on"
    if spdx.startswith(_COPYLEFT):
        return "warn", f"licence {spdx} is copyleft: review its obligations"
    return "warn", f"licence {spdx} is not on the allowlist"


def _card_front_matter(meta_dir: Path) -> tuple[dict[str, object] | None, str | None, str | None]:
    """(front matter, card file name, problem) from README.md."""
    card = next((p for p in sorted(meta_dir.glob("*")) if p.name.lower() == "readme.md" and p.is_file()), None)
    if card is None:
        return None, None, None
    text = _read_small(card).lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, card.name, None
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() in {"---", "..."})
    except StopIteration:
        return None, card.name, "model card front matter is not closed with ---"
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        return None, card.name, f"model card front matter is not valid YAML ({type(exc).__name__})"
    return (data if isinstance(data, dict) else None), card.name, None


def _card_licences(front: dict[str, object]) -> list[str]:
    raw = front.get("license")
    values = [str(v) for v in raw] if isinstance(raw, list) else ([str(raw)] if raw else [])
    name = front.get("license_name")
    licences = []
    for value in values:
        if normalise_licence(value) == "other" and name:
            licences.append(str(name))
        else:
            licences.append(value)
    if not licences and name:
        licences.append(str(name))
    return [normalise_licence(v) for v in licences if str(v).strip()]


def licence_from_text(text: str) -> str | None:
    """Recognise a licence from its text (first lines are enough for the common ones)."""
    t = " ".join(text.lower().split())
    if "apache license" in t and "version 2.0" in t:
        return "apache-2.0"
    if "permission is hereby granted, free of charge" in t:
        return "mit"
    if "redistribution and use in source and binary forms" in t:
        return "bsd-3-clause" if "neither the name" in t or "names of its contributors" in t else "bsd-2-clause"
    if "free and unencumbered software released into the public domain" in t:
        return "unlicense"
    if "creative commons" in t or ("attribution" in t and "international" in t):
        version = re.search(r"(\d\.\d) international", t)
        cc_version = version.group(1) if version else "4.0"
        if "cc0 1.0 universal" in t:
            return "cc0-1.0"
        if "noncommercial" in t or "non-commercial" in t:
            if "sharealike" in t or "share-alike" in t:
                return f"cc-by-nc-sa-{cc_version}"
            if "noderivatives" in t or "no derivatives" in t:
                return f"cc-by-nc-nd-{cc_version}"
            return f"cc-by-nc-{cc_version}"
        if "noderivatives" in t:
            return f"cc-by-nd-{cc_version}"
        if "sharealike" in t:
            return f"cc-by-sa-{cc_version}"
        if "attribution" in t:
            return f"cc-by-{cc_version}"
    if "openrail" in t or "responsible ai license" in t:
        return "openrail"
    llama = re.search(r"llama (\d(?:\.\d)?) community license", t)
    if llama:
        return f"llama{llama.group(1)}"
    if "gemma terms of use" in t:
        return "gemma"
    if "gnu affero general public license" in t:
        return "agpl-3.0"
    if "gnu lesser general public license" in t:
        return "lgpl-3.0" if "version 3" in t else "lgpl-2.1"
    if "gnu general public license" in t:
        return "gpl-3.0" if "version 3" in t else "gpl-2.0"
    if "non-commercial" in t or "noncommercial" in t or "research purposes only" in t:
        return "noncommercial-custom"
    return None


def _licence_files(meta_dir: Path) -> list[Path]:
    names = {"license", "licence", "copying", "license.txt", "licence.txt", "license.md", "licence.md"}
    return [p for p in sorted(meta_dir.glob("*")) if p.name.lower() in names and p.is_file()]


def _check_licence(meta_dir: Path, allowed: frozenset[str]) -> tuple[SourceCheckItem, str | None]:
    front, card_name, card_problem = _card_front_matter(meta_dir)
    card = _card_licences(front) if front else []
    files = _licence_files(meta_dir)
    file_licence = licence_from_text(_read_small(files[0], 64 * 1024)) if files else None

    if card:
        results = [(spdx, *classify_licence(spdx, allowed)) for spdx in card]
        # several licences on a card are alternatives: the best one decides
        spdx, status, reason = min(results, key=lambda r: STATUS_ORDER[r[1]])
        reason = f"{reason} (model card)"
        detail = None if len(card) == 1 else "model card lists " + ", ".join(card)
        where = [card_name] if card_name else []
        if file_licence and file_licence not in card and files:
            file_status, file_reason = classify_licence(file_licence, allowed)
            detail = f"model card says {', '.join(card)} but {files[0].name} reads as {file_licence}"
            if STATUS_ORDER[file_status] > STATUS_ORDER[status]:
                status, reason = file_status, f"{file_reason} ({files[0].name}, disagrees with the model card)"
            elif status == "pass":
                status, reason = "warn", f"model card and {files[0].name} disagree on the licence"
            where.append(files[0].name)
        return SourceCheckItem(rule="source.licence", status=status, reason=reason, detail=detail, files=where), spdx
    if files:
        if file_licence is None:
            return SourceCheckItem(
                rule="source.licence",
                status="warn",
                files=[files[0].name],
                reason=f"{files[0].name} present but its licence was not recognised",
                detail=card_problem or "add `license:` to the model card front matter or review the file",
            ), None
        status, reason = classify_licence(file_licence, allowed)
        return SourceCheckItem(
            rule="source.licence",
            status=status,
            reason=f"{reason} ({files[0].name})",
            files=[files[0].name],
            detail=card_problem,
        ), file_licence
    return SourceCheckItem(
        rule="source.licence",
        status="warn",
        reason="no licence found (model card or LICENSE file)",
        detail=card_problem,
        files=[card_name] if card_name else [],
    ), None


# --------------------------------------------------------------------------------------------- revision


def _check_revision(path: Path, model_dir: Path, hint: tuple[str, str] | None) -> tuple[SourceCheckItem, str | None]:
    found = hint or _snapshot_parent(path) or _git_head(model_dir)
    metadata = dict(_download_metadata(model_dir))
    if not found and metadata:
        commits = sorted(set(metadata.values()))
        if len(commits) == 1:
            found = (commits[0], f"huggingface_hub download metadata ({len(metadata)} files)")
        else:
            return SourceCheckItem(
                rule="source.revision",
                status="warn",
                reason=f"files come from {len(commits)} different revisions",
                detail="; ".join(
                    f"{c[:12]}: {_few(sorted(n for n, v in metadata.items() if v == c))}" for c in commits
                ),
            ), None
    if found:
        commit, source = found
        return SourceCheckItem(
            rule="source.revision",
            status="pass",
            reason=f"pinned to commit {commit[:12]} ({source})",
            detail=commit,
        ), commit
    return SourceCheckItem(
        rule="source.revision",
        status="warn",
        reason="revision not pinned: no commit hash recorded",
        detail="download with an explicit revision=<commit> so the same files can be fetched and checked again",
    ), None


def _snapshot_parent(path: Path) -> tuple[str, str] | None:
    for folder in [path, *path.parents]:
        if folder.parent.name == "snapshots" and _COMMIT.match(folder.name):
            return folder.name, "hub cache snapshot"
    return None


def _git_head(model_dir: Path) -> tuple[str, str] | None:
    git = model_dir / ".git"
    head = _read_small(git / "HEAD", 4096).strip()
    if _COMMIT.match(head):
        return head, "git HEAD"
    if head.startswith("ref:"):
        ref = head[4:].strip()
        value = _read_small(git / ref, 4096).strip()
        if not _COMMIT.match(value):
            for line in _read_small(git / "packed-refs").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    value = parts[0]
        if _COMMIT.match(value):
            return value, f"git {ref}"
    return None


def _download_metadata(model_dir: Path) -> Iterator[tuple[str, str]]:
    """(file, commit) from ``huggingface_hub`` ``local_dir`` downloads: first line of each ``.metadata``."""
    for base in (model_dir / ".cache" / "huggingface" / "download", model_dir / ".huggingface" / "download"):
        if not base.is_dir():
            continue
        for meta in sorted(base.rglob("*.metadata")):
            first = _read_small(meta, 4096).splitlines()[:1]
            if first and _COMMIT.match(first[0].strip()):
                yield meta.relative_to(base).as_posix().removesuffix(".metadata"), first[0].strip()


# --------------------------------------------------------------------------------------------- signature, scan


def _check_signature(path: Path, meta_dir: Path) -> SourceCheckItem:
    candidates = [p for p in sorted(meta_dir.glob("*")) if p.is_file() and p.name.endswith(SIGNATURE_SUFFIXES)]
    if path.is_file():
        candidates = [p for p in candidates if p.name.startswith(path.name)]
    else:
        sibling = path.with_name(path.name + ".sig")
        if sibling.is_file():
            candidates.append(sibling)
    if candidates:
        names = [p.name for p in candidates]
        return SourceCheckItem(
            rule="source.signature",
            status="pass",
            files=names,
            reason=f"signature present: {_few(names)}",
            detail="presence only: verify it with `clearsight model verify`",
        )
    return SourceCheckItem(
        rule="source.signature",
        status="warn",
        reason="no signature: origin and integrity cannot be verified",
        detail="ask the publisher for a model-signing signature, or sign the copy you reviewed",
    )


def _check_scan(target: Path, scan: Callable[[Path], str] | None) -> SourceCheckItem:
    if scan is None:
        return SourceCheckItem(rule="source.scan", status="warn", reason="model files not scanned")
    try:
        verdict = str(scan(target)).strip().lower()
    except Exception as exc:  # an injected scanner must not crash the check, nor pass silently
        return SourceCheckItem(
            rule="source.scan", status="warn", reason=f"scan failed: {type(exc).__name__}: {exc}".strip()
        )
    if verdict == "malicious":
        return SourceCheckItem(rule="source.scan", status="fail", reason="scanner verdict: malicious")
    if verdict == "suspicious":
        return SourceCheckItem(rule="source.scan", status="warn", reason="scanner verdict: suspicious")
    if verdict == "error":
        return SourceCheckItem(rule="source.scan", status="warn", reason="scanner could not finish (verdict: error)")
    if verdict in {"clean", "unsupported"}:
        return SourceCheckItem(rule="source.scan", status="pass", reason=f"scanner verdict: {verdict}")
    return SourceCheckItem(rule="source.scan", status="warn", reason=f"unknown scanner verdict {verdict!r}")

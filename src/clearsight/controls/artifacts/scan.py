"""Scan model files and folders: walk, hash, sniff, dispatch to format scanners or open containers, decide.

Public API (for the CLI and the assessment)::

    scan_paths(paths, *, policy, limits=None, progress=None) -> ModelScanReport
    scan_file(path, *, policy, limits=None, display=None) -> FileScan
    scan_bytes(data, *, name, policy, limits=None) -> FileScan
    scan_member(member, *, policy, limits=None) -> FileScan

Nothing scanned is ever unpickled, imported or executed, and nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from clearsight import __version__
from clearsight.controls.artifacts.containers import (
    COMPRESSED_STREAMS,
    CONTAINER_FORMATS,
    LZ4_AVAILABLE,
    Limits,
    ScanContext,
    finding,
    iter_members,
    open_zip,
    scan_context,
)
from clearsight.controls.artifacts.formats import MODEL_EXTENSIONS, UNKNOWN, refine_zip, sniff
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners import SCANNERS
from clearsight.controls.artifacts.scanners.pickles import PICKLE_OPCODES, scan_pickle
from clearsight.controls.artifacts.scanners.savedmodel import scan_keras_metadata, scan_saved_model
from clearsight.core.artifact import FileScan, ModelScanReport, ScanSummary, verdict_of
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity
from clearsight.hashing import sha256_file

Progress = Callable[[int, int], None]
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
"""Version-control and cache folders: their content is never what a loader reads."""



@dataclass
class _Result:
    format: str
    findings: list[Finding] = field(default_factory=list)
    supported: bool = True
    failed: bool = False
    rejected_pickle: bool = False  # read as a pickle (it starts with an opcode) and rejected by the reader


@dataclass(frozen=True)
class _Target:
    path: Path
    display: str
    kind: str  # "file", "savedmodel" or "skipped"
    note: Finding | None = None


def _leaf(where: str) -> str:
    return where.replace("\\", "/").rsplit("!", 1)[-1].rsplit("/", 1)[-1]


def _extension_check(where: str, fmt: str) -> Finding | None:
    suffix = PurePosixPath(_leaf(where)).suffix.lower()
    if suffix not in MODEL_EXTENSIONS:
        return None
    expected = MODEL_EXTENSIONS[suffix]
    base = fmt.split("/", 1)[0]
    if fmt == UNKNOWN or fmt.endswith("/" + UNKNOWN):
        why = f"the name says {suffix} but the content is not a model format Clearsight recognises"
    elif expected is not None and base not in expected and base not in CONTAINER_FORMATS:
        why = f"the name says {suffix} but the content is {fmt}"
    else:
        return None
    return finding(
        "format.mismatch",
        Severity.MEDIUM,
        "The file's content does not match the model format its extension claims.",
        where,
        why,
    )


def _refine(member: Member, fmt: str) -> str:
    """Decide what kind of zip from the central directory (the head only shows the first members)."""
    if fmt not in ("zip", "torch-zip", "keras", "npz"):
        return fmt
    try:
        with member.open() as stream:
            listing = open_zip(member, stream, [])
            if listing is None:
                return "zip"
            with listing.archive:
                return refine_zip(listing.names)
    except OSError:
        return "zip"


_ZIP_FORMATS = ("torch-zip", "keras", "npz")
"""Zips a format scanner knows; every member is also scanned like any zip member (a loader may read any)."""
_WEAK_FORMATS = frozenset({UNKNOWN, "onnx", "savedmodel", "tf-graphdef", "safetensors", "zlib", "lzma"})
"""Formats recognised without strong magic bytes: the content is also read as ``pickle.load`` would read it."""
_NOT_A_PICKLE = frozenset({"pickle.malformed", "pickle.truncated"})
_TORCH_STORAGE = re.compile(r"^[^/]+/data/\d+$")


def _pickle_fallback(member: Member, policy: Policy) -> list[Finding] | None:
    """The pickle findings for content no other format claims, or None when it is no pickle at all.

    ``pickle.load`` reads any byte stream; the sniffer's guess must not decide whether a pickle is scanned. Only
    a stream the reader rejects outright (nothing but a structural complaint, nothing dangerous) is not a pickle.
    """
    with member.open() as stream:
        findings = scan_pickle(stream, policy, member.where)
    if all(f.rule in _NOT_A_PICKLE and f.severity is not Severity.CRITICAL for f in findings) and findings:
        return None
    return findings


def _scan_member(
    member: Member,
    policy: Policy,
    ctx: ScanContext,
    depth: int,
    *,
    check_name: bool = True,
    raw_data: bool = False,
) -> _Result:
    limits = ctx.limits
    try:
        with member.open() as stream:
            head = stream.read(limits.head_bytes)
    except OSError as exc:
        return _Result(
            UNKNOWN,
            ctx.admit(
                [finding("file.unreadable", Severity.LOW, "The file could not be read.", member.where, str(exc))]
            ),
            supported=False,
            failed=True,
        )
    result = _Result(UNKNOWN)
    try:
        fmt = result.format = _refine(member, sniff(head, name=_leaf(member.where)))
        if raw_data and fmt in _WEAK_FORMATS:
            # A tensor storage that torch.load maps as raw numbers: only strong magic bytes are worth a look.
            result.format = "raw"
            return result
        if fmt == "lz4" and not LZ4_AVAILABLE:
            result.supported = False
            result.findings.extend(
                ctx.admit(
                    [
                        finding(
                            "format.unscannable",
                            Severity.MEDIUM,
                            "An lz4-compressed stream (joblib's lz4 compression) cannot be decompressed here (the "
                            "lz4 package is not installed), so its content was not scanned.",
                            member.where,
                        )
                    ]
                )
            )
        elif fmt in CONTAINER_FORMATS:
            _scan_container(member, fmt, policy, ctx, depth, result)
        elif fmt in SCANNERS:
            result.findings.extend(ctx.admit(SCANNERS[fmt](member, policy)))
            if fmt in _ZIP_FORMATS:
                _scan_container(member, "zip", policy, ctx, depth, result, inside=fmt)
        else:
            result.supported = False
        if fmt in _WEAK_FORMATS and head and head[0] in PICKLE_OPCODES:
            extra = _pickle_fallback(member, policy)
            if extra is not None:
                result.findings.extend(ctx.admit(extra))
                if not result.supported:
                    result.format = "pickle"
                    result.supported = True
            else:
                result.rejected_pickle = not result.supported
    except Exception as exc:
        result.failed = True
        result.findings.extend(
            ctx.admit(
                [
                    finding(
                        "scan.error",
                        Severity.LOW,
                        "The scanner failed on this file; it was not fully scanned.",
                        member.where,
                        f"{type(exc).__name__}: {exc}",
                    )
                ]
            )
        )
    if check_name:
        mismatch = _extension_check(member.where, result.format)
        if mismatch is not None:
            result.findings.extend(ctx.admit([mismatch]))
    return result


def _scan_container(
    member: Member,
    fmt: str,
    policy: Policy,
    ctx: ScanContext,
    depth: int,
    result: _Result,
    *,
    inside: str | None = None,
) -> None:
    if depth >= ctx.limits.max_depth:
        result.findings.extend(
            ctx.admit(
                [
                    finding(
                        "container.limit",
                        Severity.HIGH,
                        f"Containers are nested more than {ctx.limits.max_depth} deep; this one was not opened.",
                        member.where,
                    )
                ]
            )
        )
        return
    notes: list[Finding] = []
    unrecognised: list[str] = []
    for child in iter_members(member, fmt, notes):
        if ctx.members >= ctx.limits.max_scanned_members:
            notes.append(
                finding(
                    "container.limit",
                    Severity.HIGH,
                    f"More than {ctx.limits.max_scanned_members} container members in this file; the rest were not "
                    "scanned.",
                    member.where,
                )
            )
            break
        ctx.members += 1
        storage = inside == "torch-zip" and bool(_TORCH_STORAGE.match(child.where.rsplit("!", 1)[-1]))
        # In a zip a format scanner already read, member names are that format's business (no extension check).
        inner = _scan_member(child, policy, ctx, depth + 1, check_name=inside is None, raw_data=storage)
        result.findings.extend(inner.findings)
        result.failed = result.failed or inner.failed
        if fmt in COMPRESSED_STREAMS:
            result.format = f"{fmt}/{inner.format}"
            result.supported = inner.supported
        elif inner.rejected_pickle:
            unrecognised.append(child.where.rsplit("!", 1)[-1])
    if unrecognised and fmt not in COMPRESSED_STREAMS:
        shown = ", ".join(repr(n) for n in unrecognised[:5])
        notes.append(
            finding(
                "container.unrecognised-member",
                Severity.LOW,
                "Archive members in no format Clearsight recognises; they start like a pickle, but the pickle "
                "reader rejects them (pickle.load would fail), so they were not scanned further.",
                member.where,
                f"{len(unrecognised)} member(s): {shown}{', ...' if len(unrecognised) > 5 else ''}",
            )
        )
    result.findings.extend(ctx.admit(notes))


def _file_member(path: Path, display: str, size: int | None) -> Member:
    def opener() -> BinaryIO:
        return open(path, "rb")

    return Member(where=display, size=size, open=opener)


def _budget_note(ctx: ScanContext, where: str) -> list[Finding]:
    """One finding that counts the findings dropped under ``Limits.max_findings`` (identical ones are merged)."""
    if not ctx.dropped:
        return []
    return [
        finding(
            "scan.findings-limit",
            Severity.MEDIUM,
            f"More than {ctx.limits.max_findings} distinct findings; the rest were counted, not kept.",
            where,
            f"{ctx.dropped} finding(s) dropped, {ctx.duplicates} identical finding(s) merged",
        )
    ]


def _file_scan(display: str, result: _Result, extra: list[Finding], sha: str | None, size: int | None) -> FileScan:
    findings = result.findings + extra
    return FileScan(
        path=display,
        format=result.format,
        sha256=sha,
        size=size,
        verdict=verdict_of(findings, supported=result.supported, failed=result.failed),
        findings=findings,
    )


def _unreadable(display: str, exc: OSError) -> FileScan:
    return FileScan(
        path=display,
        format=UNKNOWN,
        verdict="error",
        findings=[finding("file.unreadable", Severity.LOW, "The file could not be read.", display, str(exc))],
    )


def scan_file(path: Path, *, policy: Policy, limits: Limits | None = None, display: str | None = None) -> FileScan:
    """Scan one file on disk."""
    display = display or str(path)
    limits = limits or Limits()
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
        sha = sha256_file(path) if limits.hash_files else None
    except OSError as exc:
        return _unreadable(display, exc)
    with scan_context(limits) as ctx:
        result = _scan_member(_file_member(path, display, size), policy, ctx, 0)
        return _file_scan(display, result, ctx.take_findings() + _budget_note(ctx, display), sha, size)


def scan_member(member: Member, *, policy: Policy, limits: Limits | None = None) -> FileScan:
    """Scan anything that can be opened as a stream (no hash is computed)."""
    with scan_context(limits) as ctx:
        result = _scan_member(member, policy, ctx, 0)
        return _file_scan(
            member.where, result, ctx.take_findings() + _budget_note(ctx, member.where), None, member.size
        )


def scan_bytes(data: bytes, *, name: str, policy: Policy, limits: Limits | None = None) -> FileScan:
    """Scan an in-memory file called ``name`` (with its sha256)."""

    def opener() -> BinaryIO:
        return io.BytesIO(data)

    scanned = scan_member(Member(where=name, size=len(data), open=opener), policy=policy, limits=limits)
    return scanned.model_copy(update={"sha256": hashlib.sha256(data).hexdigest()})


# ----------------------------------------------------------------------------------------------- SavedModel


def is_saved_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "saved_model.pb").is_file()


def scan_saved_model_dir(
    path: Path, *, policy: Policy, limits: Limits | None = None, display: str | None = None
) -> FileScan:
    """Scan a SavedModel folder as one unit: its graph, its Keras metadata and any other scannable file in it."""
    display = display or str(path)
    limits = limits or Limits()
    graph = path / "saved_model.pb"
    try:
        sha = sha256_file(graph) if limits.hash_files else None
        graph_size = graph.stat().st_size
    except OSError as exc:
        return _unreadable(display, exc)
    total = 0
    result = _Result("savedmodel")
    with scan_context(limits) as ctx:
        for target in _walk(path, path.resolve(), set(), set()):
            rel = target.path.relative_to(path).as_posix() if target.path.is_relative_to(path) else target.display
            where = f"{display}/{rel}"
            if target.kind == "skipped":
                if target.note is not None:
                    result.findings.append(target.note)
                continue
            try:
                size = target.path.stat().st_size
            except OSError as exc:
                result.failed = True
                result.findings.append(finding("file.unreadable", Severity.LOW, "Unreadable.", where, str(exc)))
                continue
            total += size
            member = _file_member(target.path, where, size)
            try:
                if rel == "saved_model.pb":
                    result.findings.extend(scan_saved_model(member, policy))
                elif rel == "keras_metadata.pb":
                    result.findings.extend(scan_keras_metadata(member, policy))
                elif rel.startswith("variables/") or rel == "fingerprint.pb":
                    continue
                else:
                    inner = _scan_member(member, policy, ctx, 0, check_name=False)
                    result.findings.extend(inner.findings)
                    result.failed = result.failed or inner.failed
            except Exception as exc:
                result.failed = True
                result.findings.append(
                    finding("scan.error", Severity.LOW, "The scanner failed on this file.", where, repr(exc))
                )
        extra = ctx.take_findings() + _budget_note(ctx, display)
    return _file_scan(display, result, extra, sha, total or graph_size)


# --------------------------------------------------------------------------------------------------- walking


def _inside(target: Path, root: Path) -> bool:
    return target == root or target.is_relative_to(root)


def _walk(directory: Path, root: Path, visited: set[tuple[int, int]], seen: set[Path]) -> Iterator[_Target]:
    """Files under ``directory``, following symlinks only while they stay inside ``root`` (loops are skipped)."""
    try:
        info = directory.stat()
    except OSError as exc:
        yield _Target(directory, str(directory), "skipped", _dir_error(directory, exc))
        return
    key = (info.st_dev, info.st_ino)
    if key in visited:
        return
    visited.add(key)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield _Target(directory, str(directory), "skipped", _dir_error(directory, exc))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                real = Path(os.path.realpath(path))
                if not _inside(real, root):
                    yield _Target(
                        path,
                        str(path),
                        "skipped",
                        finding(
                            "file.symlink-outside",
                            Severity.LOW,
                            "A symbolic link pointing outside the scanned folder was not followed.",
                            str(path),
                            f"-> {real}",
                        ),
                    )
                    continue
                if real.is_dir():
                    if entry.name not in SKIPPED_DIRS:
                        yield from _walk(path, root, visited, seen)
                    continue
                if not real.is_file() or real in seen:
                    continue
                seen.add(real)
                yield _Target(path, str(path), "file")
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIPPED_DIRS:
                    yield from _walk(path, root, visited, seen)
            elif entry.is_file(follow_symlinks=False):
                real = Path(os.path.realpath(path))
                if real in seen:
                    continue
                seen.add(real)
                yield _Target(path, str(path), "file")
        except OSError as exc:
            yield _Target(path, str(path), "skipped", _dir_error(path, exc))


def _dir_error(path: Path, exc: OSError) -> Finding:
    return finding("file.unreadable", Severity.LOW, "The folder could not be read.", str(path), str(exc))


def _targets(paths: Sequence[Path]) -> list[_Target]:
    targets: list[_Target] = []
    seen: set[Path] = set()
    visited: set[tuple[int, int]] = set()
    for given in paths:
        path = Path(given)
        if is_saved_model_dir(path):
            targets.append(_Target(path, str(path), "savedmodel"))
        elif path.is_dir():
            targets.extend(_group_saved_models(list(_walk(path, path.resolve(), visited, seen)), path))
        elif path.exists() and not path.is_file():
            note = finding("file.not-regular", Severity.LOW, "Not a regular file (device, pipe or socket).", str(path))
            targets.append(_Target(path, str(path), "skipped", note))
        else:
            real = Path(os.path.realpath(path))
            if real not in seen:
                seen.add(real)
                targets.append(_Target(path, str(path), "file"))
    return targets


def _group_saved_models(targets: list[_Target], root: Path) -> list[_Target]:
    """Replace the files of every SavedModel folder under ``root`` by one ``savedmodel`` target for the folder."""

    def unit_of(path: Path) -> Path | None:
        for parent in path.parents:
            if not (parent == root or parent.is_relative_to(root)):
                return None
            if (parent / "saved_model.pb").is_file():
                return parent
        return None

    grouped: list[_Target] = []
    emitted: set[Path] = set()
    for target in targets:
        unit = unit_of(target.path)
        if unit is None:
            grouped.append(target)
        elif unit not in emitted:
            emitted.add(unit)
            grouped.append(_Target(unit, str(unit), "savedmodel"))
    return grouped


def scan_paths(
    paths: Sequence[Path],
    *,
    policy: Policy,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> ModelScanReport:
    """Scan files and folders (recursively) and report one verdict per file or SavedModel folder."""
    limits = limits or Limits()
    started = time.perf_counter()
    targets = _targets(paths)
    files: list[FileScan] = []
    for index, target in enumerate(targets, start=1):
        if target.kind == "savedmodel":
            files.append(scan_saved_model_dir(target.path, policy=policy, limits=limits, display=target.display))
        elif target.kind == "skipped":
            note = target.note
            files.append(
                FileScan(
                    path=target.display,
                    format=UNKNOWN,
                    verdict="error" if note is not None and note.rule == "file.unreadable" else "unsupported",
                    findings=[note] if note is not None else [],
                )
            )
        elif not target.path.exists() and not target.path.is_symlink():
            files.append(_unreadable(target.display, FileNotFoundError(f"no such file: {target.display}")))
        else:
            files.append(scan_file(target.path, policy=policy, limits=limits, display=target.display))
        if progress is not None:
            progress(index, len(targets))
    verdicts = Counter(f.verdict for f in files)
    summary = ScanSummary(
        files=len(files),
        verdicts=dict(sorted(verdicts.items())),
        findings=sum(len(f.findings) for f in files),
        bytes_scanned=sum(f.size or 0 for f in files),
        seconds=round(time.perf_counter() - started, 4),
    )
    return ModelScanReport(scanner="clearsight", version=__version__, policy=policy.name, files=files, summary=summary)

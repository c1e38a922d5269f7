"""Model files under each system's root, scanned without loading them, as ``scan.model`` Evidence.

This is what closes the artifact-scanning control on the next assessment: a clean scan shows the control in
place for that system, suspicious findings leave it partial, a malicious file leaves it missing — and the
findings travel with the evidence into the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from clearsight.core.artifact import VERDICT_ORDER, FileScan
from clearsight.core.base import SourceLocation
from clearsight.core.evidence import Evidence, Finding
from clearsight.core.severity import Severity
from clearsight.core.system import AISystem
from clearsight.evidence.folders import walk_files

COLLECTOR_ID = "artifacts.model-scan"
MODEL_EXTENSIONS = frozenset({".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz",
                              ".h5", ".hdf5", ".keras", ".onnx", ".safetensors", ".gguf", ".pb", ".model",
                              ".sav", ".dill", ".mar", ".tar", ".gz", ".zip"})
NOT_MODELS = frozenset({"unknown", "gzip", "bz2", "xz", "lzma", "zlib", "zip", "tar"})
MAX_FINDINGS = 20


def collect_model_scans(root: Path, systems: Sequence[AISystem]) -> list[Evidence]:
    from clearsight.controls.artifacts.policy import default_policy
    from clearsight.controls.artifacts.scan import scan_paths

    policy = default_policy()
    cache: dict[Path, list[FileScan]] = {}
    out: list[Evidence] = []
    for system in systems:
        folders = [(root / f).resolve() for f in ([system.root] if system.root else []) + system.paths]
        scans: list[FileScan] = []
        for folder in dict.fromkeys(folders):
            if folder not in cache:
                candidates = sorted(_candidates(folder))
                report = scan_paths(candidates, policy=policy) if candidates else None
                cache[folder] = (
                    [f for f in report.files if f.format not in NOT_MODELS or f.findings] if report else []
                )
            scans.extend(f for f in cache[folder] if f not in scans)
        if not scans:
            continue
        worst = max((f.verdict for f in scans), key=lambda v: VERDICT_ORDER[v])
        verdict_max = {"error": "suspicious", "unsupported": "clean"}.get(worst, worst)
        findings = [_with_file(x, f) for f in scans for x in f.findings if x.severity >= Severity.MEDIUM]
        out.append(Evidence(
            id=f"EV:{COLLECTOR_ID}:{system.id}",
            kind="scan.model",
            source="clearsight model scan (during assess)",
            system=system.id,
            facts={"scanner": "clearsight", "verdict_max": verdict_max, "files": len(scans),
                   "malicious": sum(1 for f in scans if f.verdict == "malicious")},
            findings=findings[:MAX_FINDINGS],
            summary=f"{len(scans)} model files scanned in the system's folders: worst verdict {worst}",
        ))
    return out


def _with_file(finding: Finding, scan: FileScan) -> Finding:
    if finding.location is not None:
        return finding
    return finding.model_copy(update={"location": SourceLocation(path=scan.path)})


def _candidates(folder: Path) -> Iterator[Path]:
    """Files that look like model files by name or by their first bytes; vendored trees are skipped."""
    from clearsight.controls.artifacts.formats import sniff

    for entry in walk_files(folder):
        if entry.suffix.lower() in MODEL_EXTENSIONS or _looks_like_model(entry, sniff):
            yield entry


def _looks_like_model(path: Path, sniff: Callable[..., str]) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return sniff(head, name=path.name) not in NOT_MODELS

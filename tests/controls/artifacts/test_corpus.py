"""The generated corpus, scanned once: every malicious file caught, every benign ML file clean.

One test per corpus file (ids are ``family:name``), so a miss names its evasion family. Files for which only
a suspicion is possible (a pickle cut before its global, an encrypted zip member, a zip bomb, an unresolvable
EXT code, a user's own class in a full-module torch file) must be ``suspicious`` with the reason given.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

from clearsight.controls.artifacts.policy import default_policy  # noqa: E402
from clearsight.controls.artifacts.scan import scan_paths  # noqa: E402
from clearsight.core.artifact import FileScan, ModelScanReport  # noqa: E402

PLAN = corpus.plan_corpus()
# Files a payload would create if anything in the corpus ever ran (builtins.open, WriteFile).
SIDE_EFFECTS = [Path("/tmp/clearsight-test.txt"), Path("/tmp/clearsight-test.json")]


def _stamp() -> list[tuple[bool, int]]:
    return [(p.exists(), p.stat().st_mtime_ns if p.exists() else 0) for p in SIDE_EFFECTS]


@pytest.fixture(scope="session")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-corpus")


@pytest.fixture(scope="session")
def side_effects_before() -> list[tuple[bool, int]]:
    return _stamp()


@pytest.fixture(scope="session")
def built(corpus_root: Path, side_effects_before: list[tuple[bool, int]]) -> dict[str, corpus.CorpusFile]:
    return {entry.name: entry for entry in corpus.build_corpus(corpus_root)}


@pytest.fixture(scope="session")
def report(built: dict[str, corpus.CorpusFile], corpus_root: Path) -> ModelScanReport:
    return scan_paths([corpus_root], policy=default_policy())


def _describe(results: list[FileScan]) -> str:
    lines = []
    for result in results:
        lines.append(f"{result.path}: {result.verdict} ({result.format})")
        lines.extend(f"    {f.severity} {f.rule}: {f.message} {f.detail or ''}" for f in result.findings)
    return "\n".join(lines) or "no result for this file"


def _finding_texts(results: list[FileScan]) -> list[str]:
    return [f"{f.rule} {f.message} {f.detail or ''}" for r in results for f in r.findings]


@pytest.mark.parametrize("planned", PLAN, ids=[e.test_id for e in PLAN])
def test_corpus_file_verdict(planned: corpus.CorpusFile, built: dict[str, corpus.CorpusFile],
                             report: ModelScanReport) -> None:
    entry = built[planned.name]
    results = corpus.results_for(entry, report.files)
    verdict = corpus.verdict_for(entry, report.files)
    detail = f"{entry.description}\n{_describe(results)}"
    assert verdict in entry.expected, f"expected {'/'.join(entry.expected)}, got {verdict}: {detail}"
    if verdict == "suspicious" and entry.reason is not None:
        texts = _finding_texts(results)
        assert any(re.search(entry.reason, t) for t in texts), f"no finding matches {entry.reason!r}: {detail}"


def test_corpus_is_large_enough() -> None:
    """The issue's proof needs >= 30 benign and >= 80 malicious files when the ML libraries are installed."""
    missing = set(corpus.missing_optional()) & {"torch", "numpy", "sklearn", "joblib"}
    if missing:
        pytest.skip(f"optional libraries missing, corpus is partial: {sorted(missing)}")
    labels = [e.label for e in PLAN]
    assert labels.count("benign") >= 30
    assert labels.count("malicious") >= 80


def test_every_family_of_the_issue_is_present() -> None:
    families = {e.family for e in PLAN}
    for family in ("protocol-0", "protocol-5", "memo", "global-opcode", "callable", "gadget", "ext-opcode",
                   "multi-pickle", "junk", "truncated", "renamed", "container", "zip-traversal", "keras",
                   "gguf-ssti", "savedmodel", "stdlib-pickle", "gguf"):
        assert family in families, family


def test_scanning_the_corpus_ran_nothing(report: ModelScanReport,
                                         side_effects_before: list[tuple[bool, int]]) -> None:
    assert report.summary.files >= len(PLAN) - 2
    assert _stamp() == side_effects_before


def test_results_mapping_reads_members_and_folders(tmp_path: Path) -> None:
    entry = corpus.CorpusFile("m/a.zip", "malicious", "container", "x", path=tmp_path / "m" / "a.zip")
    folder = corpus.CorpusFile("m/sm", "benign", "savedmodel", "x", path=tmp_path / "m" / "sm")
    files: list[dict[str, Any]] = [
        {"path": str(tmp_path / "m" / "a.zip!inner.pkl"), "verdict": "malicious"},
        {"path": str(tmp_path / "m" / "a.zip"), "verdict": "suspicious"},
        {"path": str(tmp_path / "m" / "sm" / "saved_model.pb"), "verdict": "clean"},
        {"path": str(tmp_path / "m" / "a.zipx"), "verdict": "malicious"},
    ]
    assert corpus.verdict_for(entry, files) == "malicious"
    assert corpus.verdict_for(folder, files) == "clean"
    assert corpus.verdict_for(corpus.CorpusFile("n", "benign", "x", "x", path=tmp_path / "n"), files) is None

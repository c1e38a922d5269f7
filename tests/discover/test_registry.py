"""The registry asks a detector about a file only when the file's name passes the detector's declared filter;
the filter must never turn away a file the detector wants."""

from __future__ import annotations

import os
from pathlib import Path

from corpus_repos import build_repos
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.discover.interface import FunctionDetector, NameFilter, Observation, SourceFile, last_extension
from clearsight.discover.registry import DETECTORS, Dispatch, run_detectors

FOLDERS = ["", "a/", "requirements/", ".github/workflows/", "x/.github/workflows/", ".continue/mcpServers/",
           ".cursor/", ".circleci/", ".continue/", "charts/app/", "k8s/"]
STEMS = ["Dockerfile", "dockerfile", "Containerfile", ".env", "x", "requirements", "requirements-dev", "constraints",
         "setup", "pyproject", "package", "package-lock", "npm-shrinkwrap", "poetry", "uv", "Pipfile", "environment",
         "conda-lock", "conda", "mcp", ".mcp", "claude_desktop_config", "Jenkinsfile", ".gitlab-ci", "values", "config",
         "schema", "tsconfig", "app", ".pre-commit-config", "azure-pipelines", "manifest", "makefile", "pnpm-lock",
         "yarn", "bun", ".venv", "settings", "mcp_config", "nginx", "kong", "db", "x.min", "types.d"]
EXTENSIONS = [".py", ".PY", ".pyw", ".pyi", ".txt", ".in", ".toml", ".cfg", ".json", ".lock", ".yaml", ".yml", ".env",
              ".local", ".dockerfile", ".prod", ".sql", ".csv", ".tsv", ".js", ".ts", ".mts", ".ipynb", ".conf",
              ".lockb", ".schema.json", "", ".", ".Yml", ".JSON", ".gz"]
NAMES = st.tuples(st.sampled_from(FOLDERS), st.sampled_from(STEMS), st.sampled_from(EXTENSIONS)).map("".join)


def _filtered() -> list[FunctionDetector]:
    found = [d for d in DETECTORS if isinstance(d, FunctionDetector) and d.names is not None]
    assert len(found) >= 25  # all but the model-file sniffer and the MCP detector (any file in .continue/mcpServers)
    return found


def _passes(names: NameFilter, rel: str) -> bool:
    base = rel.rsplit("/", 1)[-1].lower()
    return last_extension(rel) in names.extensions or base.startswith(names.prefixes)


@settings(max_examples=3000, deadline=None)
@given(NAMES)
def test_no_filter_turns_away_a_file_its_detector_wants(rel: str) -> None:
    for detector in _filtered():
        assert detector.names is not None
        if detector.wants(rel):
            assert _passes(detector.names, rel), (detector.id, rel)


def test_no_filter_turns_away_a_file_of_the_corpus_or_the_standard_library(tmp_path: Path) -> None:
    build_repos(tmp_path)
    rels = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    stdlib = Path(os.__file__).parent
    rels += [p.relative_to(stdlib).as_posix() for p in stdlib.rglob("*") if p.is_file()]
    assert len(rels) > 1000
    wanted = 0
    for rel in rels:
        for detector in _filtered():
            if detector.wants(rel):
                wanted += 1
                assert detector.names is not None and _passes(detector.names, rel), (detector.id, rel)
    assert wanted > 1000


@settings(max_examples=500, deadline=None)
@given(NAMES)
def test_the_candidates_are_the_detectors_whose_filter_passes_in_registry_order(rel: str) -> None:
    candidates = Dispatch(DETECTORS).candidates(rel)
    expected = [d for d in DETECTORS if getattr(d, "names", None) is None or _passes(d.names, rel)]  # type: ignore[attr-defined]
    assert list(candidates) == expected


def test_last_extension_is_the_lower_case_name_from_its_last_dot() -> None:
    assert [last_extension(r) for r in ("a/b.PY", ".env", ".env.local", "Dockerfile", "a.b/c", "x.", "d/.gz")] == [
        ".py", ".env", ".local", "", "", ".", ".gz"]


def test_a_detector_without_a_filter_is_asked_about_every_file() -> None:
    asked: list[str] = []

    def wants(rel: str) -> bool:
        asked.append(rel)
        return False

    def detect(_file: SourceFile) -> list[Observation]:
        return []

    picky = FunctionDetector("picky", "", lambda rel: True, detect, NameFilter.of(".py"))
    everything = FunctionDetector("all", "", wants, detect)
    files = [SourceFile(path=Path(n), rel=n, root=Path("."), size=0, text="") for n in ("a.py", "b.txt", "Makefile")]
    run_detectors(files, detectors=[picky, everything])
    assert asked == ["a.py", "b.txt", "Makefile"]
    assert Dispatch([picky, everything]).candidates("b.txt") == (everything,)

"""Run a set of detectors on one file written in code, checking every observation names its detector and line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clearsight.discover.interface import Detector, Observation, SourceFile


def run_on(tmp_path: Path, rel: str, content: str, detectors: Sequence[Detector]) -> list[Observation]:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    file = SourceFile(path=path, rel=rel, root=tmp_path, size=len(content), text=content)
    found: list[Observation] = []
    for detector in detectors:
        if detector.wants(rel):
            observations = detector.detect(file)
            assert all(o.detector == detector.id and o.line is not None for o in observations)
            found += observations
    return found

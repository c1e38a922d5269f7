"""Every detector, in one tuple, and the loop that runs them over walked files.

``run_detectors`` never lets one detector's exception stop the run: the failure is recorded as a
:class:`DetectorError` (detector ID, file, exception type and a short message) and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clearsight.discover.detectors import JAVASCRIPT, MODEL_FILES, NOTEBOOKS, PYTHON_CODE
from clearsight.discover.detectors.config import CONFIG_DETECTORS
from clearsight.discover.detectors.controls import CONTROL_DETECTORS
from clearsight.discover.detectors.data import DATA_DETECTORS
from clearsight.discover.detectors.manifests import MANIFEST_DETECTORS
from clearsight.discover.interface import Detector, Observation, SourceFile, last_extension
from clearsight.discover.relpaths import base_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorError:
    """A detector that raised on one file: reported with the skipped items, never fatal."""

    rel: str
    detector: str
    error: str
    reason: str = "detector-error"


DETECTORS: tuple[Detector, ...] = (
    PYTHON_CODE, NOTEBOOKS, JAVASCRIPT, MODEL_FILES,
    *MANIFEST_DETECTORS,
    *CONFIG_DETECTORS,
    *DATA_DETECTORS,
    *CONTROL_DETECTORS,
)


class Dispatch:
    """The detectors worth asking about a file, by its name: those whose :class:`NameFilter` it passes and
    those without one, in registry order. Worked out once per extension (and per name for the few names a
    filter's prefixes match), so a ``.py`` file asks 8 detectors instead of 33."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._detectors = tuple(detectors)
        self._filters = [getattr(d, "names", None) for d in self._detectors]
        self._prefixes = tuple(p for f in self._filters if f is not None for p in f.prefixes)
        self._by_extension: dict[str, tuple[Detector, ...]] = {}

    def candidates(self, rel: str) -> tuple[Detector, ...]:
        extension = last_extension(rel)
        if self._prefixes:
            name = base_name(rel).lower()
            if name.startswith(self._prefixes):
                return self._pick(extension, name)
        found = self._by_extension.get(extension)
        if found is None:
            found = self._by_extension[extension] = self._pick(extension, "")
        return found

    def _pick(self, extension: str, name: str) -> tuple[Detector, ...]:
        return tuple(d for d, f in zip(self._detectors, self._filters, strict=True)
                     if f is None or extension in f.extensions or (name and name.startswith(f.prefixes)))


_DISPATCH = Dispatch(DETECTORS)


def wanted_as_text(rel: str) -> bool:
    """Whether a detector that reads text wants this file (every file is offered to the model-file sniffer)."""
    return any(detector.wants(rel) for detector in _DISPATCH.candidates(rel) if detector is not MODEL_FILES)


def run_detectors(
    files: Iterable[SourceFile],
    *,
    detectors: Sequence[Detector] = DETECTORS,
    errors: list[DetectorError] | None = None,
) -> list[Observation]:
    """Observations from every detector that wants each file; failures go to ``errors`` (never raised)."""
    sink: list[DetectorError] = errors if errors is not None else []
    found: list[Observation] = []
    candidates = (_DISPATCH if detectors is DETECTORS else Dispatch(detectors)).candidates
    for file in files:
        for detector in candidates(file.rel):
            try:
                if detector.wants(file.rel):
                    found.extend(detector.detect(file))
            except Exception as exc:  # a detector bug must not stop the scan
                message = str(exc).splitlines()[0][:200] if str(exc) else ""
                sink.append(DetectorError(rel=file.rel, detector=detector.id,
                                          error=f"{type(exc).__name__}: {message}".rstrip(": ")))
                log.debug("detector %s failed on %s", detector.id, file.rel, exc_info=True)
    return found

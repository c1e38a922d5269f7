"""Model files, recognised by content (magic bytes and structure), never by name alone.

Runs on binary files (``text is None``: binary, huge or undecodable as the walker saw them) and on files with a
model extension. The format comes from :func:`clearsight.controls.artifacts.formats.sniff` on the first bytes, so a
pickle named ``weights.bin`` is a model file and a text file named ``notes.bin`` is not. A plain zip or compressed
stream counts only under a model extension (``.pt``, ``.keras``, ``.joblib``…), with medium confidence.
"""

from __future__ import annotations

from clearsight.controls.artifacts.formats import MODEL_EXTENSIONS, sniff
from clearsight.discover.interface import Confidence, FunctionDetector, Observation, SourceFile
from clearsight.discover.relpaths import suffix

DETECTOR_ID = "model-files"

MODEL_FORMATS: frozenset[str] = frozenset({
    "pickle", "joblib", "joblib-zf", "torch-zip", "torch-legacy", "numpy", "npz", "keras", "hdf5", "onnx",
    "safetensors", "gguf", "savedmodel", "tf-graphdef",
})
# Containers that hold a model only when the name says so (torch checkpoints are zips, joblib compresses).
_CONTAINERS = frozenset({"zip", "gzip", "bz2", "xz", "lzma", "lz4", "zlib"})
_UNSAFE = frozenset({"pickle", "joblib", "joblib-zf", "torch-legacy"})


def model_file_observation(file: SourceFile) -> Observation | None:
    extension = suffix(file.rel).lower()
    if file.text is not None and extension not in MODEL_EXTENSIONS:
        return None
    fmt = sniff(file.head, name=file.rel)
    confidence: Confidence = "high"
    if fmt in MODEL_FORMATS:
        evidence = f"{fmt} content"
        expected = MODEL_EXTENSIONS.get(extension)
        if extension and (extension not in MODEL_EXTENSIONS or (expected is not None and fmt not in expected)):
            evidence += f" named {extension}"
    elif fmt in _CONTAINERS and extension in MODEL_EXTENSIONS:
        evidence, confidence = f"{fmt} container named {extension}", "medium"
    else:
        return None
    if fmt in _UNSAFE:
        evidence += " (unpickling runs code)"
    return Observation(kind="model_file", name=file.rel, rel=file.rel, line=None, detector=DETECTOR_ID,
                       evidence=evidence, confidence=confidence)


def _wants(rel: str) -> bool:
    return True  # binary files are recognised by content whatever their name; detect() returns fast for text


def _detect(file: SourceFile) -> list[Observation]:
    found = model_file_observation(file)
    return [found] if found is not None else []


MODEL_FILES = FunctionDetector(
    id=DETECTOR_ID,
    description="Model files by content sniffing (pickle, torch, safetensors, ONNX, GGUF, Keras, HDF5, …)",
    wants_fn=_wants,
    detect_fn=_detect,
)

"""Model files by content: a pickle named .bin is a model file; text named .bin is not."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from clearsight.discover.detectors.model_files import MODEL_FILES
from clearsight.discover.interface import Observation
from clearsight.discover.walk import walk


def _scan(root: Path) -> list[Observation]:
    return [o for f in walk([root]) if MODEL_FILES.wants(f.rel) for o in MODEL_FILES.detect(f)]


def test_pickle_named_bin_is_a_model_file(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "weights.bin").write_bytes(pickle.dumps({"coef": [0.1, 0.2]}, protocol=4))
    [found] = _scan(tmp_path)
    assert (found.kind, found.name, found.rel, found.line) == ("model_file", "models/weights.bin",
                                                               "models/weights.bin", None)
    assert found.evidence.startswith("pickle content") and found.detector == "model-files"


def test_numpy_and_safetensors_and_text_files(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.zeros(4))
    header = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    (tmp_path / "m.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\x00" * 4)
    (tmp_path / "notes.bin").write_text("just some text\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("import pickle\n", encoding="utf-8")
    found = {o.name: o.evidence for o in _scan(tmp_path)}
    assert found == {"emb.npy": "numpy content", "m.safetensors": "safetensors content"}

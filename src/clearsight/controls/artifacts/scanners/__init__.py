"""One scanner per model format, registered in :data:`SCANNERS` (adding a format touches only this table).

Containers (zip, tar, gzip, bz2, xz, lzma, zlib) are not here: ``scan.py`` opens them with ``containers.py`` and
sends each member back through format sniffing and this table.
"""

from __future__ import annotations

from clearsight.controls.artifacts.interface import FormatScanner
from clearsight.controls.artifacts.scanners import gguf, joblib, keras, numpy, onnx, safetensors, savedmodel, torch

SCANNERS: dict[str, FormatScanner] = {
    "pickle": joblib.scan_pickle_file,
    "joblib": joblib.scan_joblib_file,
    "torch-zip": torch.scan_zip,
    "torch-legacy": torch.scan_legacy,
    "numpy": numpy.scan_npy,
    "npz": numpy.scan_npz,
    "keras": keras.scan_keras,
    "hdf5": keras.scan_hdf5,
    "savedmodel": savedmodel.scan_saved_model,
    "tf-graphdef": savedmodel.scan_graphdef,
    "onnx": onnx.scan,
    "safetensors": safetensors.scan,
    "gguf": gguf.scan,
}
"""Format name (as returned by ``formats.sniff``/``refine_zip``) -> scanner."""

__all__ = ["SCANNERS"]

"""One scanner per model format, registered in :data:`SCANNERS` (adding a format touches only this table).

Containers (zip, tar, gzip, bz2, xz, lzma, zlib) are not here: ``scan.py`` opens them with ``containers.py`` and
sends each member back through format sniffing and this table.

The table is built on first use: importing one module of this package (discovery's model-file sniffer reads
pickle opcodes and protobuf fields with two of them) does not import every scanner and the report models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clearsight.controls.artifacts.interface import FormatScanner

    SCANNERS: dict[str, FormatScanner]
    """Format name (as returned by ``formats.sniff``/``refine_zip``) -> scanner."""


def _table() -> dict[str, FormatScanner]:
    from clearsight.controls.artifacts.scanners import (
        gguf,
        joblib,
        keras,
        numpy,
        onnx,
        safetensors,
        savedmodel,
        torch,
    )

    return {
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


def __getattr__(name: str) -> object:
    if name == "SCANNERS":
        table = globals()["SCANNERS"] = _table()
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SCANNERS"]

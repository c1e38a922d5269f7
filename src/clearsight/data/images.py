"""Image folders (``DATA/<class>/<image>``) as a labelled table of pixel columns, for the backdoor checks.

Pillow decodes; nothing else runs. Every image must have the same size and mode once read; larger images are
reduced so the longest side is at most ``MAX_SIDE`` (a 4x4 trigger on a 224-pixel image becomes a smudge:
check learned representations as an ``.npz`` for those). Pillow's decompression-bomb guard is an error, not a
warning, and hidden files are ignored; anything else that is not an image is reported with its path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from clearsight.core.errors import InputError
from clearsight.data.table import Columns

MAX_SIDE = 32
MAX_PIXELS = 40_000_000
PATH_COLUMN = "path"


def read_image_folder(folder: Path, label: str, max_rows: int) -> Columns:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise InputError("reading image folders needs Pillow", hint="pip install 'clearsight[data]'") from exc
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise InputError("an image folder needs one sub-folder per class (at least two)", path=str(folder))
    paths: list[str] = []
    labels: list[str] = []
    pixels: list[np.ndarray] = []
    shape: tuple[int, ...] | None = None
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    for cls in classes:
        for file in sorted(cls.rglob("*")):
            if not file.is_file() or any(part.startswith(".") for part in file.relative_to(folder).parts):
                continue
            if len(paths) >= max_rows:
                raise InputError(f"more than {max_rows:,} images", path=str(folder), hint="raise --max-rows")
            shown = str(file.relative_to(folder))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(file) as img:
                        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
                        array = np.asarray(img.convert("L" if img.mode in ("1", "L", "I;16", "P") else "RGB"))
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning, ValueError) as exc:
                raise InputError(f"not a readable image ({type(exc).__name__})", path=str(file)) from exc
            if shape is None:
                shape = array.shape
            elif array.shape != shape:
                raise InputError(f"image is {array.shape} after reading, the first one was {shape}", path=str(file),
                                 hint="all images of a data set must share one size and colour mode")
            paths.append(shown)
            labels.append(cls.name)
            pixels.append(array.reshape(-1))
    if not pixels:
        raise InputError("no images under the class folders", path=str(folder))
    matrix = np.stack(pixels).astype(float)
    columns: Columns = {PATH_COLUMN: np.array(paths, dtype=object)}
    columns.update({f"px{i}": matrix[:, i] for i in range(matrix.shape[1])})
    columns[label] = np.array(labels, dtype=object)
    return columns

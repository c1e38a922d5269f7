"""Writing results: all rendering happens before the first byte is written, and files appear whole."""

from __future__ import annotations

import sys
from pathlib import Path

from clearsight.core.errors import InputError
from clearsight.frameworks.atlas_store import write_atomically


def write_outputs(outputs: dict[Path | None, str]) -> None:
    """Write every rendered text; ``None`` means standard output."""
    for path in outputs:
        if path is not None and path.parent and not path.parent.exists():
            raise InputError("output folder does not exist", path=str(path.parent))
    for path, text in outputs.items():
        if path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                write_atomically(path, text)
            except OSError as exc:
                raise InputError(f"cannot write output ({exc.strerror or exc})", path=str(path)) from exc

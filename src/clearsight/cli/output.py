"""Writing results: files appear whole or not at all.

Several reports are written in two passes — every file to a temporary sibling first, then all renamed into
place — so an error on the third file does not leave the first two behind. A report rendered in pieces (the
large JSON document) is serialised while it is written, into its temporary sibling; to standard output it
streams, so a failure there can leave part of it printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from clearsight.atomic_files import Rendered, destination, stage, write_into, write_rendered
from clearsight.core.errors import InputError


def prepare_folder(folder: Path) -> None:
    """Create an output folder, with a one-line error when it cannot be one."""
    if folder.exists() and not folder.is_dir():
        raise InputError("output folder is a file", path=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder ({exc.strerror or exc})", path=str(folder)) from exc


def write_outputs(outputs: Mapping[Path | None, Rendered]) -> None:
    """Write every rendered output; ``None`` means standard output."""
    staged: list[tuple[str, Path]] = []
    direct: list[tuple[Path, Rendered]] = []  # devices and FIFOs (see destination), written into after the rest
    try:
        for path, text in outputs.items():
            if path is None:
                continue
            if path.is_dir():
                raise InputError("output path is a folder", path=str(path))
            target, atomic = destination(path)
            if not target.parent.is_dir():
                raise InputError("output folder does not exist", path=str(path.parent))
            if atomic:
                staged.append((stage(target, text), target))
            else:
                direct.append((target, text))
        for tmp, target in staged:
            os.replace(tmp, target)
        for target, text in direct:
            write_into(target, text)
    except OSError as exc:
        raise InputError(f"cannot write output ({exc.strerror or exc})",
                         path=str(getattr(exc, "filename", None) or "")) from exc
    finally:
        for tmp, _path in staged:
            Path(tmp).unlink(missing_ok=True)
    for path, text in outputs.items():
        if path is None:
            if isinstance(text, str):
                sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))  # lone surrogates
                sys.stdout.flush()
            else:
                sys.stdout.flush()
                write_rendered(sys.stdout.buffer, text)
                sys.stdout.buffer.flush()

"""Which systems use the data of folders that hold no AI themselves.

A schema with customer columns often sits in a ``data/`` or ``db/`` folder next to the training code that reads
it, and that folder is no AI system of its own. Its personal data and data stores belong to every system whose
files write a path into it (``data/transactions.csv`` in a training config, ``../db/schema.sql`` in a script):
that is how "this model processes personal customer data" comes out of a scan rather than out of an interview.

A path counts when, read from the scanned root or from the folder of the file that holds it, it lands inside
the data folder. Folder names are matched as whole path parts, so ``metadata/`` does not lead into ``data/``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from clearsight.core.base import SourceLocation
from clearsight.core.discovery import DataUse
from clearsight.discover.relpaths import base_name, suffix
from clearsight.discover.text_gates import any_of
from clearsight.discover.walk import TextsOnDisk

# Files whose paths do something: code, notebooks, configuration, scripts (not documentation or ignore lists).
READER_SUFFIXES = frozenset({
    ".py", ".ipynb", ".r", ".scala", ".java", ".kt", ".go", ".rs", ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx",
    ".sql", ".sh", ".bash", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env",
    ".tf", ".tfvars", ".hcl", ".mk",
})
READER_NAMES = frozenset({"Dockerfile", "Makefile", "Justfile", "Procfile", "docker-compose.yml", ".env"})
_PATH_RUN = re.compile(r"[\w.\-/]*")
_NAME_CHAR = re.compile(r"[\w\-]")
MAX_MATCHES_PER_FILE = 1000  # a file naming a data folder more often than this is read only that far
MAX_PATH_CHARS = 300  # looked at on each side of a folder name; longer paths are cut (hostile files stay linear)


def find_reads(
    texts: Mapping[str, str], unit_of: Mapping[str, str], readers: Iterable[str], data_folders: Iterable[str],
) -> dict[str, list[DataUse]]:
    """Per reading unit: the data folders its files lead into, each with the first reference found.

    ``texts`` maps file paths to their text, ``unit_of`` maps file paths to their unit folder; only files of
    ``readers`` are searched, and a unit never reads itself.
    """
    folders = sorted(set(data_folders))
    wanted = set(readers)
    if not folders or not wanted:
        return {}
    by_name: dict[str, list[str]] = {}
    for folder in folders:
        by_name.setdefault(PurePosixPath(folder).name, []).append(folder)
    names = sorted(by_name, key=len, reverse=True)
    pattern = re.compile(r"(?:" + "|".join(re.escape(n) for n in names) + r")/")
    # Files on disk are asked as bytes, all names in one pass, and only those that name one are decoded: the
    # search was most of a big tree's grouping (a UTF-8 text holds a name exactly where its bytes do)
    on_disk = texts if isinstance(texts, TextsOnDisk) else None
    names_one = any_of([(name + "/").encode() for name in names])
    found: dict[str, dict[str, DataUse]] = {}
    for rel in sorted(texts):
        unit = unit_of.get(rel)
        if unit not in wanted or not is_reader(rel):
            continue
        if on_disk is not None:
            data = on_disk.raw(rel)
            if not names_one(data):
                continue
            text = on_disk.text_of(data)
        else:
            text = texts[rel]
            if not any(name + "/" in text for name in names):
                continue
        for seen, match in enumerate(pattern.finditer(text)):
            if seen == MAX_MATCHES_PER_FILE:
                break
            start = match.start()
            if start and _NAME_CHAR.match(text, start - 1):
                continue  # part of a longer name: "metadata/" is not "data/"
            candidates = [f for f in by_name[match.group(0)[:-1]] if f != unit and f not in found.get(unit, {})]
            if not candidates:
                continue  # the first reference to each folder is enough to show the link
            reference = _path_around(text, start, match.end())
            for folder in _lands_in(reference, rel, candidates):
                line = text.count("\n", 0, start) + 1
                found.setdefault(unit, {})[folder] = DataUse(
                    folder=folder, reference=reference, location=SourceLocation(path=rel, line=line))
    return {unit: sorted(uses.values(), key=lambda u: u.folder) for unit, uses in found.items()}


def is_reader(rel: str) -> bool:
    """A file whose paths do something (``rel``: a walker's relative path, see :mod:`~clearsight.discover.relpaths`)."""
    name = base_name(rel)
    return suffix(name).lower() in READER_SUFFIXES or name in READER_NAMES or name.startswith((".env", "Dockerfile"))


def _path_around(text: str, start: int, end: int) -> str:
    """The whole path token around a match: path characters to the left and to the right."""
    before = _PATH_RUN.match(text[max(0, start - MAX_PATH_CHARS):start][::-1])
    after = _PATH_RUN.match(text, end, min(len(text), end + MAX_PATH_CHARS))
    left = start - (before.end() if before else 0)
    right = after.end() if after else end
    return text[left:right].rstrip(".")  # a sentence's full stop is not part of the path


def _lands_in(reference: str, rel: str, candidates: list[str]) -> list[str]:
    """The candidate folders a relative reference leads into, read from the root or from the file's folder.

    Absolute paths are left alone: ``/data`` inside a container says nothing about the repository's folders.
    """
    if reference.startswith("/"):
        return []
    readings = {posixpath.normpath(reference), posixpath.normpath(posixpath.join(posixpath.dirname(rel), reference))}
    return [folder for folder in candidates
            if any(r == folder or r.startswith(folder + "/") for r in readings)]

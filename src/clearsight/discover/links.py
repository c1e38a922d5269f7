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

from clearsight.core.discovery import DataUse
from clearsight.core.system import SourceLocation

# Files whose paths do something: code, notebooks, configuration, scripts (not documentation or ignore lists).
READER_SUFFIXES = frozenset({
    ".py", ".ipynb", ".r", ".scala", ".java", ".kt", ".go", ".rs", ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx",
    ".sql", ".sh", ".bash", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env",
    ".tf", ".tfvars", ".hcl", ".mk",
})
READER_NAMES = frozenset({"Dockerfile", "Makefile", "Justfile", "Procfile", "docker-compose.yml", ".env"})
_PATH_CHAR = re.compile(r"[\w.\-/]")
_NAME_CHAR = re.compile(r"[\w\-]")
MAX_READS_PER_FOLDER = 1  # the first reference (by file and line) is enough to show the link


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
    found: dict[str, dict[str, DataUse]] = {}
    for rel in sorted(texts):
        unit = unit_of.get(rel)
        if unit not in wanted or not is_reader(rel):
            continue
        text = texts[rel]
        if not any(name + "/" in text for name in names):
            continue
        for match in pattern.finditer(text):
            start = match.start()
            if start and _NAME_CHAR.match(text, start - 1):
                continue  # part of a longer name: "metadata/" is not "data/"
            reference = _path_around(text, start, match.end())
            for folder in _lands_in(reference, rel, by_name[match.group(0)[:-1]]):
                if folder == unit or folder in found.get(unit, {}):
                    continue
                line = text.count("\n", 0, start) + 1
                found.setdefault(unit, {})[folder] = DataUse(
                    folder=folder, reference=reference, location=SourceLocation(path=rel, line=line))
    return {unit: sorted(uses.values(), key=lambda u: u.folder) for unit, uses in found.items()}


def is_reader(rel: str) -> bool:
    path = PurePosixPath(rel)
    return (path.suffix.lower() in READER_SUFFIXES or path.name in READER_NAMES
            or path.name.startswith((".env", "Dockerfile")))


def _path_around(text: str, start: int, end: int) -> str:
    """The whole path token around a match: path characters to the left and to the right."""
    left = start
    while left > 0 and _PATH_CHAR.match(text, left - 1):
        left -= 1
    right = end
    while right < len(text) and _PATH_CHAR.match(text, right):
        right += 1
    return text[left:right].rstrip(".")[:300]  # a sentence's full stop is not part of the path


def _lands_in(reference: str, rel: str, candidates: list[str]) -> list[str]:
    """The candidate folders a relative reference leads into, read from the root or from the file's folder.

    Absolute paths are left alone: ``/data`` inside a container says nothing about the repository's folders.
    """
    if reference.startswith("/"):
        return []
    readings = {posixpath.normpath(reference), posixpath.normpath(posixpath.join(posixpath.dirname(rel), reference))}
    return [folder for folder in candidates
            if any(r == folder or r.startswith(folder + "/") for r in readings)]

"""``clearsight atlas update``: read a newer official ATLAS.yaml, show what changed, install it.

The source is a local path or an http(s) URL (MITRE publishes ``dist/ATLAS.yaml`` in mitre-atlas/atlas-data).
Downloads are bounded in size and time; the file is validated and converted before anything is written.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from clearsight.core.errors import CatalogueError, InputError
from clearsight.frameworks.atlas import AtlasCatalogue, parse_official_atlas
from clearsight.yaml_models import parse_yaml

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 30


@dataclass(frozen=True)
class Renamed:
    id: str
    old: str
    new: str


@dataclass
class AtlasDiff:
    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[Renamed] = field(default_factory=list)
    links_added: int = 0
    links_removed: int = 0

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.links_added or self.links_removed)


def read_source(source: str) -> tuple[bytes, str]:
    """Bytes of the file at a path or URL, and a printable name for it."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"User-Agent": "clearsight-atlas-update"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                data = response.read(MAX_BYTES + 1)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise InputError(f"cannot download ATLAS file: {getattr(exc, 'reason', exc)}", path=source) from exc
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError("no such file", path=source)
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"file is larger than {MAX_BYTES} bytes; not an ATLAS distribution file", path=source)
        data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise InputError(f"more than {MAX_BYTES} bytes; not an ATLAS distribution file", path=source)
    return data, source


def convert(data: bytes, source: str) -> tuple[AtlasCatalogue, list[str]]:
    try:
        text = data.decode("utf-8")
        parsed = parse_yaml(text)
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{source}: not UTF-8 text") from exc
    except Exception as exc:  # yaml raises several unrelated types; all mean "not YAML"
        raise CatalogueError(f"{source}: not valid YAML ({type(exc).__name__})") from exc
    try:
        return parse_official_atlas(parsed, source=source)
    except CatalogueError as exc:
        raise CatalogueError(f"{source}: {exc}") from exc


def diff_atlas(old: AtlasCatalogue, new: AtlasCatalogue) -> AtlasDiff:
    def names(cat: AtlasCatalogue) -> dict[str, str]:
        out = {t.id: t.name for t in cat.tactics}
        out.update({t.id: t.name for t in cat.techniques})
        out.update({m.id: m.name for m in cat.mitigations})
        out.update({c.id: c.name for c in cat.case_studies})
        return out

    def links(cat: AtlasCatalogue) -> set[tuple[str, str]]:
        return {(m.id, t) for m in cat.mitigations for t in m.techniques}

    a, b = names(old), names(new)
    diff = AtlasDiff(old_version=old.meta.version, new_version=new.meta.version)
    diff.added = sorted(set(b) - set(a))
    diff.removed = sorted(set(a) - set(b))
    diff.renamed = [Renamed(i, a[i], b[i]) for i in sorted(set(a) & set(b)) if a[i] != b[i]]
    la, lb = links(old), links(new)
    diff.links_added = len(lb - la)
    diff.links_removed = len(la - lb)
    return diff


def dangling_references(catalogue: AtlasCatalogue, referenced: dict[str, set[str]]) -> dict[str, list[str]]:
    """IDs that our own data (controls, threat rules) uses but the new edition lacks, per owner."""
    known = catalogue.ids()
    return {owner: sorted(ids - known) for owner, ids in referenced.items() if ids - known}

"""Regenerate the built-in ATLAS catalogue from an official ATLAS.yaml (facts only: IDs, names, links).

    python scripts/build_atlas_catalogue.py PATH/TO/ATLAS.yaml

Uses the same conversion as ``clearsight atlas update``, so shipped data and user updates share one shape.
"""

from __future__ import annotations

import sys
from pathlib import Path

from clearsight.atomic_files import write_atomically
from clearsight.frameworks.atlas import parse_official_atlas
from clearsight.frameworks.atlas_store import catalogue_json
from clearsight.yaml_models import parse_yaml

SOURCE = "https://github.com/mitre-atlas/atlas-data (dist/ATLAS.yaml)"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    data = parse_yaml(Path(argv[1]).read_text(encoding="utf-8"))
    catalogue, repairs = parse_official_atlas(data, source=SOURCE)
    out = Path(__file__).resolve().parents[1] / "src/clearsight/frameworks/data/atlas.json"
    write_atomically(out, catalogue_json(catalogue) + "\n")
    print(f"wrote {out} (ATLAS {catalogue.meta.version}, {len(repairs)} repairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""Evidence recorded by Clearsight's own commands (``model verify --record``), read back by ``assess``.

Commands that run in CI write one small JSON file per observation into ``.clearsight/evidence/`` next to
``clearsight.yaml``; committing or caching that folder lets the next assessment close the control.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from clearsight.core.errors import InputError
from clearsight.core.evidence import Evidence, FactValue
from clearsight.core.system import AISystem

EVIDENCE_FOLDER = Path(".clearsight") / "evidence"
MAX_RECORD_BYTES = 1024 * 1024


def record_evidence(
    folder: Path, *, kind: str, system: str, source: str, facts: dict[str, FactValue], summary: str = "",
) -> Path:
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    digest = hashlib.sha256(f"{kind}|{system}|{stamp}|{facts}".encode()).hexdigest()[:12]
    evidence = Evidence(id=f"EV:{kind}:{system}:{digest}", kind=kind, source=f"{source} at {stamp}", system=system,
                        facts=facts, summary=summary)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}-{system}.json"  # the latest observation per kind and system counts
        path.write_text(evidence.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot record evidence ({exc.strerror or exc})", path=str(folder)) from exc
    return path


def collect_recorded(root: Path, systems: Sequence[AISystem]) -> list[Evidence]:
    """Evidence files under ``root/.clearsight/evidence``; unreadable ones are errors, never silently skipped."""
    folder = root / EVIDENCE_FOLDER
    if not folder.is_dir():
        return []
    known = {s.id for s in systems}
    out: list[Evidence] = []
    for path in sorted(folder.glob("*.json")):
        try:
            if path.stat().st_size > MAX_RECORD_BYTES:
                raise InputError("evidence record is too large", path=str(path))
            evidence = Evidence.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise InputError(f"not a Clearsight evidence record ({type(exc).__name__})", path=str(path)) from exc
        if evidence.system is not None and evidence.system not in known:
            raise InputError(f"evidence is for unknown system '{evidence.system}'", path=str(path),
                             hint="record it with the system's ID from clearsight.yaml")
        out.append(evidence)
    return out

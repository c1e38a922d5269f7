"""PyTorch checkpoints: the zip format (``torch.save`` since 1.6) and the legacy stream of pickles.

Zip: only the pickle members (``*/data.pkl``, TorchScript's ``constants.pkl``, any other ``*.pkl``) are read; the
tensor storages under ``*/data/`` are raw bytes that ``torch.load`` never unpickles, so they are not touched and a
multi-gigabyte checkpoint costs one central-directory read plus its small pickles.

Legacy: five pickles (magic number, protocol version, system info, the object, the storage keys) followed by raw
storage bytes. The five pickles are cut out and scanned together; the raw bytes are not a pickle.
"""

from __future__ import annotations

import zipfile

from clearsight.controls.artifacts.containers import current_context, finding, open_pieces, open_zip, zip_members
from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners.pickles import PickleFormatError, pickle_end, scan_pickle
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

_LEGACY_PICKLES = 5


def _is_pickle_member(info: zipfile.ZipInfo) -> bool:
    # torch.load finds members case-insensitively: ``archive/DATA.PKL`` is as much a pickle as ``data.pkl``.
    return info.filename.lower().endswith(".pkl")


def _case_groups(names: list[str]) -> list[list[str]]:
    """Groups of distinct member names that differ only in case."""
    groups: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        groups.setdefault(name.lower(), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def scan_zip(member: Member, policy: Policy) -> list[Finding]:
    """Scan the pickles of a PyTorch zip checkpoint."""
    findings: list[Finding] = []
    ctx = current_context()
    with member.open() as stream:
        listing = open_zip(member, stream, findings)
        if listing is None:
            return findings
        with listing.archive:
            lowered = [n.lower() for n in listing.names]
            if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in lowered):
                findings.append(
                    finding(
                        "torch.malformed",
                        Severity.HIGH,
                        "A PyTorch zip checkpoint without a data.pkl: torch.load would reject it.",
                        member.where,
                    )
                )
            critical: set[str] = set()
            for inner in zip_members(member, listing, findings, ctx, select=_is_pickle_member):
                with inner.open() as pickled:
                    found = scan_pickle(pickled, policy, inner.where)
                if any(f.severity is Severity.CRITICAL for f in found):
                    critical.add(inner.where.rsplit("!", 1)[-1].lower())
                findings.extend(found)
            for group in _case_groups(listing.names):
                dangerous = group[0].lower() in critical
                findings.append(
                    finding(
                        "container.case-collision",
                        Severity.CRITICAL if dangerous else Severity.HIGH,
                        "Archive members whose names differ only in case: torch.load matches names "
                        "case-insensitively, so which one it loads is not the one a case-sensitive reader sees"
                        + (" (one of them imports a dangerous callable)." if dangerous else "."),
                        member.where,
                        ", ".join(repr(n) for n in group[:5]),
                    )
                )
    return findings


def scan_legacy(member: Member, policy: Policy) -> list[Finding]:
    """Scan the pickles at the start of a legacy (pre-1.6, non-zip) PyTorch file."""
    findings: list[Finding] = []
    with member.open() as stream:
        stream.seek(0)
        end = 0
        problem: str | None = None
        for _ in range(_LEGACY_PICKLES):
            try:
                end = pickle_end(stream)
            except PickleFormatError as exc:
                problem = str(exc)
                break
        if problem is not None:
            # Let the pickle reader see everything: it reports where and why the stream breaks.
            stream.seek(0)
            findings.extend(scan_pickle(stream, policy, member.where))
            findings.append(
                finding(
                    "torch.malformed",
                    Severity.HIGH,
                    "The legacy PyTorch file does not hold the five pickles torch.load expects.",
                    member.where,
                    problem,
                )
            )
            return findings
        with open_pieces(stream, [(0, end)]) as pickles:
            findings.extend(scan_pickle(pickles, policy, member.where))
    return findings

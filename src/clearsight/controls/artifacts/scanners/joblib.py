"""Raw pickles and joblib files (compressed joblib files arrive here already decompressed by the containers).

A joblib file is a pickle with NumPy array bytes written inside the opcode stream, right after each
``NumpyArrayWrapper`` is built (object arrays are written there as a nested pickle). The pickle reader follows
that layout when told to, as ``joblib.load`` does.

A file that is read as joblib is also read once as ``pickle.load`` would read it, and any critical finding of
that reading is kept: bytes that joblib treats as array data are opcodes to ``pickle.load``, and a payload hidden
there must not pass because the file looks like joblib. (Structural complaints of that second reading are
dropped: for a real joblib file they are expected.)
"""

from __future__ import annotations

from clearsight.controls.artifacts.interface import Member, Policy
from clearsight.controls.artifacts.scanners.pickles import scan_pickle
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity


def scan_pickle_file(member: Member, policy: Policy) -> list[Finding]:
    """Scan a raw pickle file as ``pickle.load`` reads it (every pickle in it)."""
    with member.open() as stream:
        return scan_pickle(stream, policy, member.where)


def scan_joblib_file(member: Member, policy: Policy) -> list[Finding]:
    """Scan a joblib file as ``joblib.load`` reads it, plus the critical findings of a plain pickle reading."""
    with member.open() as stream:
        findings = scan_pickle(stream, policy, member.where, joblib=True)
        stream.seek(0)
        plain = scan_pickle(stream, policy, member.where)
    seen = {(f.rule, f.detail) for f in findings}
    findings.extend(f for f in plain if f.severity is Severity.CRITICAL and (f.rule, f.detail) not in seen)
    return findings

"""Turn what the pickle reader saw into findings, judged by an import policy. Nothing is ever unpickled.

Rules (severity decides the file's verdict: critical -> malicious, high/medium -> suspicious, low -> note):

========================== ======== =====================================================================
``pickle.dangerous-call``  critical a denylisted callable is called (REDUCE, NEWOBJ, OBJ, INST, BUILD, ...)
``pickle.dangerous-global`` critical a denylisted callable is imported, even if not called directly
``pickle.unresolved-call`` critical an import whose module/name is computed at load time (or too long to
                                    read), or an EXT code the file does not register, is then called: only a
                                    payload hides what it runs
``pickle.unresolved-global`` high   STACK_GLOBAL takes a module/name computed at load time
``pickle.extension-code``  high     an EXT1/2/4 code only the loading process's copyreg registry resolves
                                    (not called; a called one is ``pickle.unresolved-call``)
``pickle.global-mutation`` high     BUILD/SETITEM/APPEND on an imported object itself (monkey-patching)
``pickle.truncated``       high     the data ends before STOP (critical if a dangerous import came first)
``pickle.malformed``       high     not a valid opcode stream (critical if a dangerous import came first)
``pickle.limit``           high     a reader limit was hit, the rest is unread
``pickle.unknown-global``  medium   an import on neither list of the policy
``pickle.trailing-data``   medium   data after the last complete pickle
``pickle.embedded``        medium   a pickle found after junk or inside a broken pickle
``pickle.protocol``        medium   a protocol number Python does not know
``pickle.persistent-id``   low      persistent IDs that are not PyTorch's storage references
``pickle.out-of-band-buffer`` low   protocol 5 buffers supplied by the loader
========================== ======== =====================================================================
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import BinaryIO

from clearsight.controls.artifacts.interface import Policy
from clearsight.controls.artifacts.pickle_reader import Event, GlobalRef, Limits, ReadResult, read_pickles
from clearsight.core.base import SourceLocation
from clearsight.core.evidence import Finding
from clearsight.core.severity import Severity

__all__ = ["findings_from", "scan_pickle_bytes", "scan_pickle_stream"]

_MAX_PER_RULE = 50  # findings of one rule per stream; the rest are summarised in one more finding

_EVENT_RULES: dict[str, tuple[str, Severity]] = {
    "trailing-data": ("pickle.trailing-data", Severity.MEDIUM),
    "embedded-pickle": ("pickle.embedded", Severity.MEDIUM),
    "unsupported-protocol": ("pickle.protocol", Severity.MEDIUM),
    "persistent-id": ("pickle.persistent-id", Severity.LOW),
    "out-of-band-buffer": ("pickle.out-of-band-buffer", Severity.LOW),
    "global-mutation": ("pickle.global-mutation", Severity.HIGH),
    "resync-limit": ("pickle.limit", Severity.MEDIUM),
    "limit": ("pickle.limit", Severity.HIGH),
    "truncated": ("pickle.truncated", Severity.HIGH),
    "malformed": ("pickle.malformed", Severity.HIGH),
    "empty": ("pickle.malformed", Severity.HIGH),
}


def scan_pickle_stream(
    stream: BinaryIO,
    policy: Policy,
    where: str,
    *,
    limits: Limits | None = None,
    max_pickles: int | None = None,
    joblib: bool = True,
    extensions: Mapping[int, tuple[str, str]] | None = None,
) -> list[Finding]:
    """Findings for every pickle in ``stream`` (read from its current position; never raises for content).

    ``where`` locates the findings (a path, or ``outer!inner``). ``max_pickles`` stops after that many
    complete pickles (PyTorch legacy files carry raw bytes after theirs). ``joblib`` (default on) follows
    joblib's layout, where array bytes or an object-array pickle follow each ``NumpyArrayWrapper``'s BUILD
    (turn it off only when those bytes were already cut out). An empty list means clean.
    """
    try:
        result = read_pickles(stream, limits=limits, max_pickles=max_pickles, extensions=extensions, joblib=joblib)
    except Exception as exc:  # a reader bug must neither crash the run nor pass the file as clean
        return [
            _finding(
                "pickle.malformed",
                Severity.HIGH,
                f"the pickle reader failed ({type(exc).__name__}: {exc}); the file was not fully checked",
                where,
            )
        ]
    return findings_from(result, policy, where)


def scan_pickle_bytes(
    data: bytes,
    policy: Policy,
    where: str,
    *,
    limits: Limits | None = None,
    max_pickles: int | None = None,
    joblib: bool = True,
    extensions: Mapping[int, tuple[str, str]] | None = None,
) -> list[Finding]:
    """:func:`scan_pickle_stream` over bytes already in memory."""
    return scan_pickle_stream(
        io.BytesIO(data), policy, where, limits=limits, max_pickles=max_pickles, joblib=joblib, extensions=extensions
    )


def _short(text: str, keep: int = 200) -> str:
    """``text`` cut in the middle when longer than ``keep`` (a dotted walk can be 64 KiB long)."""
    if len(text) <= keep:
        return text
    return f"{text[: keep * 2 // 3]}...({len(text)} characters)...{text[-(keep // 3) :]}"


def _finding(rule: str, severity: Severity, message: str, where: str, detail: str | None = None) -> Finding:
    return Finding(rule=rule, severity=severity, message=message, location=SourceLocation(path=where), detail=detail)


class _Labels:
    """ "pickle 2 of 3" or "pickle embedded at byte 120" for an offset."""

    def __init__(self, result: ReadResult) -> None:
        self.total = sum(1 for p in result.pickles if not p.embedded)
        self.embedded = sorted(p.start for p in result.pickles if p.embedded)

    def of(self, pickle: int, offset: int, embedded: bool) -> str:
        if embedded:
            start = max((s for s in self.embedded if s <= offset), default=offset)
            return f"pickle embedded at byte {start}"
        return f"pickle {pickle} of {max(self.total, pickle)}"


def findings_from(result: ReadResult, policy: Policy, where: str) -> list[Finding]:
    """Judge a :class:`ReadResult` with ``policy``: the findings for one stream (empty: clean)."""
    labels = _Labels(result)
    verdicts: dict[tuple[str, str], str] = {}
    explain = getattr(policy, "explain", None)

    def judge(module: str, name: str) -> str:
        key = (module, name)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = policy.classify(module, name)
        return verdict

    out: list[tuple[Severity, int, Finding]] = []
    dangerous_at: dict[int, int] = {}  # top-level pickle -> first offset of a dangerous import
    groups: dict[tuple[str, str], list[GlobalRef]] = {}
    loose: list[tuple[str, GlobalRef]] = []
    for g in result.globals:
        if g.module is not None and g.name is not None:
            verdict = judge(g.module, g.name)
            if verdict == "safe":
                continue
            groups.setdefault(("dangerous" if verdict == "dangerous" else "unknown", g.qualname), []).append(g)
        elif g.module is not None and judge(g.module, "*") == "dangerous":
            groups.setdefault(("dangerous", f"{g.module}.<computed name>"), []).append(g)
        elif g.ext_code is not None and g.module is None and not g.calls:
            loose.append(("pickle.extension-code", g))
        elif g.calls:  # includes a called EXT code the file never registers: it hides what it runs

            loose.append(("pickle.unresolved-call", g))
            if not g.embedded:
                dangerous_at[g.pickle] = min(dangerous_at.get(g.pickle, g.offset), g.offset)
        else:
            loose.append(("pickle.unresolved-global", g))

    for (kind, full_name), refs in groups.items():
        qualname = _short(full_name)
        first = min(refs, key=lambda r: r.offset)
        called = [r for r in refs if r.calls]
        label = labels.of(first.pickle, first.offset, first.embedded)
        if kind == "dangerous":
            rule = "pickle.dangerous-call" if called else "pickle.dangerous-global"
            severity = Severity.CRITICAL
            for r in refs:
                if not r.embedded:
                    dangerous_at[r.pickle] = min(dangerous_at.get(r.pickle, r.offset), r.offset)
        else:
            rule = "pickle.unknown-global"
            severity = Severity.MEDIUM
        why = None
        if first.module is not None and first.name is not None and callable(explain):
            why = _short(str(explain(first.module, first.name)), 400)
        if rule == "pickle.dangerous-call":
            c = min(called, key=lambda r: r.call_offset or 0)
            message = f"calls {qualname} at byte {c.call_offset} ({labels.of(c.pickle, c.offset, c.embedded)})"
        elif rule == "pickle.dangerous-global":
            message = (
                f"imports {qualname} at byte {first.offset} ({label}); it is not called directly, but a "
                "dangerous callable in a pickle has no benign use"
            )
        else:
            message = (
                f"imports {qualname} at byte {first.offset} ({label}), which policy '{policy.name}' does "
                "not know" + (" and calls it" if called else "")
            )
        parts = [f"{r.opcode} at byte {r.offset}" for r in sorted(refs, key=lambda r: r.offset)[:5]]
        detail = "imported by " + ", ".join(parts) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
        if called:
            c = min(called, key=lambda r: r.call_offset or 0)
            detail += f"; first call: {c.call_opcode} at byte {c.call_offset} with arguments {c.call_args}"
        if first.reason:
            detail += f"; {first.reason}"
        if why:
            detail += f"; {why}"
        out.append((severity, first.offset, _finding(rule, severity, message, where, detail)))

    per_rule: dict[str, int] = {}
    for rule, g in loose:
        per_rule[rule] = per_rule.get(rule, 0) + 1
        if per_rule[rule] > _MAX_PER_RULE:
            continue
        label = labels.of(g.pickle, g.offset, g.embedded)
        if rule == "pickle.extension-code":
            message = (
                f"{g.opcode} at byte {g.offset} ({label}) imports extension code {g.ext_code}, which only "
                "the loading process's copyreg extension registry can resolve"
            )
        elif rule == "pickle.unresolved-call" and g.ext_code is not None:
            message = (
                f"{g.opcode} at byte {g.offset} ({label}) imports extension code {g.ext_code}, which the file never "
                f"registers (only the loading process's copyreg registry resolves it), and {g.call_opcode} at byte "
                f"{g.call_offset} calls it: benign pickles name what they call"
            )
        elif rule == "pickle.unresolved-call":
            known = f" from module {g.module}" if g.module is not None else ""
            message = (
                f"{g.opcode} at byte {g.offset} ({label}) imports a name{known} that is only known when the pickle "
                f"runs, and {g.call_opcode} at byte {g.call_offset} calls it: benign pickles name what they call"
            )
        else:
            message = f"{g.opcode} at byte {g.offset} ({label}) imports a name that is only known when the pickle runs"
        detail = g.reason or ""
        if g.calls:
            detail += f"; it is called by {g.call_opcode} at byte {g.call_offset} with arguments {g.call_args}"
        severity = Severity.CRITICAL if rule == "pickle.unresolved-call" else Severity.HIGH
        out.append((severity, g.offset, _finding(rule, severity, message, where, detail or None)))
    for rule, count in per_rule.items():
        if count > _MAX_PER_RULE:
            severity = Severity.CRITICAL if rule == "pickle.unresolved-call" else Severity.HIGH
            out.append(
                (
                    severity,
                    1 << 62,
                    _finding(rule, severity, f"{count - _MAX_PER_RULE} more {rule} findings in this stream", where),
                )
            )

    counted: dict[str, int] = {}
    for event in result.events:
        out.extend(_event_findings(event, result, labels, dangerous_at, where, counted))
    out.sort(key=lambda item: (-item[0].rank, item[1]))
    return [f for _, _, f in out]


def _event_findings(
    event: Event, result: ReadResult, labels: _Labels, dangerous_at: dict[int, int], where: str, counted: dict[str, int]
) -> list[tuple[Severity, int, Finding]]:
    mapped = _EVENT_RULES.get(event.kind)
    if mapped is None:
        return []
    rule, severity = mapped
    counted[rule] = counted.get(rule, 0) + 1
    if counted[rule] > _MAX_PER_RULE:
        return []
    label = labels.of(event.pickle, event.offset, event.embedded)
    detail = None
    if event.kind in ("truncated", "malformed"):
        first = dangerous_at.get(event.pickle)
        if first is not None and first <= event.offset:
            severity = Severity.CRITICAL
            detail = (
                f"a dangerous import at byte {first} comes before the failure: a loader runs the payload "
                "before it notices the broken stream"
            )
        message = f"{label} is {'truncated' if event.kind == 'truncated' else 'malformed'}: {event.message}"
        read = sum(p.opcodes for p in result.pickles if p.index == event.pickle and not p.embedded)
        detail = (detail + "; " if detail else "") + f"{read} opcodes were read before it; a loader fails here"
    elif event.kind == "empty":
        message = event.message
    elif event.kind == "persistent-id":
        others = result.persistent_ids - result.torch_persistent_ids
        message = f"{others} persistent ID(s) that are not PyTorch storage references, first in {label}"
        detail = event.message
    elif event.kind in ("trailing-data", "embedded-pickle", "limit", "resync-limit"):
        message = event.message + ("" if event.kind in ("embedded-pickle", "resync-limit") else f" ({label})")
    else:
        message = f"{event.message} ({label})"
    return [(severity, event.offset, _finding(rule, severity, message, where, detail))]

"""``clearsight data check`` as a library call: read, screen for poisoning, diff against the baseline.

Use it inside a training pipeline before ``fit``::

    report = check_data(Path("train.csv"), label="is_fraud", id_column="transaction_id",
                        baseline=Path("trusted.manifest.json"))
    if report.worst is not None and report.worst >= Severity.HIGH:
        raise SystemExit("training data failed its poisoning screen")
"""

from __future__ import annotations

import time
from pathlib import Path

from clearsight.core.datacheck import DataCheckReport, DataFinding, DataProfile, ValidationResult
from clearsight.core.errors import InputError
from clearsight.core.severity import Severity
from clearsight.data.loading import MAX_ROWS, Progress, load_table
from clearsight.data.table import LabelledTable, encode, label_values
from clearsight.executors import Executor


def check_data(path: Path, *, label: str, id_column: str | None = None, baseline: Path | None = None,
               schema: Path | None = None, baseline_key: Path | None = None, delimiter: str | None = None,
               max_rows: int = MAX_ROWS, sample: int | None = None,
               signals: list[str] | None = None, effect: bool = True, seed: int = 0, ignore: list[str] | None = None,
               executor: Executor | None = None, progress: Progress | None = None) -> DataCheckReport:
    if sample is not None and baseline is not None:
        raise InputError("--baseline compares every row, --sample reads only some: use one or the other")
    if baseline_key is not None and baseline is None:
        raise InputError("--baseline-key needs --baseline")
    rules = None
    if schema is not None:
        from clearsight.data.schema import load_schema

        rules = load_schema(schema)  # a broken schema fails before the data is read
    if progress:
        progress("reading data")
    table = load_table(path, label, id_column=id_column, max_rows=max_rows, delimiter=delimiter, sample=sample,
                       seed=seed, executor=executor, progress=progress, schema=rules, schema_source=str(schema))
    verified = _verify_baseline(baseline, baseline_key) if baseline is not None and baseline_key else None
    trusted = None
    if baseline is not None:
        from clearsight.data.baseline import load_baseline

        if progress:
            progress("reading baseline")
        trusted = load_baseline(baseline, table, delimiter=delimiter, max_rows=max_rows)
    validation = table.validation  # with --sample, every row was validated while the pieces were read
    if rules is not None and validation is None:
        from clearsight.data.schema import validate

        if progress:
            progress("validating against the schema")
        validation = validate(table, rules, str(schema))
    return check_table(table, baseline=trusted, baseline_name=str(baseline) if baseline else "",
                       baseline_verified=verified, validation=validation, signals=signals, effect=effect, seed=seed,
                       ignore=ignore, executor=executor, progress=progress)


def check_table(table: LabelledTable, *, baseline: dict[str, object] | None = None, baseline_name: str = "",
                baseline_verified: tuple[bool, list[str]] | None = None, validation: ValidationResult | None = None,
                signals: list[str] | None = None, effect: bool = True, seed: int = 0, ignore: list[str] | None = None,
                executor: Executor | None = None, progress: Progress | None = None) -> DataCheckReport:
    """Screen ``table``; columns in ``ignore`` (leaks of the label, free text) are left out of the signals only."""
    import numpy as np

    from clearsight.data.baseline import diff
    from clearsight.data.poisoning.detect import data_map, detect, removal_effect
    from clearsight.data.poisoning.interface import Context
    from clearsight.data.poisoning.registry import by_id

    started = time.perf_counter()
    try:
        chosen = by_id(signals)
    except KeyError as exc:
        raise InputError(f"unknown signal {exc.args[0]}") from exc
    unknown = [c for c in ignore or [] if c not in table.columns]
    if unknown:
        raise InputError(f"--ignore names no column: {', '.join(unknown)}", path=table.source or None)
    if set(ignore or []) & {table.label, table.id_column}:
        raise InputError("--ignore cannot name the label or ID column")
    screened = LabelledTable({k: v for k, v in table.columns.items() if k not in (ignore or [])}, table.label,
                             table.id_column, table.source, table.format, table.sha256)
    try:
        enc = encode(screened)
    except ValueError as exc:
        raise InputError(str(exc), path=table.source or None) from exc
    ctx = Context(enc, seed=seed, executor=executor)
    detection = detect(ctx, chosen, ids=table.ids(), progress=progress)
    estimate = None
    if effect and detection.flagged.any():
        if progress:
            progress("retraining without the flagged rows")
        estimate = removal_effect(ctx, detection)
    difference = None
    if baseline is not None:
        if progress:
            progress("comparing with the baseline")
        difference = diff(table, baseline, baseline_name=baseline_name)
        if baseline_verified is not None:
            ok, notes = baseline_verified
            difference = difference.model_copy(update={"manifest_verified": ok,
                                                       "notes": [*difference.notes, *notes]})
    classes, counts = np.unique(label_values(table.columns[table.label]), return_counts=True)
    profile = DataProfile(path=table.source, format=table.format, rows=table.rows, columns=len(table.columns),
                          label=table.label, id_column=table.id_column,
                          classes={str(c): int(k) for c, k in zip(classes, counts, strict=True)}, sha256=table.sha256,
                          partitions=len(table.partitions), sampled_from=table.sampled_from)
    report = DataCheckReport(data=profile, signals=detection.signals, suspicious=detection.rows,
                             triggers=detection.triggers, effect=estimate, baseline=difference,
                             validation=validation, findings=[], seconds=0.0, map=data_map(ctx, detection.flagged))
    return report.model_copy(update={"findings": findings(report),
                                     "seconds": round(time.perf_counter() - started, 3)})


def _verify_baseline(baseline: Path, key: Path) -> tuple[bool, list[str]]:
    """Check the trusted side's signature (``clearsight data manifest --key`` or ``model sign``) first."""
    from clearsight.controls.integrity.signing import verify_model

    result = verify_model(baseline, public_key=key)
    if result.ok:
        return True, [f"baseline signature verified ({result.signer or 'key ' + str(key)})"]
    return False, [f"baseline signature does not verify: {p}" for p in result.problems or ["unknown reason"]]


def findings(report: DataCheckReport) -> list[DataFinding]:
    """The verdicts a reviewer and ``--fail-on`` act on, worst first."""
    out: list[DataFinding] = []
    for t in report.triggers:
        cond = " and ".join(f"{k} {v}" for k, v in t.conditions.items())
        out.append(DataFinding(rule=f"poisoning.trigger.{t.kind}", severity=Severity.CRITICAL,
                               message=f"trigger pattern {cond} on {t.rows} rows decides label {t.label!r}"))
    by_signal: dict[str, int] = {}
    for row in report.flagged:
        for r in row.reasons:
            by_signal[r.signal] = by_signal.get(r.signal, 0) + 1
    if by_signal.get("region.targeted"):
        out.append(DataFinding(rule="poisoning.targeted-region", severity=Severity.HIGH,
                               message=f"{by_signal['region.targeted']} rows carry a label their region contradicts "
                                       "(flips concentrated in one region and direction)"))
    if by_signal.get("label.confident"):
        share = by_signal["label.confident"] / max(report.data.rows, 1)
        sev = Severity.HIGH if share >= 0.02 else Severity.MEDIUM
        out.append(DataFinding(rule="poisoning.label-issues", severity=sev,
                               message=f"{by_signal['label.confident']} labels ({share:.1%}) contradicted by "
                                       "out-of-sample predictions"))
    if by_signal.get("duplicate.conflict"):
        out.append(DataFinding(rule="poisoning.duplicate-conflict", severity=Severity.MEDIUM,
                               message=f"{by_signal['duplicate.conflict']} near-duplicate rows with conflicting "
                                       "labels"))
    v = report.validation
    if v is not None:
        for issue in v.issues:
            where = f"column '{issue.column}'" if issue.column else "the table"
            examples = f": {', '.join(issue.examples[:3])}" if issue.examples else ""
            out.append(DataFinding(rule="validation.failed", severity=issue.severity,
                                   message=f"{where} fails '{issue.check}' on {issue.failures} value(s){examples}"))
    b = report.baseline
    if b is not None and b.manifest_verified is False:
        out.append(DataFinding(rule="baseline.signature", severity=Severity.CRITICAL,
                               message="the trusted baseline's signature does not verify: "
                                       + "; ".join(n for n in b.notes if "does not verify" in n)))
    if b is not None:
        if b.label_flips:
            directions = ", ".join(f"{k}: {v}" for k, v in sorted(b.flips_by_direction.items(), key=lambda kv: -kv[1]))
            out.append(DataFinding(rule="baseline.label-flips", severity=Severity.HIGH,
                                   message=f"{sum(b.flips_by_direction.values())} labels changed on rows that "
                                           f"already existed ({directions})"))
        touched = {k: v for k, v in b.partition_changes.items() if v != "added"}
        if touched:
            listed = ", ".join(f"{k} ({v})" for k, v in list(touched.items())[:6])
            out.append(DataFinding(rule="baseline.partitions", severity=Severity.MEDIUM,
                                   message=f"{len(touched)} trusted partition(s) changed or removed: {listed}"))
        shifted = [s for s in b.shifts if s.shifted]
        if shifted:
            cols = sorted({s.column + (f" (label {s.within_label})" if s.within_label else "") for s in shifted})
            out.append(DataFinding(rule="baseline.shift", severity=Severity.MEDIUM,
                                   message=f"distribution shift against the baseline in {', '.join(cols[:8])}"
                                           + (" ..." if len(cols) > 8 else "")))
    return sorted(out, key=lambda f: -f.severity.rank)

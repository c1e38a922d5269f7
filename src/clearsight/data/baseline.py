"""Compare a new training set with the last trusted one: what was added, removed or changed, which labels
flipped on rows that already existed, and which features moved.

Rows are matched by the ``--id`` column when there is one. Without IDs a row is known by its feature values,
so "same features, different label" is still a flip. The trusted side can be the previous data file or a
manifest (``clearsight data manifest``) holding one fingerprint and label per row plus a sample of every
feature, so the old data need not be kept.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import BaselineDiff, FeatureShift, LabelFlip
from clearsight.core.errors import InputError
from clearsight.data.table import LabelledTable, is_numeric, label_values

MANIFEST_VERSION = 1
SAMPLE = 2000
SHIFT_P = 1e-3
SHIFT_EFFECT = 0.1
MIN_SHIFT_ROWS = 30
MAX_FLIPS_LISTED = 1000


def fingerprints(table: LabelledTable) -> list[str]:
    """One short hash of the feature values per row (label and ID excluded), stable across file formats."""
    names = table.feature_names
    texts = [_texts(table.columns[n]) for n in names]
    out = []
    for i in range(table.rows):
        row = "\x1f".join(t[i] for t in texts)
        out.append(hashlib.blake2b(row.encode(), digest_size=10).hexdigest())
    return out


def _texts(column: NDArray[Any]) -> list[str]:
    if is_numeric(column):
        return [format(v, ".12g") for v in column.astype(float).tolist()]
    return [str(v) for v in column.tolist()]


def _labels(table: LabelledTable) -> list[str]:
    return [str(v) for v in label_values(table.columns[table.label]).tolist()]


def _sample(column: NDArray[Any], seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    take = rng.choice(len(column), size=min(SAMPLE, len(column)), replace=False)
    values = column[np.sort(take)]
    return [float(v) for v in values.astype(float)] if is_numeric(column) else [str(v) for v in values]


def build_manifest(table: LabelledTable) -> dict[str, Any]:
    """A trusted snapshot of ``table``: enough to diff against later without the data itself."""
    labels = _labels(table)
    ids = table.ids()
    prints = fingerprints(table)
    y = label_values(table.columns[table.label])
    samples: dict[str, dict[str, list[Any]]] = {}
    for name in table.feature_names:
        col = table.columns[name]
        per = {"*": _sample(col)}
        for value in np.unique(y):
            per[str(value)] = _sample(col[y == value])
        samples[name] = per
    return {
        "clearsight_manifest": MANIFEST_VERSION,
        "source": table.source, "format": table.format, "sha256": table.sha256, "rows": table.rows,
        "label": table.label, "id_column": table.id_column, "columns": list(table.columns),
        "row_ids": None if ids is None else ids.tolist(), "row_fingerprints": prints, "row_labels": labels,
        "samples": samples,
        "partitions": {k: {"sha256": h, "rows": n} for k, (h, n) in table.partitions.items()},
    }


def write_manifest(table: LabelledTable, path: Path) -> Path:
    from clearsight.atomic_files import write_atomically

    write_atomically(path, json.dumps(build_manifest(table), separators=(",", ":")) + "\n")
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable manifest ({type(exc).__name__})", path=str(path)) from exc
    if not isinstance(data, dict) or data.get("clearsight_manifest") != MANIFEST_VERSION:
        raise InputError("not a Clearsight data manifest", path=str(path))
    n = data.get("rows")
    for key in ("row_fingerprints", "row_labels"):
        if not isinstance(data.get(key), list) or len(data[key]) != n:
            raise InputError(f"manifest field '{key}' does not hold one entry per row", path=str(path))
    return data


def is_manifest(path: Path) -> bool:
    with path.open("rb") as fh:
        return b'"clearsight_manifest"' in fh.read(64)


def diff(new: LabelledTable, trusted: dict[str, Any], *, baseline_name: str) -> BaselineDiff:
    notes: list[str] = []
    prints = fingerprints(new)
    labels = _labels(new)
    old_prints: list[str] = trusted["row_fingerprints"]
    old_labels: list[str] = trusted["row_labels"]
    old_ids: list[str] | None = trusted.get("row_ids")
    flips: list[LabelFlip] = []
    ids = new.ids()
    if ids is not None and old_ids is not None:
        old = {k: (p, lab) for k, p, lab in zip(old_ids, old_prints, old_labels, strict=True)}
        seen = set()
        added = changed = unchanged = 0
        for k, p, lab in zip(ids.tolist(), prints, labels, strict=True):
            seen.add(k)
            before = old.get(k)
            if before is None:
                added += 1
                continue
            if before[1] != lab:
                flips.append(LabelFlip(id=k, before=before[1], after=lab))
            if before[0] != p:
                changed += 1
            elif before[1] == lab:
                unchanged += 1
        removed = sum(1 for k in old if k not in seen)
    else:
        if ids is not None or old_ids is not None:
            notes.append("only one side has row IDs: rows were matched by their feature values")
        old_by_print: dict[str, Counter[str]] = {}
        for p, lab in zip(old_prints, old_labels, strict=True):
            old_by_print.setdefault(p, Counter())[lab] += 1
        new_by_print: dict[str, Counter[str]] = {}
        for p, lab in zip(prints, labels, strict=True):
            new_by_print.setdefault(p, Counter())[lab] += 1
        added = removed = unchanged = 0
        changed = 0  # without IDs a changed row is a removal plus an addition
        for p in old_by_print.keys() | new_by_print.keys():
            was, now = old_by_print.get(p, Counter()), new_by_print.get(p, Counter())
            unchanged += sum((was & now).values())
            gone = list((was - now).elements())
            came = list((now - was).elements())
            for old_lab, new_lab in zip(gone, came, strict=False):  # same features, another label
                flips.append(LabelFlip(id=f"features:{p}", before=old_lab, after=new_lab))
            pairs = min(len(gone), len(came))
            removed += len(gone) - pairs
            added += len(came) - pairs
    directions = Counter(f"{f.before} -> {f.after}" for f in flips)
    changes = _partition_changes(new.partitions, trusted.get("partitions") or {})
    if len(flips) > MAX_FLIPS_LISTED:
        notes.append(f"{len(flips)} label flips; the first {MAX_FLIPS_LISTED} are listed")
    return BaselineDiff(
        baseline=baseline_name, rows_before=len(old_prints), rows_after=new.rows, added=added, removed=removed,
        changed=changed, unchanged=unchanged, label_flips=flips[:MAX_FLIPS_LISTED],
        flips_by_direction=dict(directions), shifts=_shifts(new, trusted.get("samples") or {}), notes=notes,
        partition_changes=changes,
    )


def _partition_changes(now: dict[str, tuple[str, int]], before: dict[str, Any]) -> dict[str, Any]:
    """Which partition files appeared, disappeared or changed content since the trusted version."""
    if not now or not before:
        return {}
    out: dict[str, Any] = {}
    for name, (digest, _rows) in now.items():
        old = before.get(name)
        if old is None:
            out[name] = "added"
        elif old.get("sha256") != digest:
            out[name] = "changed"
    out.update({name: "removed" for name in before if name not in now})
    return out


def _shifts(new: LabelledTable, samples: dict[str, dict[str, list[Any]]]) -> list[FeatureShift]:
    from scipy.stats import chi2_contingency, ks_2samp

    out: list[FeatureShift] = []
    y = label_values(new.columns[new.label])
    for name in new.feature_names:
        if name not in samples:
            continue
        col = new.columns[name]
        for key, old in samples[name].items():
            cur = col if key == "*" else col[np.array([str(v) for v in y]) == key]
            if len(cur) < MIN_SHIFT_ROWS or len(old) < MIN_SHIFT_ROWS:
                continue
            within = None if key == "*" else key
            if is_numeric(col):
                a = np.asarray(old, dtype=float)
                b = cur.astype(float)
                a, b = a[np.isfinite(a)], b[np.isfinite(b)]
                if len(a) < MIN_SHIFT_ROWS or len(b) < MIN_SHIFT_ROWS:
                    continue
                res = ks_2samp(a, b)
                stat, p = float(res.statistic), float(res.pvalue)
                kind = "ks"
            else:
                cats = sorted(set(old) | {str(v) for v in cur})
                table = np.array([[Counter(old)[c] for c in cats], [int(np.sum(cur.astype(str) == c)) for c in cats]])
                table = table[:, table.sum(axis=0) > 0]
                if table.shape[1] < 2:
                    continue
                chi = chi2_contingency(table)
                stat = float(np.sqrt(chi.statistic / table.sum() / (min(table.shape) - 1)))  # Cramer's V
                p = float(chi.pvalue)
                kind = "cramers_v"
            out.append(FeatureShift(column=name, statistic=kind, value=round(stat, 4), p_value=p,
                                    within_label=within, shifted=p < SHIFT_P and stat >= SHIFT_EFFECT))
    return out


def load_baseline(path: Path, new: LabelledTable, *, delimiter: str | None, max_rows: int) -> dict[str, Any]:
    """The trusted side as a manifest, whether ``path`` is a manifest or the previous data file."""
    from clearsight.data.loading import load_table

    if not path.exists():
        raise InputError("no such baseline", path=str(path))
    if path.is_file() and is_manifest(path):
        manifest = read_manifest(path)
        if manifest.get("label") != new.label:
            raise InputError(f"manifest is for label '{manifest.get('label')}', not '{new.label}'", path=str(path))
        return manifest
    old = load_table(path, new.label, id_column=new.id_column, max_rows=max_rows, delimiter=delimiter)
    missing = [c for c in new.feature_names if c not in old.columns]
    if missing:
        raise InputError(f"baseline lacks columns {', '.join(missing)}", path=str(path))
    old = LabelledTable({c: old.columns[c] for c in new.columns}, old.label, old.id_column, old.source, old.format,
                        old.sha256, old.partitions)
    return build_manifest(old)

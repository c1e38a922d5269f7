"""How ``clearsight data check`` grows with the rows: seconds per step and peak memory, one process per size.

    python benchmarks/bench_data_scale.py 20000 100000 200000

Each size runs in a fresh child process (so peak RSS is that size's own): simulated card payments with a
30-row targeted fraud->legit flip, written to CSV, then ``check_data`` with every signal and the removal effect.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(rows: int) -> dict[str, object]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from clearsight.data import simulate as sim
    from clearsight.data.check import check_data

    data = sim.flip_targeted(sim.transactions(rows=rows, seed=1), 30, mode="account_takeover", seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        pacsv.write_csv(pa.table(data.columns), path)
        steps: list[tuple[str, float]] = []
        start = time.perf_counter()
        report = check_data(path, label="is_fraud", id_column="transaction_id",
                            progress=lambda step: steps.append((step, time.perf_counter())))
        total = time.perf_counter() - start
    marks = [*steps, ("end", start + total)]
    per_step = {name: round(marks[i + 1][1] - t, 2) for i, (name, t) in enumerate(marks[:-1])}
    flagged = {r.row for r in report.flagged}
    truth = set(map(int, data.poisoned.nonzero()[0]))
    return {"rows": rows, "seconds": round(total, 1), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF)
            .ru_maxrss // 1024, "flagged": len(flagged), "caught": len(flagged & truth), "steps": per_step}


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(int(sys.argv[2]))))
        return
    print("| rows | seconds | peak RSS | flagged (of 30 flipped caught) | slowest steps |")
    print("|---:|---:|---:|---|---|")
    for size in sys.argv[1:] or ["20000", "100000"]:
        out = subprocess.run([sys.executable, __file__, "--one", size], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        steps = sorted(r["steps"].items(), key=lambda kv: -kv[1])[:3]
        print(f"| {r['rows']:,} | {r['seconds']} | {r['peak_rss_mb']} MB | {r['flagged']} ({r['caught']}) | "
              + ", ".join(f"{k} {v} s" for k, v in steps) + " |", flush=True)


if __name__ == "__main__":
    main()

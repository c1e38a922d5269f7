"""``clearsight data check --sample`` on a CSV far larger than the sample: seconds and peak memory per executor.

    python benchmarks/bench_data_sample.py [--rows 2000000] [--copies 8] [--sample 50000] [--work /tmp/bds]

Simulated card payments with a 1 % feature-trigger backdoor (``rows`` of them), the data rows repeated
``copies`` times into one CSV, then the CLI once per executor: serial, ``--jobs 2`` and a two-worker Dask
``LocalCluster``. Peak memory is GNU time's maximum resident set of the ``clearsight`` process (Dask workers
are separate processes and not included; the serial and ``--jobs`` runs read in the measured process or its
children). The reports must be identical apart from their timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def build(work: Path, rows: int, copies: int) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from clearsight.data import simulate as sim

    work.mkdir(parents=True, exist_ok=True)
    target = work / f"payments-{rows}x{copies}.csv"
    if target.exists():
        return target
    one = work / "one.csv"
    data = sim.feature_backdoor(sim.transactions(rows=rows, seed=5), 0.01, seed=6)
    pacsv.write_csv(pa.table(data.columns), one)
    with one.open("rb") as src, target.open("wb") as out:
        header = src.readline()
        body = src.read()
        out.write(header)
        for _ in range(copies):
            out.write(body)
    one.unlink()
    return target


def run(data: Path, sample: int, extra: list[str], out: Path) -> dict[str, object]:
    command = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "clearsight", "data", "check", str(data),
               "--label", "is_fraud", "--sample", str(sample), "--no-effect", "--format", "json", "-o", str(out),
               *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    report = json.loads(out.read_text())
    report.pop("seconds", None)
    return {"seconds": round(seconds, 1), "peak_mb": int(proc.stderr.strip().splitlines()[-1]) // 1024,
            "rows": report["data"]["sampled_from"], "report": report}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bds"))
    args = parser.parse_args()
    data = build(args.work, args.rows, args.copies)
    print(f"{data}: {data.stat().st_size / 1e9:.2f} GB")
    results = {"serial": run(data, args.sample, [], args.work / "serial.json"),
               "--jobs 2": run(data, args.sample, ["--jobs", "2"], args.work / "jobs.json")}
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        results["dask, 2 workers"] = run(data, args.sample, ["--executor", f"dask://{address}"],
                                         args.work / "dask.json")
    reference = results["serial"]["report"]
    print("| executor | rows read | seconds | peak MB (clearsight process) | report equals serial |")
    print("|---|---:|---:|---:|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rows']:,} | {r['seconds']} | {r['peak_mb']} | {r['report'] == reference} |")


if __name__ == "__main__":
    main()

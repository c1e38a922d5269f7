"""Benchmark: assessing generated portfolios of 1k-10k systems (time, peak memory, linearity).

    python benchmarks/bench_assess.py [--sizes 1000,2500,5000,10000] [--repeat 3]

Each size runs in a fresh process, so peak RSS (ru_maxrss) is that run's own. Two measurements:
  pipeline  - the four pure steps on systems already in memory (what the target is about)
  end-to-end - `clearsight assess FOLDER --format json -o FILE`: YAML parsing, validation, the
               pipeline and writing the JSON report, as a user runs it.
Target (issue #2): 10,000 systems in at most 10 s and 2 GB on the 2-core machine, cost linear in N.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import datetime as dt, json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from portfolio import generate
from clearsight.assess.pipeline import assess
from clearsight.core.assessment import AssessmentSettings
from clearsight.core.system import AISystem
from clearsight.evidence.attestations import collect_attestations
from clearsight.frameworks.bundle import load_catalogues
from clearsight.runner import collector_paused

count, mode = int(sys.argv[1]), sys.argv[2]
cats = load_catalogues()
systems = [AISystem.model_validate(d) for d in generate(count)["systems"]]
settings = AssessmentSettings(as_of=dt.date(2026, 11, 26), eu_ai_act_calendar="digital-omnibus-2026",
                              capacity_days=[400, 400, 400])
start = time.perf_counter()
with collector_paused():  # as clearsight.runner.assess_path does
    result = assess(organisation="Bench", inventory_path="-", systems=systems,
                    evidence=collect_attestations(systems), catalogues=cats, settings=settings,
                    generated_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
elapsed = time.perf_counter() - start
gaps = sum(len(r.gaps) for r in result.systems)
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "gaps": gaps}))
"""


def pipeline(count: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(count), "pipeline", str(HERE)],
                         capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def end_to_end(count: int, folder: Path) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    from portfolio import write

    write(count, folder)
    report = folder / "assessment.json"
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "clearsight", "assess", str(folder),
         "--format", "json", "-o", str(report)],
        capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return {"seconds": elapsed, "rss_mb": rss_kb / 1024, "report_mb": report.stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{'systems':>8} {'pipeline s':>11} {'µs/system':>10} {'peak MB':>8} | {'end-to-end s':>13} "
          f"{'peak MB':>8} {'report MB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            runs = [pipeline(n) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["seconds"])
            e2e = [end_to_end(n, Path(tmp) / str(n)) for _ in range(args.repeat)]
            e2e_best = min(e2e, key=lambda r: r["seconds"])
            median = statistics.median(r["seconds"] for r in runs)
            print(f"{n:>8} {median:>11.2f} {median / n * 1e6:>10.0f} {best['rss_mb']:>8.0f} | "
                  f"{statistics.median(r['seconds'] for r in e2e):>13.2f} {e2e_best['rss_mb']:>8.0f} "
                  f"{e2e_best['report_mb']:>10.1f}")


if __name__ == "__main__":
    main()

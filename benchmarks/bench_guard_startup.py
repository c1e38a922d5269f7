"""What adding the guard costs a service before its first request: import time, memory and objects (issue #5).

    python benchmarks/bench_guard_startup.py [--runs 7] [--baseline SRC_DIR]

Each run is a fresh interpreter that imports FastAPI, builds the benchmark's scoring app (``guard_bench_app``),
then imports ``clearsight.guard`` and wraps the app in ``ModelGuard`` with the ``guard`` policy of
``bench_guard_latency.py`` (limits in memory, JSONL audit, metrics, no extraction detection, no webhook). It
reports what the guard added: wall time of the import and the construction, resident memory (VmRSS from
/proc), objects the garbage collector tracks (every full collection walks them all) and modules loaded, plus
whether SQLAlchemy, httpx and NumPy were loaded. ``--baseline SRC_DIR`` runs the same with another revision's
package first on the path (``git worktree add /tmp/old <commit>`` then ``--baseline /tmp/old/src``),
alternating old and new run by run. Medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_guard_latency import POLICY

HERE = Path(__file__).resolve().parent
HEAVY = ("sqlalchemy", "httpx", "numpy")

CHILD = """
import gc, json, sys, time
from pathlib import Path

def rss_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

def state():
    gc.collect()
    return {"rss_kb": rss_kb(), "objects": len(gc.get_objects()), "modules": len(sys.modules)}

import guard_bench_app
app = guard_bench_app.make_app()
before = state()
started = time.perf_counter()
from clearsight.guard import ModelGuard
guarded = ModelGuard(app, policy=sys.argv[1])
seconds = time.perf_counter() - started
after = state()
print(json.dumps({"seconds": seconds, **{k: after[k] - before[k] for k in before},
                  "loaded": [name for name in sys.argv[2].split(",") if name in sys.modules]}))
"""

def run_once(policy: Path, src: Path | None) -> dict[str, float | list[str]]:
    path = [str(HERE)] if src is None else [str(src), str(HERE)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(policy), ",".join(HEAVY)], env=env, capture_output=True,
                         text=True, check=True).stdout
    result: dict[str, float | list[str]] = json.loads(out.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another revision's src directory, run alternately")
    args = parser.parse_args()
    variants: dict[str, Path | None] = {"this revision": None}
    if args.baseline is not None:
        variants["baseline"] = args.baseline.resolve()
    with tempfile.TemporaryDirectory() as work:
        policy = Path(work) / "guard.yaml"
        policy.write_text(POLICY.format(storage="memory://", audit=Path(work) / "audit.jsonl", extraction=""))
        runs: dict[str, list[dict[str, float | list[str]]]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, src in variants.items():
                runs[name].append(run_once(policy, src))
    print(f"medians over {args.runs} fresh interpreters; what importing clearsight.guard and building ModelGuard "
          "added\n")
    print("| variant | seconds | RSS | tracked objects | modules | loaded of " + ", ".join(HEAVY) + " |")
    print("|---|---:|---:|---:|---:|---|")
    for name, results in runs.items():
        def median(key: str, results: list[dict[str, float | list[str]]] = results) -> float:
            return statistics.median(float(r[key]) for r in results)  # type: ignore[arg-type]
        loaded = ", ".join(results[-1]["loaded"]) or "none"  # type: ignore[arg-type]
        print(f"| {name} | {median('seconds'):.3f} | {median('rss_kb') / 1024:.1f} MB | {median('objects'):,.0f} | "
              f"{median('modules'):.0f} | {loaded} |")


if __name__ == "__main__":
    main()

"""Benchmark: the cost of one ``ExtractionMonitor.observe`` call, the part of the guard's budget it takes.

    python benchmarks/bench_extraction_observe.py [--blocks 20] [--block 100] [--repeats 3]
                                                 [--baseline DIR] [--json FILE]

Four setups at d = 10 (a heavy-tailed amount, whole-numbered counts and hours, a 0/1 flag, continuous
features, and with ``reference`` a merchant code as categorical feature), answers mostly clear negatives with
2 % positives and 1 % near the threshold, so that nothing fires:

  reference  a 2,000-row reference sample and ``categorical=(1,)``, as a policy with a reference sample has;
  traffic    the same sample as reference but every feature numeric, as a monitor that learned its reference
             from traffic has;
  rotating   3,000 queries from 50 clients in turn, the last 2,000 timed (60 queries a client: small windows);
  full       one client whose 2,000-vector PRADA window is full, 2,000 calls timed after 8,000.

Timed calls run in blocks; with ``--baseline DIR`` (a copy of ``src/clearsight/guard/extraction`` from another
revision, e.g. extracted with ``git archive``) the baseline's monitor gets the same queries and the blocks
alternate between the two, so that drifts in machine load hit both alike. Reported per setup and package:
p50 (median over blocks of the block median), the quietest block's median, p99 over all calls and the mean
CPU time per call (which includes the Shapiro-Wilk test every tenth query of a full window).
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

D = 10


def natural(n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.empty((n, D))
    x[:, 0] = rng.lognormal(4.0, 1.2, n)  # amount
    x[:, 1] = rng.integers(0, 20, n)  # merchant code
    x[:, 2] = rng.integers(0, 24, n)  # hour
    x[:, 3] = rng.poisson(3, n)  # count
    x[:, 4] = rng.normal(0, 1, n)
    x[:, 5] = rng.normal(5, 2, n)
    x[:, 6] = rng.integers(0, 2, n)  # flag
    x[:, 7] = rng.exponential(1.0, n)
    x[:, 8] = rng.normal(0, 10, n)
    x[:, 9] = rng.uniform(0, 1, n)
    return x


def answers(n: int, rng: np.random.Generator) -> np.ndarray:
    r = rng.random(n)
    return np.where(r < 0.97, rng.uniform(0, 0.1, n),
                    np.where(r < 0.99, rng.uniform(0.8, 1, n), rng.uniform(0.35, 0.65, n)))


def load_baseline(directory: Path) -> ModuleType:
    """Import a copy of the extraction package from ``directory`` as ``extraction_baseline``."""
    root = Path(tempfile.mkdtemp(prefix="extraction_baseline_"))
    target = root / "extraction_baseline"
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns("__pycache__"))
    for source in target.glob("*.py"):
        source.write_text(source.read_text().replace("clearsight.guard.extraction", "extraction_baseline"))
    sys.path.insert(0, str(root))
    return importlib.import_module("extraction_baseline")


def monitor(package: ModuleType, config: str) -> Any:
    sample = tuple(map(tuple, natural(2000, np.random.default_rng(0))))
    categorical = (1,) if config == "reference" else ()
    return package.ExtractionMonitor(package.ExtractionSettings(reference=sample, categorical=categorical), D)


def run(packages: dict[str, ModuleType], config: str, mode: str, blocks: int, block: int) -> dict[str, Any]:
    timed = blocks * block
    n = timed + (1000 if mode == "rotating" else 8000)
    clients = [f"c{i % 50}" for i in range(n)] if mode == "rotating" else ["speed"] * n
    rng = np.random.default_rng(1)
    x, p = natural(n, rng), answers(n, rng)
    monitors = {name: monitor(package, config) for name, package in packages.items()}
    for m in monitors.values():
        for i in range(n - timed):
            m.observe(clients[i], x[i], float(p[i]))
    times: dict[str, list[float]] = {name: [] for name in monitors}
    medians: dict[str, list[float]] = {name: [] for name in monitors}
    cpu = dict.fromkeys(monitors, 0)
    names = list(monitors)
    for b, start in enumerate(range(n - timed, n, block)):
        for name in names if b % 2 == 0 else names[::-1]:
            m, spent = monitors[name], []
            cpu_start = time.thread_time_ns()
            for i in range(start, start + block):
                started = time.perf_counter_ns()
                m.observe(clients[i], x[i], float(p[i]))
                spent.append((time.perf_counter_ns() - started) / 1000)
            cpu[name] += time.thread_time_ns() - cpu_start
            times[name].extend(spent)
            medians[name].append(statistics.median(spent))
    out = {}
    for name in monitors:
        ordered = sorted(times[name])
        out[name] = {"p50_us": statistics.median(medians[name]), "quiet_us": min(medians[name]),
                     "p99_us": ordered[int(len(ordered) * 0.99)], "cpu_mean_us": cpu[name] / timed / 1000}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1, help="runs per setup; medians are reported")
    parser.add_argument("--baseline", type=Path, help="directory holding another revision's extraction package")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    packages = {"current": importlib.import_module("clearsight.guard.extraction")}
    if args.baseline is not None:
        packages = {"baseline": load_baseline(args.baseline), **packages}
    report: dict[str, Any] = {}
    for config in ("reference", "traffic"):
        for mode in ("rotating", "full"):
            runs = [run(packages, config, mode, args.blocks, args.block) for _ in range(args.repeats)]
            setup = report[f"{config}/{mode}"] = {
                name: {key: statistics.median(r[name][key] for r in runs) for key in runs[0][name]}
                for name in packages
            }
            line = "  ".join(f"{name}: p50 {v['p50_us']:5.1f} quiet {v['quiet_us']:5.1f} p99 {v['p99_us']:6.1f} "
                             f"cpu-mean {v['cpu_mean_us']:5.1f} µs" for name, v in setup.items())
            print(f"{config:9} {mode:8} {line}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The guard's CPU per request as instruction counts, feature by feature (issue #5).

    python benchmarks/bench_guard_instructions.py [--requests 1000] [--variants "full,no audit"]

Why instructions: on this 2-core VM timings of the same code drift by 10-50 % within minutes, which hides the
tens of microseconds an optimisation is worth. ``valgrind --tool=callgrind`` counts the instructions the
process executes (every thread, the audit writer included), so the same code gives the same count within about
2 %, whatever else the machine is doing. Each variant runs in its own child process under callgrind with
counting off; the child warms the guard up (300 requests), switches counting on for itself with
``callgrind_control``, drives ``--requests`` requests through ``ModelGuard`` in-process (the app, policy and
bodies of ``bench_guard_cpu.py``), closes the guard (flushing the audit log) and switches counting off. About
45 s per variant. Needs ``valgrind`` (Debian package).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP = 300


async def _drive(variant: str, requests: int) -> None:
    """Runs inside the child under callgrind."""
    sys.path.insert(0, str(HERE))
    import bench_guard_cpu as cpu

    from clearsight.guard import ModelGuard

    def counting(state: str) -> None:
        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True, check=False)

    with tempfile.TemporaryDirectory() as work:
        guard = ModelGuard(cpu.app, policy=cpu.policy(variant, Path(work) / "audit.jsonl"))
        for i in range(WARM_UP):
            await cpu.request(guard, i % 50, cpu.BODIES[i])
        counting("on")
        for i in range(WARM_UP, WARM_UP + requests):
            await cpu.request(guard, i % 50, cpu.BODIES[i % len(cpu.BODIES)])
        await guard.guard.aclose()
        counting("off")


def measure(variant: str, requests: int) -> float:
    """Instructions per request for one variant, from a child process under callgrind."""
    with tempfile.TemporaryDirectory() as work:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={work}/cg.out",
             sys.executable, __file__, "--child", variant, "--requests", str(requests)],
            capture_output=True, text=True, check=False,
        )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed for {variant!r}: {run.stderr[-2000:]}")
    return int(found.group(1)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--variants", default="full,no limits,no audit,no metrics,no output review,none of them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_drive(args.child, args.requests))
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    print(f"{args.requests} requests per variant after {WARM_UP} unmeasured ones\n")
    print("| variant | instructions per request |\n|---|---:|")
    for variant in args.variants.split(","):
        print(f"| {variant} | {measure(variant, args.requests):,.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""Instructions per request inside a real server, bare app and guarded (issue #5).

    python benchmarks/bench_guard_server_instructions.py [--seconds 60] [--connections 4]
                                                         [--variants bare,guard,plumbing] [--gc-freeze]

Why: wall-clock throughput on this 2-core VM drifts by 10-50 % within minutes; instruction counts do not. Each
variant is ``uvicorn`` serving ``guard_bench_app`` (the FastAPI scoring app of ``bench_guard_latency.py``) under
``valgrind --tool=callgrind`` with counting off; after a 10 s warm-up, counting is switched on for ``--seconds``
of ``wrk`` load (natural payments, 50 rotating API keys) and off again, and the instructions of every thread of
the server are divided by the requests ``wrk`` completed. Variants:

  bare       the app alone
  guard      behind ModelGuard with ``bench_guard_latency.py``'s policy (limits, input, output rounding, JSONL
             audit, metrics)
  plumbing   behind ModelGuard with a route that only reads the input (no limits, audit, metrics or output)

Under callgrind the server answers ~20 requests a second, so periodic work weighs more per request than at
full speed (the audit writer, waking every 0.2 s, writes batches of a few records instead of ~100). Needs
``valgrind`` and ``wrk`` (Debian packages); about three minutes per variant.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_guard_latency as latency  # noqa: E402  # the app, policy, wrk script and helpers

PLUMBING = ("audit: {enabled: false}\nmetrics: {enabled: false}\n"
            "routes:\n  - path: /v1/score\n    input: {paths: $.features}\n")
FREEZE = "import gc, guard_bench_app as g\napp = g.{name}\ngc.collect()\ngc.freeze()\n"


def measure(app: str, env: dict[str, str], seconds: int, connections: int, script: Path, work: Path) -> float:
    port = latency.free_port()
    out = work / f"callgrind.{app.replace(':', '-')}"
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p", sys.executable,
         "-m", "uvicorn", app, "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while True:  # valgrind starts the interpreter slowly
            try:
                latency.wait_up(port, server)
                break
            except RuntimeError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
        latency.wrk(port, connections, 10, script)  # warm-up, not counted
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], capture_output=True, check=False)
        loaded = latency.wrk(port, connections, seconds, script)
        subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], capture_output=True, check=False)
        subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True, check=False)
        time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=120)
    totals = [int(m.group(1)) for path in glob.glob(f"{out}.*")
              if (m := re.search(r"^totals:\s+(\d+)", Path(path).read_text(errors="replace"), re.M))]
    if not totals or loaded["requests"] == 0 or loaded["non2xx"]:
        raise RuntimeError(f"no usable count for {app}: totals {totals}, wrk {loaded}")
    return max(totals) / loaded["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--variants", default="bare,guard,plumbing")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the app is built")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guard-server-instructions-"))
    script = work / "post.lua"
    script.write_text(latency.lua_script())
    policies = {
        "guard": latency.POLICY.format(storage="memory://", audit=work / "audit.jsonl", extraction=""),
        "plumbing": PLUMBING,
    }
    for name, text in policies.items():
        (work / f"{name}.yaml").write_text(text)
    print(f"{args.seconds} s of wrk -c{args.connections} per variant under callgrind"
          f"{', gc.freeze() after start-up' if args.gc_freeze else ''}\n")
    print("| variant | instructions per request |\n|---|---:|")
    for variant in args.variants.split(","):
        attribute = "bare" if variant == "bare" else "guarded"
        env = {**os.environ, "PYTHONPATH": str(HERE)}
        if variant != "bare":
            env["GUARD_BENCH_POLICY"] = str(work / f"{variant}.yaml")
        app = f"guard_bench_app:{attribute}"
        if args.gc_freeze:
            (work / "frozen_app.py").write_text(FREEZE.format(name=attribute))
            env["PYTHONPATH"] = f"{work}{os.pathsep}{HERE}"
            app = "frozen_app:app"
        count = measure(app, env, args.seconds, args.connections, script, work)
        print(f"| {variant} | {count:,.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: ``clearsight discover`` against cdxgen (ML-BOM) and Trusera ai-bom, in one run (issue #4).

    python benchmarks/bench_discover.py [--runs 3] [--aibom-runs 1] [--target-files 10000] [--work DIR] [--json FILE]

Everything is prepared outside the repository, under ``--work`` (default /tmp/clearsight-bench-discover):

  anchors  ``npm install --prefix WORK/cdxgen @cyclonedx/cdxgen@12`` (local prefix, no global install; > 8 min or a
           failure is recorded as "not available") and a venv ``WORK/aibom-venv`` with ``pip install ai-bom``
           (Trusera's AI-BOM, CLI ``ai-bom``). Nothing is added to the project's dependencies.
  tree     ``WORK/tree``: copies of the folders of big installed packages from this interpreter's site-packages
           (sklearn, scipy, numpy, pandas, sympy, botocore, dask, awscli, torch, in that order, until
           ``--target-files`` files) plus the repo's ``examples/fraud-detection``. Directories Clearsight excludes by
           default (``__pycache__``, ``build``, ``dist``, ``.git``, ``node_modules``...) are left out of the copy and
           symlinks are copied as files, so every tool sees the same files: the count quoted is the number of
           regular files in the tree (``os.walk``), which equals the files Clearsight's walker yields.
  warm-up  ``python -m compileall`` over the installed package first, as ``pip install`` does: an editable install
           run with ``PYTHONDONTWRITEBYTECODE`` set (as on some of these machines) otherwise compiles every module
           from source on every start, in the command and in its workers (~0.1 s of a run's start-up). Then one
           untimed run on the example, which caches the compiled gate words as any first run does.
  timings  wall clock of one CLI invocation per tool (median of ``--runs``), output to a file in WORK. The runs are
           interleaved (round 1 runs every tool once, then round 2...), so the host's drift over the minutes of
           a run hits every tool alike. Clearsight serial on the tree; ``--jobs 2`` on the tree (its files split
           across two workers); the tree's top-level folders as separate PATHs serially and with ``--jobs 2``;
           cdxgen ``-t ai --profile ml`` with dependency installs and licence fetching off; ai-bom ``scan --deep``.
The ratio quoted is Clearsight files/s over cdxgen files/s. Target (issue #4): >= 2x cdxgen on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLE = REPO / "examples" / "fraud-detection"
CANDIDATES = ["sklearn", "scipy", "numpy", "pandas", "sympy", "botocore", "dask", "awscli", "torch"]
INSTALL_TIMEOUT = 8 * 60
RUN_TIMEOUT = 15 * 60

try:
    from clearsight.discover.walk import DEFAULT_EXCLUDED_DIRS as EXCLUDED
except ImportError:  # pragma: no cover - the benchmark is meant to run in the project's environment
    EXCLUDED = frozenset({".git", "node_modules", ".venv", "site-packages", "dist-packages", "__pycache__", "dist",
                          "build", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".clearsight",
                          ".eggs"})


def log(msg: str) -> None:
    print(f"[bench_discover] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
        rc, out = p.returncode, (p.stdout + p.stderr)
    except subprocess.TimeoutExpired:
        rc, out = -1, f"timeout after {timeout:.0f} s"
    except OSError as exc:
        rc, out = -2, str(exc)
    return rc, time.perf_counter() - t0, out


# ---------------------------------------------------------------- anchors
def install_cdxgen(work: Path) -> dict[str, Any]:
    prefix = work / "cdxgen"
    exe = prefix / "node_modules" / ".bin" / "cdxgen"
    if not exe.exists():
        if not shutil.which("npm"):
            return {"available": False, "why": "npm not found on PATH"}
        prefix.mkdir(parents=True, exist_ok=True)
        log("npm install @cyclonedx/cdxgen@12 (local prefix)")
        rc, secs, out = run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                             "@cyclonedx/cdxgen@12"], timeout=INSTALL_TIMEOUT)
        if rc != 0 or not exe.exists():
            return {"available": False, "why": f"npm install failed (rc={rc}, {secs:.0f} s): {out.strip()[-300:]}"}
    rc, _, out = run([str(exe), "--version"], timeout=120)
    version = next((line.split()[-1] for line in out.splitlines() if "CycloneDX Generator" in line), "?")
    version = version.replace("\x1b[0m", "").replace("\x1b[1m", "")
    return {"available": rc == 0, "exe": str(exe), "version": version,
            "why": "" if rc == 0 else out.strip()[-300:]}


def install_aibom(work: Path) -> dict[str, Any]:
    venv = work / "aibom-venv"
    exe = venv / "bin" / "ai-bom"
    if not exe.exists():
        log("venv + pip install ai-bom")
        rc, _, out = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
        if rc != 0:
            return {"available": False, "why": f"venv failed: {out.strip()[-300:]}"}
        rc, secs, out = run([str(venv / "bin" / "pip"), "install", "-q", "ai-bom"], timeout=INSTALL_TIMEOUT)
        if rc != 0 or not exe.exists():
            return {"available": False, "why": f"pip install ai-bom failed (rc={rc}, {secs:.0f} s): "
                                               f"{out.strip()[-300:]}"}
    rc, _, out = run([str(venv / "bin" / "python"), "-c",
                      "import importlib.metadata as m; print(m.version('ai-bom'))"], timeout=60)
    return {"available": rc == 0, "exe": str(exe), "version": out.strip() if rc == 0 else "?",
            "why": "" if rc == 0 else out.strip()[-300:]}


# ---------------------------------------------------------------- tree
def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in EXCLUDED}


def count_files(root: Path) -> int:
    n = 0
    for _, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in EXCLUDED]
        n += len(files)
    return n


def build_tree(work: Path, target: int) -> tuple[Path, list[str]]:
    tree = work / "tree"
    manifest = work / "tree.json"
    if tree.exists() and manifest.exists() and json.loads(manifest.read_text()).get("target") == target:
        return tree, json.loads(manifest.read_text())["parts"]
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    site = Path(sysconfig.get_paths()["purelib"])
    parts: list[str] = []
    total = 0
    for name in CANDIDATES:
        if total >= target:
            break
        src = site / name
        if not src.is_dir():
            continue
        n = count_files(src)
        if name == "torch" and total + n > target * 1.5:
            continue  # torch alone is ~14k files: only when the others are missing
        log(f"copy {name} ({n} files)")
        shutil.copytree(src, tree / name, symlinks=False, ignore=_ignore, ignore_dangling_symlinks=True)
        parts.append(name)
        total += n
    shutil.copytree(EXAMPLE, tree / "fraud-detection", symlinks=False, ignore=_ignore,
                    ignore_dangling_symlinks=True)
    parts.append("fraud-detection")
    manifest.write_text(json.dumps({"target": target, "parts": parts}))
    return tree, parts


# ---------------------------------------------------------------- timing
def clearsight_cmd() -> list[str]:
    exe = shutil.which("clearsight")
    return [exe] if exe else [sys.executable, "-m", "clearsight"]


def prepare_clearsight(cmd: list[str], out: Path) -> None:
    """What a user's installation has after its first run: every module's bytecode (as ``pip install`` writes
    it; see the module docstring) and the compiled gate words in the cache (a test session or another version
    replaces them; compiling them again is ~0.5 s of the next run). One untimed run on the example does that."""
    import clearsight

    package = Path(clearsight.__file__).resolve().parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    subprocess.run([*cmd, "discover", str(EXAMPLE), "--format", "json", "-o", str(out / "warm-up.json")],
                   check=True, capture_output=True)
    log(f"bytecode compiled under {package}; one run on {EXAMPLE.name} to warm the cache")


def tool(label: str, cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    return {"label": label, "cmd": cmd, "env": env, "times": [], "median": None, "note": ""}


def time_rounds(tools: list[dict[str, Any]], runs: int) -> None:
    """``runs`` rounds, each running every tool once (a tool that failed is not run again); medians per tool."""
    for i in range(runs):
        for entry in tools:
            if entry["note"]:
                continue
            rc, secs, out = run(entry["cmd"], timeout=RUN_TIMEOUT, env=entry["env"])
            log(f"{entry['label']} run {i + 1}: rc={rc} {secs:.2f} s")
            if rc != 0:
                entry["note"] = f"rc={rc}: {out.strip()[-400:]}"
                continue
            entry["times"].append(secs)
    for entry in tools:
        entry["median"] = statistics.median(entry["times"]) if entry["times"] else None
        entry.pop("env")


def short(cmd: list[str], work: Path) -> str:
    text = " ".join(cmd)
    return text.replace(str(work) + "/", "$W/").replace(str(work), "$W")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--target-files", type=int, default=10000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/clearsight-bench-discover"))
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--skip-anchors", action="store_true", help="time Clearsight only")
    ap.add_argument("--skip-aibom", action="store_true", help="leave out ai-bom (about 3 minutes a run here)")
    ap.add_argument("--aibom-runs", type=int, help="runs of ai-bom (default: --runs); its median is of these")
    ap.add_argument("--quick", action="store_true",
                    help="Clearsight serial and split --jobs 2 only (skip 1-root --jobs 2 and split serial)")
    args = ap.parse_args()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    out.mkdir(exist_ok=True)

    cdx = {"available": False, "why": "skipped"} if args.skip_anchors else install_cdxgen(work)
    aib = {"available": False, "why": "skipped"} if args.skip_anchors or args.skip_aibom else install_aibom(work)
    tree, parts = build_tree(work, args.target_files)
    nfiles = count_files(tree)
    log(f"tree {tree}: {nfiles} files in {len(parts)} top-level folders")

    cs = clearsight_cmd()
    prepare_clearsight(cs, out)
    split = [str(tree / p) for p in parts]
    results = [tool("Clearsight, 1 root, serial",
                    [*cs, "discover", str(tree), "--format", "json", "-o", str(out / "cs1.json")])]
    if not args.quick:
        results.append(tool("Clearsight, 1 root, --jobs 2",
                            [*cs, "discover", str(tree), "--format", "json", "-o", str(out / "cs2.json"),
                             "--jobs", "2"]))
        results.append(tool(f"Clearsight, {len(parts)} roots, serial",
                            [*cs, "discover", *split, "--format", "json", "-o", str(out / "cs3.json")]))
    results.append(tool(f"Clearsight, {len(parts)} roots, --jobs 2",
                        [*cs, "discover", *split, "--format", "json", "-o", str(out / "cs4.json"), "--jobs", "2"]))
    anchors: list[dict[str, Any]] = []
    if cdx["available"]:
        env = dict(os.environ, FETCH_LICENSE="false", CDXGEN_TELEMETRY="false", CDXGEN_NO_BANNER="true",
                   NODE_NO_WARNINGS="1")
        anchors.append(tool(f"cdxgen {cdx['version']}",
                            [cdx["exe"], "-t", "ai", "--profile", "ml", "--no-install-deps", "-o",
                             str(out / "cdxgen.json"), str(tree)], env))
    time_rounds(results + anchors, args.runs)
    results += anchors
    if not cdx["available"]:
        results.append({"label": "cdxgen", "cmd": [], "times": [], "median": None,
                        "note": f"not available: {cdx['why']}"})
    if aib["available"]:
        env = dict(os.environ, AI_BOM_TELEMETRY="false")
        slow = [tool(f"ai-bom {aib['version']}",
                     [aib["exe"], "scan", str(tree), "--deep", "--format", "json", "-o", str(out / "aibom.json"),
                      "--quiet", "--no-telemetry"], env)]
        time_rounds(slow, args.aibom_runs or args.runs)  # minutes a run: after the others, not between them
        results += slow
    else:
        results.append({"label": "ai-bom", "cmd": [], "times": [], "median": None,
                        "note": f"not available: {aib['why']}"})

    cdx_rate = next((nfiles / r["median"] for r in results if r["label"].startswith("cdxgen") and r["median"]),
                    None)
    print(f"\nTree: {nfiles:,} files ({', '.join(parts)}) under `$W/tree`, $W = {work}; "
          f"{os.cpu_count()} CPUs; median of {args.runs} runs"
          + (f" ({args.aibom_runs} of ai-bom)" if args.aibom_runs and aib["available"] else "") + ".\n")
    print("| Tool | Command | Median s | Runs (s) | Files/s | vs cdxgen |")
    print("|---|---|---:|---|---:|---:|")
    for r in results:
        cmd = short(r["cmd"], work).replace(" ".join(split).replace(str(work) + "/", "$W/"),
                                            "$W/tree/<each top-level folder>")
        if r["median"]:
            rate = nfiles / r["median"]
            ratio = f"{rate / cdx_rate:.2f}x" if cdx_rate else "n/a"
            runs = ", ".join(f"{t:.2f}" for t in r["times"])
            print(f"| {r['label']} | `{cmd}` | {r['median']:.2f} | {runs} | {rate:,.0f} | {ratio} |")
        else:
            print(f"| {r['label']} | `{cmd}` | - | - | - | {r['note'][:200]} |")
    if args.json:
        args.json.write_text(json.dumps({"files": nfiles, "parts": parts, "cpus": os.cpu_count(),
                                         "anchors": {"cdxgen": cdx, "ai-bom": aib}, "results": results},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

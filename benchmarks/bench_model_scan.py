"""Benchmark: Clearsight's model scanner against picklescan, modelscan and fickling, in one run (issue #3).

    python benchmarks/bench_model_scan.py [--skip-big] [--json FILE] [--runs 3] [--startup-runs 10]

The three other scanners are installed only in ``benchmarks/.venv-anchors`` (created here with
``python -m venv`` and pinned versions; nothing is added to the project's dependencies). Clearsight runs the same
way: ``pip install`` of this checkout into its own clean venv, ``benchmarks/.venv-clearsight`` (reinstalled on
every run, so it is the code checked out now, with the bytecode caches pip writes), and its CLI ``clearsight
model scan ... --format json``. Why not this interpreter: its site-packages may run start-up hooks that no user
of a clean install pays (this sandbox's ``.pth`` files cost 20-150 ms per process, more than picklescan's whole
start-up some minutes), which would be counted against Clearsight only. ``--in-place`` uses this interpreter's
CLI (or the library) anyway. Measured, on the same generated corpus (``tests/controls/artifacts/corpus.py``):

  detection  per corpus file and family: Clearsight / picklescan / picklescan --strict / modelscan / fickling.
             picklescan and modelscan run as CLIs on each file; fickling has no folder or zip mode in its
             CLI, so its documented API (``scan_zip_archive`` for zips, ``scan_file`` otherwise) runs in one
             process. A tool "flags" a file when its own verdict says unsafe (picklescan: dangerous globals > 0,
             modelscan: any issue, fickling: an analysis severity above LIKELY_SAFE); a tool that only fails
             to parse is counted as an error, not a detection.
  speed      200 small (~2 KB) benign pickles, one invocation per tool over the folder (median of --runs),
             and the same for 2,000 such files (the per-file rate once start-up is amortised);
             a ~1 GiB torch checkpoint made with torch.save in /tmp and deleted afterwards;
             start-up on one tiny pickle, median of --startup-runs runs of each CLI.
Uses ``hyperfine`` for the timings when it is installed, plain subprocess timing otherwise.
Targets: detect everything the three detect together with no false positive on benign ML files; at least
3x picklescan's files/s; start-up under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-anchors"
CLEARSIGHT_VENV = HERE / ".venv-clearsight"
IN_PLACE = False  # --in-place: this interpreter's CLI instead of the clean venv
ANCHOR_PINS = {"picklescan": "1.0.5", "modelscan": "0.8.8", "fickling": "0.1.12"}
# fickling 0.1.12 imports typing_extensions without declaring it, and its format detection (fickling.polyglot,
# the fickling[torch] extra) needs torch: the CPU build pinned for this project.
ANCHOR_EXTRAS = {"typing_extensions": "", "torch": "2.13.0"}
MANY = 2000  # a second, larger folder: the per-file rate once start-up is amortised
TOOLS = ["clearsight", "picklescan", "picklescan --strict", "modelscan", "fickling"]

sys.path.insert(0, str(REPO / "tests" / "controls" / "artifacts"))
import corpus  # noqa: E402

FICKLING_DRIVER = r"""
# Detection (argv[1] == "route"): fickling's own routing for a folder of model files, as in
# fickling.cli._scan_huggingface, on local files (fickling.polyglot needs torch). Timing (argv[1] == "plain"):
# scan_zip_archive for zips, scan_file for everything else, without importing torch.
import json, os, sys, zipfile
from pathlib import PurePosixPath
from fickling.analysis import Severity
from fickling.cli import HF_RAW_PICKLE_EXTENSIONS, HF_ZIP_PICKLE_EXTENSIONS
from fickling.loader import scan_file, scan_zip_archive

ROUTE = sys.argv[1] == "route"
if ROUTE:
    from fickling.polyglot import find_file_properties

def files(target):
    if os.path.isdir(target):
        for folder, _, names in sorted(os.walk(target)):
            for name in sorted(names):
                yield os.path.join(folder, name)
    else:
        yield target

out = {}
for target in json.load(sys.stdin):
    unsafe, errors, count = False, [], 0
    for path in files(target):
        try:
            ext = PurePosixPath(path).suffix.lower()
            if not ROUTE:
                zipped, raw = zipfile.is_zipfile(path), True
            else:
                props = find_file_properties(path)
                zipped = props["is_torch_zip"] or props["is_standard_zip"] or ext in HF_ZIP_PICKLE_EXTENSIONS
                raw = props["is_valid_pickle"] or ext in HF_RAW_PICKLE_EXTENSIONS
            if zipped:
                results = list(scan_zip_archive(path, graceful=True).values())
            elif raw:
                results = [scan_file(path, graceful=True)]
            else:
                continue  # fickling skips tar, 7z, NumPy and unknown extensions
        except Exception as exc:  # a crash of the tool is an error result, like any other
            errors.append(f"{type(exc).__name__}: {exc}"[:160])
            continue
        count += 1
        for result in results:
            if any(a.severity > Severity.LIKELY_SAFE for a in result.results):
                unsafe = True
            errors.extend(e[:160] for e in result.errors)
    out[target] = {"flagged": unsafe, "error": bool(errors) and not unsafe, "scanned": count,
                   "note": "; ".join(errors[:2])}
json.dump(out, sys.stdout)
"""

CLEARSIGHT_LIBRARY = r"""
import sys
from pathlib import Path
from clearsight.controls.artifacts.policy import default_policy
from clearsight.controls.artifacts.scan import scan_paths
report = scan_paths([Path(p) for p in sys.argv[2:]], policy=default_policy())
Path(sys.argv[1]).write_text(report.model_dump_json())
"""


# ------------------------------------------------------------------------------------------------ environment


def venv_bin(name: str) -> Path:
    return VENV / "bin" / name


def ensure_anchor_venv() -> dict[str, str]:
    """Create ``benchmarks/.venv-anchors`` with the pinned scanners if needed; returns installed versions."""
    if not venv_bin("python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in %r}))"
    names = [*ANCHOR_PINS, *ANCHOR_EXTRAS]

    def installed() -> dict[str, str]:
        out = subprocess.run([str(venv_bin("python")), "-c", probe % names], capture_output=True, text=True)
        return dict(json.loads(out.stdout)) if out.returncode == 0 else {}

    versions = installed()
    wanted = {**ANCHOR_PINS, **ANCHOR_EXTRAS}
    if any(n not in versions or (v and not versions[n].startswith(v)) for n, v in wanted.items()):
        pins = [f"{n}=={v}" if v else n for n, v in wanted.items()]
        subprocess.run([str(venv_bin("python")), "-m", "pip", "install", "-q", *pins], check=True)
        versions = installed()
    return versions


def ensure_clearsight_venv() -> None:
    """Install this checkout into ``benchmarks/.venv-clearsight`` (a clean venv, like the anchors' one)."""
    python = CLEARSIGHT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLEARSIGHT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(REPO)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(REPO)],
                   check=True)


def clearsight_cli() -> list[str] | None:
    """The ``clearsight`` console script of the clean venv (or, ``--in-place``, the one next to this interpreter,
    not a pyenv shim), if ``model scan`` works."""
    candidates = ((Path(sys.executable).parent / "clearsight", shutil.which("clearsight")) if IN_PLACE
                  else (CLEARSIGHT_VENV / "bin" / "clearsight",))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            ok = subprocess.run([str(candidate), "model", "scan", "--help"], capture_output=True).returncode == 0
            if ok:
                return [str(candidate)]
    return None


def clearsight_command(paths: Sequence[Path], out: Path) -> list[str]:
    cli = clearsight_cli()
    if cli is not None:
        return [*cli, "model", "scan", *map(str, paths), "--format", "json", "--output", str(out)]
    return [sys.executable, "-c", CLEARSIGHT_LIBRARY, str(out), *map(str, paths)]


# ------------------------------------------------------------------------------------------------ detection


def picklescan_result(path: Path, *, strict: bool) -> dict[str, Any]:
    cmd = [str(venv_bin("picklescan")), "-p", str(path), *(["--strict"] if strict else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    text = proc.stdout + proc.stderr
    dangerous = re.search(r"Dangerous globals: (\d+)", text)
    scanned = re.search(r"Scanned files: (\d+)", text)
    flagged = bool(dangerous and int(dangerous.group(1)) > 0)
    note = next((line for line in text.splitlines() if line.startswith("ERROR") or "exception" in line.lower()), "")
    return {"flagged": flagged, "error": proc.returncode == 2 and not flagged,
            "scanned": int(scanned.group(1)) if scanned else 0, "note": note[:160]}


def modelscan_result(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run([str(venv_bin("modelscan")), "-p", str(path), "-r", "json", "-o", str(out)],
                              capture_output=True, text=True, cwd=tmp)
        if not out.exists():
            return {"flagged": False, "error": True, "scanned": 0, "note": (proc.stderr or proc.stdout)[-160:]}
        data = json.loads(out.read_text())
    issues, errors = data.get("issues") or [], data.get("errors") or []
    scanned = (data.get("summary", {}).get("scanned") or {}).get("total_scanned", 0)
    note = "; ".join(str(e.get("description", e))[:120] for e in errors[:2])
    return {"flagged": bool(issues), "error": bool(errors) and not issues, "scanned": scanned, "note": note}


def fickling_results(paths: Sequence[Path], *, route: bool = True) -> dict[str, dict[str, Any]]:
    mode = "route" if route else "plain"
    proc = subprocess.run([str(venv_bin("python")), "-c", FICKLING_DRIVER, mode],
                          input=json.dumps(list(map(str, paths))), capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout))


def clearsight_files(paths: Sequence[Path]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        subprocess.run(clearsight_command(paths, out), capture_output=True, check=False)
        return list(json.loads(out.read_text())["files"])


def detect(entries: list[corpus.CorpusFile], root: Path) -> list[dict[str, Any]]:
    assert all(e.path is not None for e in entries)
    paths = [e.path for e in entries if e.path is not None]
    files = clearsight_files([root])
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        plain = list(pool.map(lambda p: picklescan_result(p, strict=False), paths))
        strict = list(pool.map(lambda p: picklescan_result(p, strict=True), paths))
        mscan = list(pool.map(modelscan_result, paths))
    fick = fickling_results(paths)
    rows = []
    for entry, ps, pss, ms in zip(entries, plain, strict, mscan, strict=True):
        verdict = corpus.verdict_for(entry, files) or "missing"
        rows.append({"name": entry.name, "label": entry.label, "family": entry.family, "expected": entry.expected,
                     "description": entry.description, "clearsight": verdict, "picklescan": ps,
                     "picklescan --strict": pss, "modelscan": ms, "fickling": fick[str(entry.path)]})
    return rows


def _flagged(row: dict[str, Any], tool: str) -> bool:
    if tool == "clearsight":
        return bool(row["clearsight"] != "clean")
    return bool(row[tool]["flagged"])


def _caught(row: dict[str, Any]) -> bool:
    """Clearsight caught a malicious file: malicious, or the suspicion the corpus accepts for that file."""
    return bool(row["clearsight"] == "malicious" or row["clearsight"] in row["expected"])


def _cell(rows: list[dict[str, Any]], tool: str) -> str:
    n = len(rows)
    if tool == "clearsight":
        if rows[0]["label"] == "malicious":
            caught = sum(_caught(r) for r in rows)
            susp = sum(r["clearsight"] == "suspicious" for r in rows)
            return f"{caught}/{n}" + (f" ({susp} susp.)" if susp else "")
        flagged = sum(r["clearsight"] not in r["expected"] for r in rows)
        return f"{flagged}/{n}"
    flagged = sum(r[tool]["flagged"] for r in rows)
    errors = sum(r[tool]["error"] for r in rows)
    return f"{flagged}/{n}" + (f" ({errors} err)" if errors else "")


def detection_markdown(rows: list[dict[str, Any]]) -> list[str]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["label"], row["family"])].append(row)
    lines = ["| label | family | files | " + " | ".join(TOOLS) + " |", "|---|---|---:|" + "---:|" * len(TOOLS)]
    for (label, family), members in sorted(groups.items(), key=lambda kv: (kv[0][0] != "malicious", kv[0][1])):
        cells = " | ".join(_cell(members, t) for t in TOOLS)
        lines.append(f"| {label} | {family} | {len(members)} | {cells} |")
    malicious = [r for r in rows if r["label"] == "malicious"]
    benign = [r for r in rows if r["label"] == "benign" and r["expected"] == ("clean",)]
    totals = []
    for tool in TOOLS:
        if tool == "clearsight":
            det = sum(_caught(r) for r in malicious)
            fp = sum(r["clearsight"] != "clean" for r in benign)
            err = sum(r["clearsight"] == "error" for r in rows)
        else:
            det = sum(r[tool]["flagged"] for r in malicious)
            fp = sum(r[tool]["flagged"] for r in benign)
            err = sum(r[tool]["error"] for r in rows)
        totals.append(f"{det}/{len(malicious)} det., {fp}/{len(benign)} FP, {err} err")
    lines.append(f"| **total** | | {len(rows)} | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return lines


def union_misses(rows: list[dict[str, Any]]) -> list[str]:
    """Malicious files some other tool flags that Clearsight does not catch."""
    anchors = [t for t in TOOLS if t != "clearsight"]
    out = []
    for row in rows:
        if row["label"] == "malicious" and not _caught(row) and any(row[t]["flagged"] for t in anchors):
            by = ", ".join(t for t in anchors if row[t]["flagged"])
            out.append(f"{row['name']} ({row['clearsight']}; flagged by {by})")
    return out


# ------------------------------------------------------------------------------------------------ speed


def _time_plain(cmd: list[str], runs: int, cwd: Path) -> float:
    subprocess.run(cmd, capture_output=True, cwd=cwd)  # warm-up: page cache and .pyc files
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_hyperfine(cmd: list[str], runs: int, cwd: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hf.json"
        shell = " ".join(_quote(c) for c in cmd)
        subprocess.run(["hyperfine", "--runs", str(runs), "--warmup", "1", "-i", "--export-json", str(export), shell],
                       capture_output=True, check=True, cwd=cwd)
        return float(json.loads(export.read_text())["results"][0]["median"])


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def timer() -> Callable[[list[str], int, Path], float]:
    return _time_hyperfine if shutil.which("hyperfine") else _time_plain


def tool_commands(target: Path, scratch: Path) -> dict[str, tuple[list[str], bytes | None]]:
    """One invocation per tool over ``target`` (file or folder); fickling's API driver reads paths on stdin."""
    return {
        "clearsight": (clearsight_command([target], scratch / "clearsight.json"), None),
        "picklescan": ([str(venv_bin("picklescan")), "-p", str(target)], None),
        "modelscan": ([str(venv_bin("modelscan")), "-p", str(target), "-r", "json", "-o",
                       str(scratch / "modelscan.json")], None),
        "fickling": ([str(venv_bin("python")), "-c", FICKLING_DRIVER, "plain"], json.dumps([str(target)]).encode()),
    }


def time_tools(target: Path, runs: int, scratch: Path) -> dict[str, float]:
    out = {}
    for name, (cmd, stdin) in tool_commands(target, scratch).items():
        if stdin is None:
            out[name] = timer()(cmd, runs, scratch)
        else:  # stdin input: time by hand
            times = []
            for i in range(runs + 1):
                start = time.perf_counter()
                subprocess.run(cmd, input=stdin, capture_output=True, cwd=scratch)
                if i:
                    times.append(time.perf_counter() - start)
            out[name] = statistics.median(times)
    return out


def small_pickles(folder: Path, count: int = 200) -> None:
    """``count`` benign pickles of about 2 KB each (builtins only, so no tool flags them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        data = {"id": i, "weights": [round(0.001 * (i + j), 6) for j in range(180)],
                "meta": {"name": f"model-{i}", "version": "1.0", "tags": ["tabular", "fraud"]}}
        (folder / f"model_{i:03d}.pkl").write_bytes(pickle.dumps(data, protocol=4))


def big_checkpoint(path: Path) -> int:
    import torch

    torch.save({"weight": torch.full((1 << 28,), 0.5, dtype=torch.float32)}, path)
    return path.stat().st_size


def sha256_seconds(path: Path) -> float:
    """One in-process SHA-256 pass over the file: the floor for a scanner that reports every file's digest."""
    import hashlib

    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return time.perf_counter() - start


def startup_commands(tiny: Path, scratch: Path) -> dict[str, list[str]]:
    cli = clearsight_cli()
    clearsight = ([*cli, "model", "scan", str(tiny), "--format", "json", "--output", str(scratch / "cs.json")]
                  if cli else clearsight_command([tiny], scratch / "cs.json"))
    return {
        "clearsight": clearsight,
        "picklescan": [str(venv_bin("picklescan")), "-p", str(tiny)],
        "modelscan": [str(venv_bin("modelscan")), "-p", str(tiny)],
        "fickling": [str(venv_bin("fickling")), "--check-safety", "--json-output", str(scratch / "fk.json"),
                     str(tiny)],
    }


def check_small_folder(folder: Path, scratch: Path) -> dict[str, str]:
    """Confirm each tool really scanned the 200 files and found them clean (else the speed means nothing)."""
    notes = {}
    files = clearsight_files([folder])
    notes["clearsight"] = f"{len(files)} files, {sum(f['verdict'] == 'clean' for f in files)} clean"
    ps = picklescan_result(folder, strict=False)
    notes["picklescan"] = f"{ps['scanned']} files, flagged={ps['flagged']}"
    ms = modelscan_result(folder)
    notes["modelscan"] = f"{ms['scanned']} files, flagged={ms['flagged']}"
    fk = fickling_results([folder], route=False)[str(folder)]
    notes["fickling"] = f"{fk['scanned']} files, flagged={fk['flagged']}"
    return notes


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool for the folder and checkpoint")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--skip-big", action="store_true", help="skip the 1 GiB checkpoint")
    parser.add_argument("--json", type=Path, help="write every per-file result here")
    parser.add_argument("--in-place", action="store_true",
                        help="run this interpreter's clearsight instead of a clean venv's (see the module docstring)")
    args = parser.parse_args()

    global IN_PLACE
    IN_PLACE = args.in_place
    versions = ensure_anchor_venv()
    if not IN_PLACE:
        ensure_clearsight_venv()
    cli = clearsight_cli()
    lines = [f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores; anchors: "
             + ", ".join(f"{n} {v}" for n, v in versions.items() if n in ANCHOR_PINS)
             + f"; Clearsight via {cli[0] if cli else 'the library (no CLI)'}; timing with "
             + ("hyperfine" if shutil.which("hyperfine") else "subprocess + perf_counter") + ".", ""]
    results: dict[str, Any] = {"versions": versions}
    with tempfile.TemporaryDirectory(prefix="clearsight-bench-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "corpus"
        entries = corpus.build_corpus(root)
        missing = corpus.missing_optional()
        print(f"corpus: {len(entries)} files ({sum(e.label == 'malicious' for e in entries)} malicious) "
              f"in {root}; optional libraries missing: {missing or 'none'}", file=sys.stderr)
        rows = detect(entries, root)
        results["detection"] = rows
        lines += ["### Detection", "", *detection_markdown(rows), ""]
        misses = union_misses(rows)
        lines.append("Malicious files another tool flags but Clearsight does not catch: "
                     + ("; ".join(misses) if misses else "none") + ".")
        unknown = [r for r in rows if r["label"] == "benign" and r["expected"] != ("clean",)]
        for row in unknown:
            lines.append(f"Not counted as benign: {row['name']} ({row['description']}): Clearsight "
                         f"{row['clearsight']}, " + ", ".join(
                             f"{t} {'flagged' if row[t]['flagged'] else 'clean'}" for t in TOOLS[1:]) + ".")
        lines.append("")

        scratch = tmp / "scratch"
        scratch.mkdir()
        small = tmp / "small"
        small_pickles(small)
        results["small_checks"] = check_small_folder(small, scratch)
        speed = time_tools(small, args.runs, scratch)
        results["small_seconds"] = speed
        many = tmp / "many"
        small_pickles(many, MANY)
        speed_many = time_tools(many, args.runs, scratch)
        results["many_seconds"] = speed_many

        tiny = tmp / "tiny.pkl"
        tiny.write_bytes(pickle.dumps({"a": 1}, protocol=4))
        startup = {name: timer()(cmd, args.startup_runs, scratch)
                   for name, cmd in startup_commands(tiny, scratch).items()}
        results["startup_seconds"] = startup

        big_seconds: dict[str, float] = {}
        big_size = 0
        if not args.skip_big:
            big_dir = Path(tempfile.mkdtemp(prefix="clearsight-1g-", dir="/tmp"))
            try:
                big_size = big_checkpoint(big_dir / "checkpoint.pt")
                big_seconds = time_tools(big_dir / "checkpoint.pt", args.runs, scratch)
                results["big_sha256_seconds"] = sha256_seconds(big_dir / "checkpoint.pt")
            finally:
                shutil.rmtree(big_dir, ignore_errors=True)
        results["big_seconds"], results["big_bytes"] = big_seconds, big_size

    names = ["clearsight", "picklescan", "modelscan", "fickling"]
    lines += ["### Speed", "",
              "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
              "| 200 small pickles: files/s (one invocation) | "
              + " | ".join(f"{200 / speed[n]:,.0f}" for n in names) + " |",
              "| 200 small pickles: seconds | " + " | ".join(f"{speed[n]:.3f}" for n in names) + " |",
              f"| {MANY:,} small pickles: files/s (one invocation) | "
              + " | ".join(f"{MANY / speed_many[n]:,.0f}" for n in names) + " |"]
    if big_seconds:
        lines.append(f"| {big_size / 2**30:.2f} GiB torch checkpoint: seconds | "
                     + " | ".join(f"{big_seconds[n]:.2f}" for n in names) + " |")
    lines.append(f"| start-up on one tiny file: seconds (median of {args.startup_runs}) | "
                 + " | ".join(f"{startup[n]:.3f}" for n in names) + " |")
    if big_seconds:
        lines += ["", f"A SHA-256 pass over the checkpoint alone takes {results['big_sha256_seconds']:.2f} s here "
                  "(Clearsight hashes every file it reports; the others read only data.pkl)."]
    lines += ["", "What each tool scanned in the 200-file folder: "
              + "; ".join(f"{k}: {v}" for k, v in results["small_checks"].items()) + ".", ""]
    ratio = speed["picklescan"] / speed["clearsight"]
    ratio_many = speed_many["picklescan"] / speed_many["clearsight"]
    malicious_rows = [r for r in rows if r["label"] == "malicious"]
    benign_rows = [r for r in rows if r["label"] == "benign" and r["expected"] == ("clean",)]
    fps = sum(r["clearsight"] != "clean" for r in benign_rows)
    lines += ["### Targets", "",
              f"- Everything the three others flag, caught: {'yes' if not misses else f'no, {len(misses)} missed'}"
              f" (Clearsight catches {sum(_caught(r) for r in malicious_rows)}/{len(malicious_rows)}).",
              f"- False positives on benign ML files: {fps}/{len(benign_rows)}.",
              f"- Flagged at all (malicious or suspicious, i.e. `--fail-on suspicious`, the counterpart of "
              f"picklescan --strict): {sum(r['clearsight'] in ('malicious', 'suspicious') for r in malicious_rows)}"
              f"/{len(malicious_rows)} malicious files.",
              f"- Files/s vs picklescan: {ratio:.2f}x on 200 files, {ratio_many:.2f}x on {MANY:,} (target >= 3x).",
              f"- Start-up: {startup['clearsight']:.3f} s (target < 0.3 s)."]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

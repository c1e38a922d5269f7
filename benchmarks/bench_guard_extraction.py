"""Benchmark: the guard's model-extraction detection on the fraud-detection example (issue #5, capability 2).

    python benchmarks/bench_guard_extraction.py [--banks 100] [--bank-seed 2] [--seeds 1,2,3,4,5]
                                               [--config reference|traffic] [--set NAME=VALUE]...
                                               [--answers raw|round2|label] [--natural-budget 5000]
                                               [--replicas 1] [--json FILE]

Simulation (``benchmarks/extraction_sim.py``): the example's model trained from its own generator and
pipeline; ``--banks`` benign partner banks (long-tailed sizes, own fraud rates and merchant mixes) and seven
attackers, each with every seed in ``--seeds``. Reported:

  benign     share of banks on which any signal ever fired over their whole traffic (target <= 1 %), and the
             most alarming settled score per signal (lowest PRADA W and clock share, highest other shares).
  attackers  per attacker and seed: the query on which the first signal fired, which one, the surrogate's
             balanced fidelity then, the first checkpoint at which it reached 90 %, and its fidelity curve.
             Target: every attacker detected before its surrogate reaches 90 %.
  volume     for the attacker that only volume can reveal (natural data), fidelity per query budget, next to
             the daily volume of the benign banks (each scores its payments when they happen, over the
             generator's 90 days) and the busiest bank's count in any trailing day, which ``volume_limit``
             (400 here: ``extraction_sim.VOLUME_LIMIT``) must stay above. Attackers send a query a second,
             except ``natural-paced``: the natural attacker at 250 a day, under every limit a partner needs,
             and ``natural-aligned``: the same, each payment sent in the hour of day it carries.
  speed      ``observe`` latency with a full window (2,000 vectors, d = 10), p50 / p99 / max over 20,000 calls.

``--config reference`` (default) gives the monitor 2,000 training rows as its reference and the merchant code as
categorical, as a policy with a reference sample would; ``--config traffic`` gives it only the decision
threshold and the volume limit, so its reference is what it learns from the first traffic (its own calibration
over 20 warm-up banks, taken once per run) and every feature is numeric, which is what a policy without a
reference sample gets. The benign banks use ``--bank-seed`` (the thresholds were tuned on seed 1; report other
seeds). ``--set`` overrides one ``ExtractionSettings`` field (a number, e.g. ``--set alarm_probability=1e-4``),
for tuning runs; the report lists the settings it ran with. ``--replicas N`` runs every client against N guard
replicas behind a balancer without sticky routing (each query to one at random), which share the volume count
and penalties through Redis as the guard does (``extraction_sim.Replicas``): what a deployment loses when each
replica's detectors see only part of a client's queries. ``--late-scoring`` has every benign bank score a
payment a minute after it on average, and 5 % of them 1-12 hours late (re-tries, back-fills), to show what
that does to the ``clock`` signal, whose banks otherwise score at the payment's own time.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP: see run() for why

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import extraction_sim as sim
from threadpoolctl import threadpool_limits

from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
from clearsight.guard.extraction.calibration import Calibration

DAYS = 90  # the generator spreads a bank's payments over 90 days


def settings_for(world: sim.World, config: str, overrides: dict[str, float] | None = None) -> ExtractionSettings:
    if config == "reference":
        return world.settings(**(overrides or {}))
    # the same policy without its reference sample and categorical features
    values: dict[str, Any] = {"reference": learned_from_traffic(world), "categorical": (), **(overrides or {})}
    return world.settings(**values)


def parse_override(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in ExtractionSettings.__dataclass_fields__:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER with an ExtractionSettings field, got {text!r}")
    number = float(value)
    return name, int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number


def learned_from_traffic(world: sim.World) -> tuple[tuple[float, ...], ...]:
    """The sample a monitor without a reference takes from its first traffic (its own Calibration, same caps).

    Taken once from 20 warm-up banks and handed to every monitor of the run, so that each attacker meets a
    monitor that has already learned, as it would in production, without replaying the warm-up per attacker.
    """
    defaults = ExtractionSettings()
    calibration = Calibration(defaults.calibration_queries, defaults.calibration_share)
    for bank in sim.banks(20, seed=99, big=0, max_size=400):
        for row in sim.bank_stream(world, bank)[0]:
            sample = calibration.offer(bank.name, row)
            if sample is not None:
                return tuple(map(tuple, sample))
    raise RuntimeError("20 warm-up banks did not complete the calibration")


def run_benign(world: sim.World, settings: ExtractionSettings, count: int, seed: int, replicas: int = 1,
               late: bool = False) -> dict[str, Any]:
    monitor = sim.monitor_for(settings, len(world.features), replicas)
    rows: list[dict[str, Any]] = []
    for bank in sim.banks(count, seed):
        x, times = sim.bank_stream(world, bank)
        if late:  # scored after the payment: a minute on average, 5 % of them hours later; in the order scored
            rng = np.random.default_rng(bank.seed + 7)
            times = times + rng.exponential(60.0, len(times)) + (
                (rng.random(len(times)) < 0.05) * rng.uniform(3_600.0, 12 * 3_600.0, len(times)))
            order = np.argsort(times, kind="stable")
            x, times = x[order], times[order]
        stream = sim.run_stream(monitor, bank.name, x, world.answer(x), times)
        rows.append({"bank": asdict(bank), "detected_at": stream.detected_at, "first": stream.first,
                     "reason": stream.reason, "worst": stream.worst})
    fired = [r for r in rows if r["detected_at"] is not None]
    worst: dict[str, float] = {}
    for name, pick in (("prada_w", min), ("boundary_share", max), ("ood_share", max), ("flagged_share", max),
                       ("volume_ratio", max), ("clock_share", min)):
        values = [r["worst"][name] for r in rows if name in r["worst"]]
        if values:
            worst[name] = pick(values)
    sizes = [r["bank"]["size"] for r in rows]
    return {"banks": len(rows), "queries": sum(sizes), "fired": len(fired), "fp_rate": len(fired) / len(rows),
            "fired_banks": fired, "worst": worst, "sizes": sizes, "worst_per_bank": [r["worst"] for r in rows]}


def run_attackers(world: sim.World, settings: ExtractionSettings, seeds: list[int], answers: str = "raw",
                  natural_budget: int = 5000, replicas: int = 1) -> list[dict[str, Any]]:
    out = []
    for name in sim.ATTACKERS:
        budget = natural_budget if name in ("natural", "natural-paced", "natural-aligned") else 2000
        for seed in seeds:
            started = time.perf_counter()
            result = sim.run_attack(world, settings, name, seed, budget, answers_given=answers, replicas=replicas)
            row = asdict(result)
            row["in_time"] = result.in_time
            row["seconds"] = round(time.perf_counter() - started, 1)
            out.append(row)
            print(f"  {name:17} seed {seed}: detected at {result.detected_at} by {','.join(result.fired) or '-'}, "
                  f"fidelity then {_pct(result.fidelity_at_detection)}, 90 % at {result.queries_to_90}", flush=True)
    return out


def measure_speed(world: sim.World, settings: ExtractionSettings, calls: int = 20_000) -> dict[str, float]:
    """observe() latency once the client's window is full, on natural traffic."""
    monitor = ExtractionMonitor(settings, len(world.features))
    bank = sim.Bank("speed", calls + 4 * settings.window, 0.015, 4242, 1000.0)
    x, sent = sim.bank_stream(world, bank)
    p = world.answer(x)
    warm = 4 * settings.window
    for row, answer, now in zip(x[:warm], p[:warm], sent[:warm], strict=True):
        monitor.observe("speed", row, float(answer), now=float(now), at=float(now))
    times = []
    for row, answer, now in zip(x[warm:], p[warm:], sent[warm:], strict=True):
        started = time.perf_counter_ns()
        monitor.observe("speed", row, float(answer), now=float(now), at=float(now))
        times.append((time.perf_counter_ns() - started) / 1000)
    times.sort()
    return {"calls": len(times), "p50_us": times[len(times) // 2], "p99_us": times[int(len(times) * 0.99)],
            "max_us": times[-1], "mean_us": statistics.fmean(times)}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_report(report: dict[str, Any]) -> None:
    benign = report["benign"]
    print(f"\nBenign: {benign['fired']}/{benign['banks']} banks fired ({benign['fp_rate']:.1%}) over "
          f"{benign['queries']:,} queries; most alarming settled scores: "
          + ", ".join(f"{k} {v:.3f}" for k, v in benign["worst"].items()))
    for row in benign["fired_banks"]:
        bank = row["bank"]
        print(f"  fired: {bank['name']} ({bank['size']} queries) at {row['detected_at']}: {row['reason']}")
    print("\n| attacker | seeds | detected | queries to detection (median, range) | first signal | fidelity at "
          "detection (median, max) | queries to 90 % (median) | in time |")
    print("|---|---:|---:|---|---|---|---:|---:|")
    for name in sim.ATTACKERS:
        rows = [r for r in report["attackers"] if r["attacker"] == name]
        hits = [r for r in rows if r["detected_at"] is not None]
        at = [r["detected_at"] for r in hits]
        fid = [r["fidelity_at_detection"] for r in hits]
        reach = [r["queries_to_90"] for r in rows if r["queries_to_90"] is not None]
        signals = sorted({s for r in hits for s in r["fired"]})
        print(f"| {name} | {len(rows)} | {len(hits)}/{len(rows)} | "
              + (f"{statistics.median(at):.0f} ({min(at)}-{max(at)})" if at else "-")
              + f" | {','.join(signals) or '-'} | "
              + (f"{statistics.median(fid):.1%}, {max(fid):.1%}" if fid else "-") + " | "
              + (f"{statistics.median(reach):.0f} ({len(reach)}/{len(rows)} reached)" if reach else "not reached")
              + f" | {sum(r['in_time'] for r in rows)}/{len(rows)} |")
    print("\nFidelity curves (median over seeds):")
    for name in sim.ATTACKERS:
        rows = [r for r in report["attackers"] if r["attacker"] == name]
        points = sorted({int(c) for r in rows for c in r["curve"]})
        cells = []
        for c in points:
            values = [r["curve"][c] for r in rows if c in r["curve"]]
            cells.append(f"{c}:{statistics.median(values):.0%}")
        print(f"  {name:17} " + " ".join(cells))
    daily = sorted(s / DAYS for s in benign["sizes"])
    print(f"\nBenign daily volume: median {statistics.median(daily):.0f}, max {daily[-1]:.0f} queries/day "
          f"(a per-client quota of {int(np.ceil(daily[-1] / 50) * 50)}/day lets every bank through).")
    limit = report["settings"]["volume_limit"]
    if limit and "volume_ratio" in benign["worst"]:
        print(f"Busiest bank in any trailing {report['settings']['volume_period'] / 3600:g} h: "
              f"{benign['worst']['volume_ratio'] * limit:.0f} queries (volume_limit {limit}).")
    speed = report["speed"]
    print(f"\nobserve() with a full window: p50 {speed['p50_us']:.0f} µs, p99 {speed['p99_us']:.0f} µs, "
          f"max {speed['max_us']:.0f} µs, mean {speed['mean_us']:.0f} µs over {speed['calls']:,} calls")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--banks", type=int, default=100)
    parser.add_argument("--bank-seed", type=int, default=2)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--config", choices=["reference", "traffic"], default="reference")
    parser.add_argument("--set", type=parse_override, action="append", default=[], metavar="NAME=VALUE",
                        help="override one ExtractionSettings field (repeatable)")
    parser.add_argument("--answers", choices=sorted(sim.ANSWERS), default="raw",
                        help="what the attackers are given: the raw probability (default), rounded to 2 "
                             "decimals, or the label only (the monitor always judges the raw score)")
    parser.add_argument("--natural-budget", type=int, default=5000,
                        help="queries of the two natural-data attackers (the others send 2,000)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="guard replicas behind a balancer without sticky routing, sharing the volume count and "
                             "penalties (each query to one at random)")
    parser.add_argument("--late-scoring", action="store_true",
                        help="benign banks score payments a minute late on average, 5 %% of them 1-12 hours late")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]

    with threadpool_limits(1):  # small fits and one-row predictions: OpenMP threads only cost time here
        run(args, seeds)


def run(args: argparse.Namespace, seeds: list[int]) -> None:
    started = time.perf_counter()
    world = sim.build_world()
    settings = settings_for(world, args.config, dict(args.set))
    print(f"target trained, test set {len(world.test_y)} balanced rows ({time.perf_counter() - started:.1f} s)")
    report: dict[str, Any] = {"config": args.config, "answers": args.answers, "replicas": args.replicas,
                              "settings": _settings_summary(settings)}
    report["speed"] = measure_speed(world, settings)
    print("attackers:")
    report["attackers"] = run_attackers(world, settings, seeds, args.answers, args.natural_budget, args.replicas)
    report["benign"] = run_benign(world, settings, args.banks, args.bank_seed, args.replicas, args.late_scoring)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    print(f"\ntotal {report['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _settings_summary(settings: ExtractionSettings) -> dict[str, Any]:
    values = asdict(settings)
    values["reference"] = None if settings.reference is None else f"{len(settings.reference)} rows"
    return values


if __name__ == "__main__":
    main()

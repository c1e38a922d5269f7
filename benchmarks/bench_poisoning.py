"""Poisoning detection: Clearsight against cleanlab on the same injected data, in one run.

    benchmarks/.venv-data-anchors/bin/python benchmarks/bench_poisoning.py [--seed 0]

The venv holds cleanlab (and IBM ART, not yet wired in: its poisoning defences need a classifier that
exposes activations). cleanlab gets the very out-of-sample probabilities Clearsight computes, so the
comparison is between the two rules, not between two models. For every scenario: precision, recall and F1
of the flagged rows against the rows the attack touched, seconds, and for backdoors the attack success
rate (share of other-class held-out rows, classified right plainly, that the trigger turns into the target)
after retraining without each tool's flags.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from clearsight.core.datacheck import TriggerPattern
from clearsight.data import simulate as sim
from clearsight.data.poisoning.detect import Detection, detect, removal_effect
from clearsight.data.poisoning.interface import Context
from clearsight.data.table import encode


def scenarios(seed: int) -> dict[str, Callable[[], tuple[sim.LabelledSet, dict[str, float] | None, int]]]:
    fraud, digits = sim.transactions(seed=seed), sim.digits(seed=seed)
    return {
        "digits random flips 5%": lambda: (sim.flip_random(digits, 0.05, seed=seed + 1), None, 0),
        "digits random flips 10%": lambda: (sim.flip_random(digits, 0.10, seed=seed + 1), None, 0),
        "fraud random flips 5%": lambda: (sim.flip_random(fraud, 0.05, seed=seed + 1), None, 0),
        "fraud random flips 10%": lambda: (sim.flip_random(fraud, 0.10, seed=seed + 1), None, 0),
        "fraud targeted 10 (cross-border)": lambda: (sim.flip_targeted(fraud, 10, mode="cross_border", seed=seed + 2),
                                                     None, 0),
        "fraud targeted 30 (takeover)": lambda: (sim.flip_targeted(fraud, 30, mode="account_takeover",
                                                                   seed=seed + 2), None, 0),
        "fraud targeted 60 (card testing)": lambda: (sim.flip_targeted(fraud, 60, mode="card_testing",
                                                                       seed=seed + 2), None, 0),
        "fraud feature backdoor 1%": lambda: (sim.feature_backdoor(fraud, 0.01, seed=seed), sim.TRANSACTION_TRIGGER,
                                              0),
        "digits pixel backdoor 5%": lambda: (sim.pixel_backdoor(digits, 0.05, seed=seed), sim.PIXEL_TRIGGER, 0),
        "digits clean-label backdoor 5%": lambda: (sim.clean_label_backdoor(digits, 0.05, seed=seed),
                                                   sim.PIXEL_TRIGGER, 0),
    }


def scores(flagged: NDArray[np.bool_], truth: NDArray[np.bool_]) -> tuple[float, float, float]:
    tp = int((flagged & truth).sum())
    p = tp / max(int(flagged.sum()), 1)
    r = tp / max(int(truth.sum()), 1)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def asr(ctx: Context, flagged: NDArray[np.bool_], trigger: dict[str, float], target: int) -> float:
    enc = ctx.enc
    stamp = {enc.names.index(k): float(v) for k, v in trigger.items() if k in enc.names}
    pattern = TriggerPattern(conditions={k: f"== {v}" for k, v in trigger.items()}, rows=0, label=target, purity=1.0,
                             contradicted=0.0, kind="dirty-label")
    effect = removal_effect(ctx, Detection([], flagged, [], [pattern], [stamp]))
    return float(effect.attack_success_after if effect.attack_success_after is not None else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from cleanlab.filter import find_label_issues

    print("| scenario | tool | precision | recall | F1 | seconds | attack success after removal |")
    print("|---|---|---|---|---|---|---|")
    for name, build in scenarios(args.seed).items():
        data, trigger, target = build()
        truth = data.poisoned
        ctx = Context(encode(data.table()), seed=args.seed)
        t0 = time.perf_counter()
        ours = detect(ctx)
        ours_s = time.perf_counter() - t0
        proba = ctx.proba()  # already computed by Clearsight; cleanlab's time is its own rule only
        t0 = time.perf_counter()
        theirs = find_label_issues(labels=ctx.enc.y, pred_probs=proba)
        theirs_s = time.perf_counter() - t0
        for tool, flagged, secs in (("clearsight", ours.flagged, ours_s), ("cleanlab", theirs, theirs_s)):
            p, r, f = scores(flagged, truth)
            success = f"{asr(ctx, flagged, trigger, target):.1%}" if trigger else "-"
            print(f"| {name} | {tool} | {p:.3f} | {r:.3f} | {f:.3f} | {secs:.1f} | {success} |", flush=True)


if __name__ == "__main__":
    main()

"""Poisoning detection: Clearsight against cleanlab and IBM ART on the same injected data, in one run.

    benchmarks/.venv-data-anchors/bin/python benchmarks/bench_poisoning.py [--seed 0]

The venv holds cleanlab, IBM ART (adversarial-robustness-toolbox) and torch (CPU). cleanlab gets the very
out-of-sample probabilities Clearsight computes, so the comparison is between the two rules, not between two models.
ART's poisoning defences need a classifier that exposes activations: per scenario a small PyTorch MLP
(input -> 64 -> 32 -> classes, ReLU; Adam, fixed seed) is trained on the poisoned rows, which is what a defender
has, using Clearsight's standardised distance encoding as features, and wrapped in ART's ``PyTorchClassifier``.
Both defences read the last ReLU (32 units) — ART would otherwise take the logit layer of an ``nn.Sequential``:

* ``art-activation``: ``ActivationDefence`` (Chen et al. 2018), PCA to 10 dims, 2 k-means clusters per class, the
  smaller cluster flagged;
* ``art-spectral``: ``SpectralSignatureDefense`` (Tran et al. 2018), eps_multiplier 1.5, batch 128. It is given the
  true poison share of the scenario (clipped to [0.01, 0.33]) as ``expected_pp_poison`` — an advantage no other
  tool here gets, since it sets how many rows per class it flags.

An ART row's seconds include training the MLP (shared by both defences) plus that defence's own call; a defence that
fails on a scenario prints ``error: <reason>`` in its row. For every scenario: precision, recall and F1 of the
flagged rows against the rows the attack touched, seconds, and for backdoors the attack success rate (share of
other-class held-out rows, classified right plainly, that the trigger turns into the target) after retraining
Clearsight's model without each tool's flags.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

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


ART_EPOCHS = 20


def _reason(exc: Exception) -> str:
    """A short, table-safe ``error: ...`` cell."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split()).replace("|", "/")
    return f"error: {text[:100]}"


def art_defences(ctx: Context, poison_share: float, seed: int) -> dict[str, tuple[NDArray[np.bool_] | str, float]]:
    """Flags (or an error message) and seconds for ART's activation-clustering and spectral-signature defences."""
    import torch
    from art.defences.detector.poison import ActivationDefence, SpectralSignatureDefense
    from art.estimators.classification import PyTorchClassifier

    class HiddenLayerClassifier(PyTorchClassifier):  # type: ignore[misc]
        """ART's defences read the last of ``layer_names``; for an ``nn.Sequential`` that is the logit layer, so
        only the layers up to the last hidden ReLU are exposed (the papers use the penultimate representation)."""

        @property
        def layer_names(self) -> list[str]:
            return list(self._layer_names[:-1])

    x = np.ascontiguousarray(ctx.enc.distance, dtype=np.float32)
    y = ctx.enc.y.astype(np.int64)
    nb_classes = max(len(ctx.enc.classes), int(y.max()) + 1)
    y_onehot = np.eye(nb_classes, dtype=np.float32)[y]
    results: dict[str, tuple[NDArray[np.bool_] | str, float]] = {}

    t0 = time.perf_counter()
    try:
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 32),
                                    torch.nn.ReLU(), torch.nn.Linear(32, nb_classes))
        classifier = HiddenLayerClassifier(model=model, loss=torch.nn.CrossEntropyLoss(),
                                           optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
                                           input_shape=(x.shape[1],), nb_classes=nb_classes, device_type="cpu")
        classifier.fit(x, y_onehot, batch_size=128, nb_epochs=ART_EPOCHS)
    except Exception as exc:  # a failed setup is reported in both ART rows, not raised
        failed = (_reason(exc), time.perf_counter() - t0)
        return {"art-activation": failed, "art-spectral": failed}
    train_s = time.perf_counter() - t0

    def run(tool: str, call: Callable[[], tuple[Any, list[int]]]) -> None:
        np.random.seed(seed)  # ART's k-means takes no seed and draws from the global generator
        t0 = time.perf_counter()
        try:
            _, is_clean = call()
            results[tool] = (np.asarray(is_clean) == 0, train_s + time.perf_counter() - t0)
        except Exception as exc:  # one defence failing on one scenario must not stop the run
            results[tool] = (_reason(exc), train_s + time.perf_counter() - t0)

    run("art-activation", lambda: ActivationDefence(classifier, x, y_onehot).detect_poison(
        nb_clusters=2, nb_dims=10, reduce="PCA"))
    run("art-spectral", lambda: SpectralSignatureDefense(
        classifier, x, y_onehot, batch_size=128, eps_multiplier=1.5,
        expected_pp_poison=float(np.clip(poison_share, 0.01, 0.33))).detect_poison())
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from cleanlab.filter import find_label_issues

    logging.getLogger("art").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(art|torch|sklearn)(\.|$)")

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
        rows: list[tuple[str, NDArray[np.bool_] | str, float]] = [("clearsight", ours.flagged, ours_s),
                                                                  ("cleanlab", theirs, theirs_s)]
        rows += [(tool, flagged, secs) for tool, (flagged, secs) in
                 art_defences(ctx, float(truth.mean()), args.seed).items()]
        for tool, flagged, secs in rows:
            if isinstance(flagged, str):
                print(f"| {name} | {tool} | {flagged} | | | {secs:.1f} | |", flush=True)
                continue
            p, r, f = scores(flagged, truth)
            success = f"{asr(ctx, flagged, trigger, target):.1%}" if trigger else "-"
            print(f"| {name} | {tool} | {p:.3f} | {r:.3f} | {f:.3f} | {secs:.1f} | {success} |", flush=True)


if __name__ == "__main__":
    main()

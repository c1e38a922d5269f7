from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from clearsight.guard.hardening import harden
from clearsight.guard.jsonpath import parse_path
from clearsight.guard.policy import HardeningSpec, OutputSpec

SCALAR = OutputSpec(scores=parse_path("$.p"), threshold=0.3)
VECTOR = OutputSpec(scores=parse_path("$.probs"))
OBJECT = OutputSpec(scores=parse_path("$.scores"))


def _run(doc: object, output: OutputSpec, **spec: object) -> Any:
    return harden(doc, output, HardeningSpec.model_validate(spec), random.Random(1))


def test_round_keeps_the_side_of_the_threshold() -> None:
    assert _run({"p": 0.123456, "label": "legit"}, SCALAR, round=2) == {"p": 0.12, "label": "legit"}
    # 0.2996 would round up across the 0.3 threshold: it stays on the legit side
    assert _run({"p": 0.2996}, SCALAR, round=2)["p"] == 0.29
    assert _run({"p": 0.3}, SCALAR, round=0)["p"] == 1.0


def test_top_label_only_keeps_shapes() -> None:
    assert _run({"p": 0.31}, SCALAR, top_label_only=True)["p"] == 1.0
    assert _run({"p": 0.29}, SCALAR, top_label_only=True)["p"] == 0.0
    assert _run({"probs": [0.2, 0.5, 0.3]}, VECTOR, top_label_only=True)["probs"] == [0.0, 1.0, 0.0]
    assert _run({"scores": {"fraud": 0.7, "legit": 0.3}}, OBJECT, top_label_only=True)["scores"] == {
        "fraud": 1.0, "legit": 0.0}


def test_an_answer_that_is_only_scores_is_hardened() -> None:
    """``output: {scores: $}`` passed the policy check and then hardened nothing: the root has no parent."""
    root = OutputSpec(scores=parse_path("$"), threshold=0.3)
    assert _run(0.123456, root, round=2) == 0.12
    assert _run([0.2, 0.8], root, top_label_only=True) == [0.0, 1.0]
    assert _run({"fraud": 0.71234, "legit": 0.28766}, root, round=1) == {"fraud": 0.7, "legit": 0.3}


def test_non_scores_are_left_alone() -> None:
    doc = {"probs": "n/a", "other": 0.123456}
    assert _run(doc, VECTOR, round=1) == {"probs": "n/a", "other": 0.123456}
    assert _run({"detail": "error"}, VECTOR, round=1) == {"detail": "error"}


@given(st.floats(0.0, 1.0), st.floats(0.001, 0.5), st.integers(0, 6), st.integers(0, 2**32))
def test_noise_is_bounded_and_never_flips_the_label(score: float, noise: float, digits: int, seed: int) -> None:
    doc = {"p": score}
    harden(doc, SCALAR, HardeningSpec(noise=noise, round=digits), random.Random(seed))
    out = doc["p"]
    assert 0.0 <= out <= 1.0
    assert (out >= 0.3) == (score >= 0.3)
    assert abs(out - score) <= noise + 10.0 ** -digits + 1e-12


@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6), st.floats(0.001, 0.5), st.integers(0, 2**32),
       st.one_of(st.none(), st.integers(1, 4)))
def test_vector_noise_keeps_the_winner(scores: list[float], noise: float, seed: int, digits: int | None) -> None:
    top = max(range(len(scores)), key=scores.__getitem__)
    if sum(1 for s in scores if s == scores[top]) > 1:
        return  # ties have no single winner to keep
    doc = {"probs": list(scores)}
    harden(doc, VECTOR, HardeningSpec(noise=noise, round=digits), random.Random(seed))
    out = doc["probs"]
    assert isinstance(out, list) and len(out) == len(scores)
    assert max(range(len(out)), key=out.__getitem__) == top
    assert all(0.0 <= v <= 1.0 for v in out)


def test_integers_beyond_any_float_are_left_alone() -> None:
    assert _run({"p": 10**400}, SCALAR, round=2) == {"p": 10**400}
    assert _run({"probs": [1, 10**400]}, VECTOR, round=2) == {"probs": [1, 10**400]}
    assert _run({"p": 1}, SCALAR, round=2) == {"p": 1.0}

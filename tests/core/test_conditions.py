from __future__ import annotations

import pytest
from pydantic import ValidationError

from clearsight.core.conditions import Condition, compile_condition
from clearsight.core.system import SystemTraits


def check(cond: dict[str, object], **traits: object) -> bool:
    return compile_condition(Condition.model_validate(cond))(SystemTraits.model_validate(traits))


def test_scalar_tests() -> None:
    assert check({"trait": "exposure", "in": ["partner", "public"]}, exposure="partner")
    assert not check({"trait": "exposure", "in": ["partner", "public"]}, exposure="internal")
    assert check({"trait": "inference_api", "is": True}, inference_api=True)
    assert not check({"trait": "inference_api", "is": True})


def test_list_tests() -> None:
    assert check({"trait": "personal_data", "has": "health"}, personal_data=["contact", "health"])
    assert not check({"trait": "personal_data", "has": "health"}, personal_data=["contact"])
    wanted = {"trait": "training_data", "has_any": ["public-web", "user-feedback"]}
    assert check(wanted, training_data=["user-feedback"])
    assert not check({"trait": "training_data", "has_any": ["public-web"]}, training_data=[])


def test_ordered_at_least() -> None:
    assert check({"trait": "scale", "at_least": "large"}, scale="very-large")
    assert check({"trait": "scale", "at_least": "large"}, scale="large")
    assert not check({"trait": "scale", "at_least": "large"}, scale="medium")
    # An unresolved incentive never satisfies a threshold.
    assert not check({"trait": "adversarial_incentive", "at_least": "low"})


def test_combinators() -> None:
    cond = {"all": [{"trait": "agent", "is": True}, {"not": {"trait": "exposure", "is": "public"}}]}
    assert check(cond, agent=True, exposure="internal")
    assert not check(cond, agent=True, exposure="public")
    assert check({"any": [{"trait": "rag", "is": True}, {"trait": "agent", "is": True}]}, rag=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"trait": "no_such_trait", "is": True},
        {"trait": "exposure"},
        {"trait": "exposure", "is": "public", "in": ["public"]},
        {"all": [], "any": []},
        {"trait": "exposure", "at_least": "galactic"},
        {"trait": "personal_data", "at_least": "health"},
    ],
)
def test_malformed_conditions_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(bad)


def test_describe_reads_like_a_rule() -> None:
    cond = Condition.model_validate({"all": [{"trait": "exposure", "in": ["partner", "public"]},
                                             {"trait": "inference_api", "is": True}]})
    assert cond.describe() == "exposure in partner, public and inference_api is true"


@pytest.mark.parametrize("size", range(6))
def test_all_and_any_agree_with_python_for_every_arity(size: int) -> None:
    # Small combinations are compiled into direct chains; every truth assignment must still give all()/any().
    flags = ["agent", "rag", "inference_api", "regulated_sector", "generates_content"][:size]
    tests = [{"trait": flag, "is": True} for flag in flags]
    for assignment in range(2**size):
        values = {flag: bool(assignment >> i & 1) for i, flag in enumerate(flags)}
        assert check({"all": tests}, **values) is all(values.values())
        assert check({"any": tests}, **values) is any(values.values())

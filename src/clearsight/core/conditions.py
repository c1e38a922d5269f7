"""A small, safe condition language over system traits, used by threat rules and controls.

Rules are data (YAML), never code run through ``eval``. A condition is one of::

    {trait: exposure, in: [partner, public]}      # value is one of
    {trait: inference_api, is: true}              # value equals
    {trait: personal_data, has: financial}        # list contains
    {trait: training_data, has_any: [public-web, user-feedback]}
    {trait: scale, at_least: large}               # ordered vocabularies only
    {all: [...]}, {any: [...]}, {not: {...}}

Conditions are compiled once into closures so that assessing ten thousand systems stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from pydantic import ConfigDict, Field, model_validator

from clearsight.core.base import Frozen
from clearsight.core.system import (
    Criticality,
    DecisionRole,
    Exposure,
    Incentive,
    Scale,
    SystemTraits,
)

TraitValue = str | bool | int | float

ORDERED: dict[str, tuple[str, ...]] = {
    "exposure": get_args(Exposure),
    "scale": get_args(Scale),
    "business_criticality": get_args(Criticality),
    "decision_role": get_args(DecisionRole),
    "adversarial_incentive": get_args(Incentive),
}

Predicate = Callable[[SystemTraits], bool]


class Condition(Frozen):
    """One node of a condition tree; exactly one form per node."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    all_: list[Condition] | None = Field(None, alias="all")
    any_: list[Condition] | None = Field(None, alias="any")
    not_: Condition | None = Field(None, alias="not")
    trait: str | None = None
    is_: TraitValue | None = Field(None, alias="is")
    in_: list[TraitValue] | None = Field(None, alias="in")
    has: str | None = None
    has_any: list[str] | None = None
    at_least: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        combinators = [x for x in (self.all_, self.any_, self.not_) if x is not None]
        tests = [x for x in (self.is_, self.in_, self.has, self.has_any, self.at_least) if x is not None]
        if self.trait is None:
            if len(combinators) != 1 or tests:
                raise ValueError("a condition needs exactly one of all/any/not, or a trait test")
            return self
        if combinators or len(tests) != 1:
            raise ValueError(f"trait '{self.trait}' needs exactly one of is/in/has/has_any/at_least")
        if self.trait not in SystemTraits.model_fields:
            raise ValueError(f"unknown trait '{self.trait}'")
        if self.at_least is not None and (
            self.trait not in ORDERED or self.at_least not in ORDERED[self.trait]
        ):
            raise ValueError(f"at_least is not defined for '{self.trait}' = '{self.at_least}'")
        return self

    def describe(self) -> str:
        """Readable form used in rationales ("exposure in partner, public")."""
        if self.all_ is not None:
            return " and ".join(c.describe() for c in self.all_)
        if self.any_ is not None:
            return "(" + " or ".join(c.describe() for c in self.any_) + ")"
        if self.not_ is not None:
            return f"not {self.not_.describe()}"
        if self.is_ is not None:
            return f"{self.trait} is {_show(self.is_)}"
        if self.in_ is not None:
            return f"{self.trait} in {', '.join(_show(v) for v in self.in_)}"
        if self.has is not None:
            return f"{self.trait} includes {self.has}"
        if self.has_any is not None:
            return f"{self.trait} includes any of {', '.join(self.has_any)}"
        return f"{self.trait} at least {self.at_least}"


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def compile_condition(cond: Condition | None) -> Predicate:
    """Turn a condition tree into a fast predicate; ``None`` means always true."""
    if cond is None:
        return lambda _t: True
    if cond.all_ is not None:
        return _chained([compile_condition(c) for c in cond.all_], every=True)
    if cond.any_ is not None:
        return _chained([compile_condition(c) for c in cond.any_], every=False)
    if cond.not_ is not None:
        inner = compile_condition(cond.not_)
        return lambda t: not inner(t)
    name = cond.trait
    assert name is not None
    if cond.is_ is not None:
        want = cond.is_
        return lambda t: bool(getattr(t, name) == want)
    if cond.in_ is not None:
        allowed = frozenset(cond.in_)
        return lambda t: getattr(t, name) in allowed
    if cond.has is not None:
        item = cond.has
        return lambda t: item in getattr(t, name)
    if cond.has_any is not None:
        items = frozenset(cond.has_any)
        return lambda t: not items.isdisjoint(getattr(t, name))
    order = ORDERED[name]
    threshold = order.index(cond.at_least or "")
    rank = {value: i for i, value in enumerate(order)}
    return lambda t: rank.get(getattr(t, name), -1) >= threshold


# Conditions mostly combine two or three tests; chaining them directly saves a generator per evaluation,
# and every control and threat rule is evaluated for every system of the portfolio.


def _chained(parts: list[Predicate], *, every: bool) -> Predicate:
    """``all`` (every=True) or ``any`` of the parts; up to three are chained directly."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return (lambda t: first(t) and second(t)) if every else (lambda t: first(t) or second(t))
    if len(parts) == 3:
        a, b, c = parts
        return (lambda t: a(t) and b(t) and c(t)) if every else (lambda t: a(t) or b(t) or c(t))
    if every:
        return lambda t: all(p(t) for p in parts)
    return lambda t: any(p(t) for p in parts)


Condition.model_rebuild()

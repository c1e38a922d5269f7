"""Turn a request body into what the detectors look at: a feature vector and the texts to screen.

Everything here runs before the model sees the request, so a malformed body becomes a :class:`Rejection`
with a message the client can act on instead of an exception inside the service.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clearsight.guard import json_codec
from clearsight.guard.policy import InputSpec, ScreeningSpec


@dataclass(frozen=True)
class Rejection(Exception):
    status: int
    message: str
    reason: str


_PLAIN_NUMBERS = frozenset({float, int})  # exact types: bool is a subclass of int, and is no feature value


def parse_json(body: bytes) -> Any:
    if not body:
        raise Rejection(400, "the request body is empty; this route expects JSON", "input.empty")
    try:
        return json_codec.loads(body)[0]
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, and an integer longer than int() accepts (4,300 digits)
        raise Rejection(400, f"the request body is not valid JSON ({exc})", "input.not-json") from exc
    except RecursionError as exc:
        raise Rejection(400, "the request body is nested too deeply", "input.too-deep") from exc


def feature_vector(document: Any, spec: InputSpec) -> list[float]:
    """The model input as floats in feature order."""
    for path in spec.paths:
        found, value = path.first(document)
        if found:
            return _as_vector(value, spec, path)
    tried = ", ".join(str(p) for p in spec.paths)
    raise Rejection(422, f"no model input found at {tried}", "input.missing")


def _as_vector(value: Any, spec: InputSpec, where: object) -> list[float]:
    """``where``: the path the value was found at, named in errors (made text only then)."""
    if isinstance(value, dict):
        if spec.feature_names is None:
            raise Rejection(422, f"{where} is an object but the policy names no feature order", "input.unordered")
        missing = [name for name in spec.feature_names if name not in value]
        if missing:
            raise Rejection(422, f"{where} lacks features: {', '.join(missing[:10])}", "input.missing-features")
        value = [value[name] for name in spec.feature_names]
    if not isinstance(value, list):
        raise Rejection(422, f"{where} must be a list of numbers or an object of named numbers", "input.shape")
    if len(value) > spec.max_features:
        raise Rejection(422, f"{where} has {len(value)} values; at most {spec.max_features}", "input.too-long")
    if spec.feature_names is not None and len(value) != len(spec.feature_names):
        raise Rejection(422, f"{where} has {len(value)} values; expected {len(spec.feature_names)}", "input.length")
    if value and _PLAIN_NUMBERS.issuperset(map(type, value)):  # one C loop, not a generator
        # What json.loads gives for a feature vector: no bools, no strings. The sum of finite numbers is finite
        # unless it overflows, and then the full check below tells which item, if any, is at fault.
        try:
            out = list(map(float, value))
        except OverflowError:  # an integer beyond any float: the loop below names it
            out = []
        if out and math.isfinite(sum(out)):
            return out
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise Rejection(422, f"{where}[{i}] is not a number", "input.not-number")
        try:
            number = float(item)
        except OverflowError:  # a JSON integer of hundreds of digits
            number = math.inf
        if not math.isfinite(number):
            raise Rejection(422, f"{where}[{i}] is not a finite number", "input.not-finite")
        out.append(number)
    if not out:
        raise Rejection(422, f"{where} is empty", "input.empty-vector")
    return out


def texts(document: Any, spec: ScreeningSpec) -> list[str]:
    """Every string the screening paths reach, each cut to ``max_chars``."""
    out: list[str] = []
    for path in spec.text:
        for value in path.find(document):
            if isinstance(value, str):
                out.append(value[: spec.max_chars])
    return out


def fingerprint(vector: Sequence[float] | None, body: bytes) -> str:
    """A stable hash of what the model was asked: the canonical vector when known, else the raw body."""
    if vector is not None:  # the IEEE-754 doubles: the same input whichever JSON form carried it
        return hashlib.sha256(array("d", vector).tobytes()).hexdigest()
    return hashlib.sha256(body).hexdigest()

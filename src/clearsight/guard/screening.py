"""The prompt-screening hook: the guard asks a named screener about each text a route carries.

The screener itself is a separate concern; anything with the signature of :data:`Screener` plugs in, so a
policy can name it and the guard block, flag or log on its verdict. The prompt-injection detector of
:mod:`clearsight.llm` is built in under the names in :data:`BUILTIN`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Screening:
    flagged: bool
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


Screener = Callable[[str], Screening]


def _injection(context: str) -> Callable[[], Screener]:
    def build() -> Screener:
        from clearsight.llm.detect import screener

        return screener("document" if context == "document" else "prompt")

    return build


#: Screeners a policy can name without any code: the built-in prompt-injection detector, for user prompts and
#: for retrieved documents. Built lazily, so a guard that screens nothing never loads the model.
BUILTIN: dict[str, Callable[[], Screener]] = {
    "injection": _injection("prompt"),
    "injection-document": _injection("document"),
}


def resolve(names: set[str], given: dict[str, Screener]) -> dict[str, Screener]:
    """The screeners passed in, plus the built-in ones a policy names that were not overridden."""
    out = dict(given)
    for name in sorted(names - given.keys()):
        if name in BUILTIN:
            out[name] = BUILTIN[name]()
    return out

"""The prompt-screening hook: the guard asks a named screener about each text a route carries.

The screener itself (the prompt-injection detector) is a separate concern; anything with the signature of
:data:`Screener` plugs in, so a policy can name it and the guard block, flag or log on its verdict.
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

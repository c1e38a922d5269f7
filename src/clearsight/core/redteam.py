"""What ``clearsight llm redteam`` observed: one result per probe attempt, with the full exchange kept.

A red-team verdict is only as good as the evidence behind it, so every result carries the request that was
sent and the answer that came back; a reviewer can re-judge a finding without re-running the attack.
``error`` and ``inconclusive`` are verdicts of their own: a probe that never got an answer, or got one the
judge cannot read either way, has proved nothing and must never read as ``resisted``. The controls a run
sends first are kept too, since a probe skipped because a control failed is only explained by its transcript.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Literal

from pydantic import Field, JsonValue

from clearsight.core.base import Frozen
from clearsight.core.severity import Severity

Verdict = Literal["vulnerable", "resisted", "inconclusive", "error"]
VERDICTS: tuple[Verdict, ...] = ("vulnerable", "resisted", "inconclusive", "error")
TargetFormat = Literal["openai", "template"]


class ToolCall(Frozen):
    """A function call the application asked for; arguments stay the raw JSON text the model produced."""

    name: str
    arguments: str = ""


class SentRequest(Frozen):
    """What went over the wire, minus headers (they carry the API key, which never lands in a report)."""

    method: str
    url: str
    body: JsonValue
    messages: list[dict[str, str]] = Field(default_factory=list,
                                           description="The chat messages, when the target format has them.")


class Reply(Frozen):
    status: int
    text: str = Field(description="The answer text read from the response (empty when there is none).")
    raw: str = Field(description="The response body as received, cut at a bound so reports stay small.")
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = Field(None, description="Why the model stopped, when the format says (openai).")
    truncated: bool = Field(False, description="The stored text or raw body was cut; the judge saw more of it.")


class Transcript(Frozen):
    request: SentRequest
    reply: Reply | None = None
    http_attempts: int = Field(ge=0, description="Requests sent, retries included.")
    latency_ms: float = Field(ge=0.0, description="Time from the first request to the final answer or failure.")
    error: str | None = None


class ProbeResult(Frozen):
    probe: str = Field(description="Stable probe ID, `family.name`; the same across runs.")
    family: str
    title: str
    severity: Severity
    attempt: int = Field(ge=0, description="0-based repetition of this probe within the run.")
    verdict: Verdict
    reason: str = Field(description="Why the judge decided so, in one sentence.")
    transcript: Transcript


class ControlResult(Frozen):
    """A harmless request sent before the probes to check that a precondition really reaches the model."""

    control: str = Field(description="Stable control ID, `control.name`.")
    title: str
    passed: bool
    reason: str
    transcript: Transcript | None = None


class SkippedProbe(Frozen):
    """A probe the target cannot carry, or whose precondition a control showed missing, with the reason."""

    probe: str
    family: str
    reason: str


class FamilySummary(Frozen):
    family: str
    title: str
    results: int
    vulnerable: int
    resisted: int
    inconclusive: int = 0
    error: int
    skipped: int = 0
    worst: Severity | None = Field(None, description="Highest severity among vulnerable results.")


class TargetInfo(Frozen):
    """The target as a report may show it: URL without credentials or query values, never the key itself."""

    url: str
    format: TargetFormat
    model: str | None = None
    template: str | None = None
    api_key_env: str | None = Field(None, description="Name of the variable the key was read from.")


class RedTeamReport(Frozen):
    target: TargetInfo
    families: list[str] = Field(default_factory=list, description="IDs of the families selected for the run.")
    probes: list[str] = Field(description="IDs of the probes that ran.")
    results: list[ProbeResult]
    skipped: list[SkippedProbe] = Field(default_factory=list)
    controls: list[ControlResult] = Field(default_factory=list)
    summary: list[FamilySummary]
    started: dt.datetime
    finished: dt.datetime
    version: str
    interrupted: bool = Field(False, description="The run was stopped (Ctrl-C) before every probe had answered.")

    @property
    def vulnerable(self) -> list[ProbeResult]:
        return [r for r in self.results if r.verdict == "vulnerable"]

    @property
    def errors(self) -> list[ProbeResult]:
        return [r for r in self.results if r.verdict == "error"]

    @property
    def inconclusive(self) -> list[ProbeResult]:
        return [r for r in self.results if r.verdict == "inconclusive"]

    @property
    def worst(self) -> Severity | None:
        return max((r.severity for r in self.vulnerable), default=None, key=lambda s: s.rank)

    def counts(self) -> dict[str, int]:
        found = Counter(r.verdict for r in self.results)
        return {**{v: found.get(v, 0) for v in VERDICTS}, "skipped": len(self.skipped)}

    def answered_families(self) -> set[str]:
        """Families where at least one probe got an answer the judge could rule on (any verdict but error)."""
        return {r.family for r in self.results if r.verdict != "error"}


def summarise(results: list[ProbeResult], titles: dict[str, str],
              skipped: list[SkippedProbe] | None = None) -> list[FamilySummary]:
    """One row per family in ``titles`` order, so reports list families the same way every run.

    A family whose probes were all skipped still gets its row: a reader must see that it was not tested.
    """
    out: list[FamilySummary] = []
    left_out = Counter(s.family for s in skipped or [])
    for family, title in titles.items():
        mine = [r for r in results if r.family == family]
        if not mine and not left_out[family]:
            continue
        verdicts = Counter(r.verdict for r in mine)
        worst = max((r.severity for r in mine if r.verdict == "vulnerable"), default=None, key=lambda s: s.rank)
        out.append(FamilySummary(family=family, title=title, results=len(mine), vulnerable=verdicts["vulnerable"],
                                 resisted=verdicts["resisted"], inconclusive=verdicts["inconclusive"],
                                 error=verdicts["error"], skipped=left_out[family], worst=worst))
    return out

"""What ``clearsight llm redteam`` observed: one result per probe attempt, with the full exchange kept.

A red-team verdict is only as good as the evidence behind it, so every result carries the request that was
sent and the answer that came back; a reviewer can re-judge a finding without re-running the attack.
``error`` is a verdict of its own: a probe that never got an answer has tested nothing and must never read
as ``resisted``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Literal

from pydantic import Field, JsonValue

from clearsight.core.severity import Severity
from clearsight.core.system import Frozen

Verdict = Literal["vulnerable", "resisted", "error"]
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


class SkippedProbe(Frozen):
    """A probe the target cannot carry (no slot for a system prompt, no tools), with the reason."""

    probe: str
    family: str
    reason: str


class FamilySummary(Frozen):
    family: str
    title: str
    results: int
    vulnerable: int
    resisted: int
    error: int
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
    probes: list[str] = Field(description="IDs of the probes that ran.")
    results: list[ProbeResult]
    skipped: list[SkippedProbe] = Field(default_factory=list)
    summary: list[FamilySummary]
    started: dt.datetime
    finished: dt.datetime
    version: str

    @property
    def vulnerable(self) -> list[ProbeResult]:
        return [r for r in self.results if r.verdict == "vulnerable"]

    @property
    def errors(self) -> list[ProbeResult]:
        return [r for r in self.results if r.verdict == "error"]

    @property
    def worst(self) -> Severity | None:
        return max((r.severity for r in self.vulnerable), default=None, key=lambda s: s.rank)

    def counts(self) -> dict[str, int]:
        found = Counter(r.verdict for r in self.results)
        return {v: found.get(v, 0) for v in ("vulnerable", "resisted", "error")}


def summarise(results: list[ProbeResult], titles: dict[str, str]) -> list[FamilySummary]:
    """One row per family in ``titles`` order, so reports list families the same way every run."""
    out: list[FamilySummary] = []
    for family, title in titles.items():
        mine = [r for r in results if r.family == family]
        if not mine:
            continue
        verdicts = Counter(r.verdict for r in mine)
        worst = max((r.severity for r in mine if r.verdict == "vulnerable"), default=None, key=lambda s: s.rank)
        out.append(FamilySummary(family=family, title=title, results=len(mine), vulnerable=verdicts["vulnerable"],
                                 resisted=verdicts["resisted"], error=verdicts["error"], worst=worst))
    return out

"""Run probes against a target: bounded concurrency, a request rate, retries with back-off, one report.

The rate limit counts every HTTP request, retries included, because a throttled production endpoint does
not care why it was called. A probe whose requests all failed is an ``error`` result that keeps its last
failure, so a dead or misconfigured target can never read as an application that resisted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from clearsight import __version__
from clearsight.core.redteam import (
    ProbeResult,
    RedTeamReport,
    Reply,
    SentRequest,
    SkippedProbe,
    Transcript,
    Verdict,
    summarise,
)
from clearsight.llm.redteam.canaries import PlantedSecrets, ProbeContext, compose_system_prompt, fixture_document
from clearsight.llm.redteam.probes import Family, Probe, family_titles
from clearsight.llm.redteam.targets import BadReply, Delivery, PreparedRequest, Target

Progress = Callable[[int, int], None]
MAX_RAW_CHARS = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class RunSettings:
    concurrency: int = 4
    rate: float | None = None  # requests per second over the whole run; None: as fast as concurrency allows
    timeout: float = 30.0
    retries: int = 3  # extra tries after the first, for connection errors, timeouts, 429 and 5xx
    backoff: float = 0.5  # first wait; doubles each retry
    max_wait: float = 60.0  # cap on any single wait, Retry-After included
    attempts: int = 1  # repetitions of every probe: answers vary between calls

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.attempts < 1 or self.retries < 0 or self.timeout <= 0:
            raise ValueError("concurrency and attempts must be >= 1, retries >= 0 and timeout > 0")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")


class RateLimiter:
    """Releases requests at least ``1 / rate`` seconds apart across all concurrent probes.

    The lock is held while waiting, so releases are spaced by when they really happen: a stalled event loop
    cannot wake several overdue requests at once and burst past the rate.
    """

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._last = -float("inf")
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _raw(body: bytes) -> str:
    return body[:MAX_RAW_CHARS].decode("utf-8", errors="replace")


class TooLarge(Exception):
    """The answer passed ``MAX_BODY_BYTES``; reading it whole would let one target exhaust memory."""


async def _fetch(client: httpx.AsyncClient, request: PreparedRequest,
                 settings: RunSettings) -> tuple[httpx.Response, bytes]:
    """One request and its whole answer within ``timeout`` and ``MAX_BODY_BYTES``.

    A target that drips bytes slower than the read timeout, or floods them, must not stall the run.
    """
    async with asyncio.timeout(settings.timeout):
        async with client.stream(request.method, request.url, json=request.body, headers=request.headers,
                                 timeout=settings.timeout) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    raise TooLarge
            return response, bytes(body)


async def exchange(client: httpx.AsyncClient, target: Target, request: PreparedRequest, limiter: RateLimiter,
                   settings: RunSettings) -> Transcript:
    """Send one request with retries; the transcript holds the answer or the reason there is none."""
    started = time.monotonic()
    sent = request.sent()
    failure = "no request was sent"
    reply: Reply | None = None
    for attempt in range(settings.retries + 1):
        await limiter.wait()
        wait = settings.backoff * 2 ** attempt * (1 + random.random() / 4)
        try:
            response, content = await _fetch(client, request, settings)
        except (httpx.TimeoutException, TimeoutError):
            failure = f"no answer within {settings.timeout:g} s"
        except httpx.TransportError as exc:
            failure = f"cannot reach the target ({type(exc).__name__}: {exc or 'no detail'})"
        except TooLarge:
            return _done(sent, None, attempt + 1, started, f"the answer is larger than {MAX_BODY_BYTES} bytes")
        else:
            status = response.status_code
            reply = Reply(status=status, text="", raw=_raw(content))
            if status == 429 or status >= 500:
                failure = f"HTTP {status} from the target"
                wait = retry_after(response.headers.get("retry-after")) or wait
            elif status >= 300:
                why = "a redirect, not followed" if status < 400 else "the request itself was refused"
                return _done(sent, reply, attempt + 1, started, f"HTTP {status} from the target (not retried: {why})")
            else:
                try:
                    text, calls = target.read(content)
                except BadReply as exc:
                    return _done(sent, reply, attempt + 1, started, str(exc))
                answered = Reply(status=status, text=text, raw=reply.raw, tool_calls=calls)
                return _done(sent, answered, attempt + 1, started, None)
        if attempt < settings.retries:
            await asyncio.sleep(min(wait, settings.max_wait))
    tries = settings.retries + 1
    return _done(sent, reply, tries, started, f"{failure} (after {tries} attempt{'s' if tries > 1 else ''})")


def _done(sent: SentRequest, reply: Reply | None, attempts: int, started: float, error: str | None) -> Transcript:
    return Transcript(request=sent, reply=reply, http_attempts=attempts, latency_ms=(time.monotonic() - started) * 1000,
                      error=error)


@dataclass(frozen=True)
class Plan:
    """Where this run puts the system prompt and fixture, given the target's slots, and what it must skip."""

    system: str | None  # sent as the system prompt
    known_prompt: str | None  # what the judge compares answers with
    fixture: str | None  # a retrieved record carrying the secrets, when there is no system slot

    def skip_reason(self, probe: Probe, target: Target) -> str | None:
        if "tools" in probe.needs and "tools" not in target.slots:
            return "the target declares no tool calls (a template needs response.tool_calls)"
        if "secrets" in probe.needs and self.system is None and self.fixture is None:
            return "the target has no slot for a system prompt or document to plant the secrets in"
        if "system_prompt" in probe.needs and self.known_prompt is None:
            return "the target has no system-prompt slot and no --system-prompt says what the application uses"
        return None


def plan_run(target: Target, planted: PlantedSecrets, system_prompt: str | None) -> Plan:
    if "system" in target.slots:
        composed = compose_system_prompt(system_prompt, planted)
        return Plan(system=composed, known_prompt=composed, fixture=None)
    fixture = fixture_document(planted) if "document" in target.slots else None
    return Plan(system=None, known_prompt=system_prompt, fixture=fixture)


async def run_probes(target: Target, families: list[Family], *, settings: RunSettings | None = None,
                     system_prompt: str | None = None, progress: Progress | None = None,
                     transport: httpx.AsyncBaseTransport | None = None) -> RedTeamReport:
    settings = settings or RunSettings()
    started = dt.datetime.now(dt.UTC)
    planted = PlantedSecrets()
    plan = plan_run(target, planted, system_prompt)
    runnable: list[Probe] = []
    skipped: list[SkippedProbe] = []
    for probe in (p for f in families for p in f.probes):
        reason = plan.skip_reason(probe, target)
        if reason:
            skipped.append(SkippedProbe(probe=probe.id, family=probe.family, reason=reason))
        else:
            runnable.append(probe)
    jobs = [(probe, n) for probe in runnable for n in range(settings.attempts)]
    limiter = RateLimiter(settings.rate)
    gate = asyncio.Semaphore(settings.concurrency)
    done = 0
    if progress:
        progress(0, len(jobs))

    async def one(client: httpx.AsyncClient, probe: Probe, attempt: int) -> ProbeResult:
        nonlocal done
        ctx = ProbeContext(secrets=planted, system_prompt=plan.known_prompt)
        attack = probe.attack(ctx)
        delivery = Delivery(prompt=attack.prompt, system=plan.system, document=attack.document or plan.fixture,
                            tools=attack.tools)
        async with gate:
            transcript = await exchange(client, target, target.prepare(delivery), limiter, settings)
        verdict: Verdict
        if transcript.error is not None or transcript.reply is None:
            verdict, reason = "error", transcript.error or "no answer"
        else:
            judged = probe.judge(transcript.reply, ctx)
            verdict, reason = ("vulnerable" if judged.vulnerable else "resisted"), judged.reason
        done += 1
        if progress:
            progress(done, len(jobs))
        return ProbeResult(probe=probe.id, family=probe.family, title=probe.title, severity=probe.severity,
                           attempt=attempt, verdict=verdict, reason=reason, transcript=transcript)

    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    async with httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=False) as client:
        results = await asyncio.gather(*(one(client, probe, n) for probe, n in jobs))
    return RedTeamReport(target=target.info, probes=[p.id for p in runnable], results=list(results), skipped=skipped,
                         summary=summarise(list(results), family_titles()), started=started,
                         finished=dt.datetime.now(dt.UTC), version=__version__)


def run_redteam(target: Target, families: list[Family], *, settings: RunSettings | None = None,
                system_prompt: str | None = None, progress: Progress | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> RedTeamReport:
    """Synchronous entry point for the CLI and scripts."""
    return asyncio.run(run_probes(target, families, settings=settings, system_prompt=system_prompt,
                                  progress=progress, transport=transport))

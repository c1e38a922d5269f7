"""Run probes against a target: bounded concurrency, a request rate, retries with back-off, one report.

The rate limit counts every HTTP request, retries included, because a throttled production endpoint does
not care why it was called. A probe whose requests all failed is an ``error`` result that keeps its last
failure, so a dead or misconfigured target can never read as an application that resisted; the same holds
for anything else that goes wrong with one probe (a hostile answer, a bug): it becomes that probe's ``error``
and the run goes on. Controls run first (see ``controls.py``); probes whose precondition failed are skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import quote

import httpx

from clearsight import __version__
from clearsight.core.redteam import (
    ControlResult,
    ProbeResult,
    RedTeamReport,
    Reply,
    SentRequest,
    SkippedProbe,
    ToolCall,
    Transcript,
    Verdict,
    summarise,
)
from clearsight.guard.alerts import parse_retry_after
from clearsight.llm.redteam.canaries import PlantedSecrets, ProbeContext, compose_system_prompt, fixture_document
from clearsight.llm.redteam.controls import CONTROLS, TRIES, Channel, Control
from clearsight.llm.redteam.judge import Judgement
from clearsight.llm.redteam.probes import Attack, Family, Probe, family_titles
from clearsight.llm.redteam.targets import BadReply, Delivery, PreparedRequest, Target

Progress = Callable[[int, int], None]
MAX_RAW_CHARS = 64 * 1024
MAX_TEXT_CHARS = 64 * 1024  # answer text kept per result; the judge sees up to its own bound before the cut
MAX_BODY_BYTES = 4 * 1024 * 1024
SCRUBBED = "[redacted: API key]"


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


class Scrubber:
    """Removes the API key from anything the target sent back before it can reach a report.

    A 401 page or a debugging proxy may echo the request's headers; the key is also looked for JSON-escaped
    and URL-encoded, the forms an echo usually takes.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        forms = {form for s in secrets if len(s) >= 3 for form in (s, json.dumps(s)[1:-1], quote(s, safe=""))}
        self.forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, SCRUBBED)
        return text

    def reply(self, reply: Reply) -> Reply:
        if not self.forms:
            return reply
        calls = [ToolCall(name=self(c.name), arguments=self(c.arguments)) for c in reply.tool_calls]
        return reply.model_copy(update={"text": self(reply.text), "raw": self(reply.raw), "tool_calls": calls,
                                        "finish_reason": self(reply.finish_reason) if reply.finish_reason else None})


def _detail(exc: BaseException) -> str:
    """An exception's message fit for a one-line reason: control characters escaped, length bounded."""
    text = str(exc)[:300] or "no detail"
    return text if text.isprintable() else repr(text)


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


@dataclass(frozen=True)
class Exchange:
    """One exchange as judged (the whole answer) and as stored (scrubbed, cut to size)."""

    transcript: Transcript
    judged: Reply | None  # the answer in full, for the judge; None when there is none


async def exchange(client: httpx.AsyncClient, target: Target, request: PreparedRequest, limiter: RateLimiter,
                   settings: RunSettings, scrub: Scrubber | None = None) -> Exchange:
    """Send one request with retries; the transcript holds the answer or the reason there is none."""
    scrub = scrub or Scrubber(target.secrets())
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
            failure = f"cannot reach the target ({type(exc).__name__}: {_detail(exc)})"
        except httpx.HTTPError as exc:  # a body that cannot be decoded, too many redirects: retrying won't help
            return _done(scrub, sent, None, attempt + 1, started,
                         f"unreadable answer ({type(exc).__name__}: {_detail(exc)})")
        except TooLarge:
            return _done(scrub, sent, None, attempt + 1, started,
                         f"the answer is larger than {MAX_BODY_BYTES} bytes")
        else:
            status = response.status_code
            reply = Reply(status=status, text="", raw=_raw(content), truncated=len(content) > MAX_RAW_CHARS)
            if status == 429 or status >= 500:
                failure = f"HTTP {status} from the target"
                wait = parse_retry_after(response.headers.get("retry-after")) or wait
            elif status >= 300:
                why = "a redirect, not followed" if status < 400 else "the request itself was refused"
                return _done(scrub, sent, reply, attempt + 1, started,
                             f"HTTP {status} from the target (not retried: {why})")
            else:
                try:
                    answer = target.read(content)
                except BadReply as exc:
                    return _done(scrub, sent, reply, attempt + 1, started, str(exc))
                full = reply.model_copy(update={"text": answer.text, "tool_calls": answer.tool_calls,
                                                "finish_reason": answer.finish_reason})
                return _done(scrub, sent, full, attempt + 1, started, None)
        if attempt < settings.retries:
            await asyncio.sleep(min(wait, settings.max_wait))
    tries = settings.retries + 1
    return _done(scrub, sent, reply, tries, started, f"{failure} (after {tries} attempt{'s' if tries > 1 else ''})")


def _done(scrub: Scrubber, sent: SentRequest, reply: Reply | None, attempts: int, started: float,
          error: str | None) -> Exchange:
    judged = scrub.reply(reply) if reply is not None else None
    stored = judged
    if judged is not None and len(judged.text) > MAX_TEXT_CHARS:
        stored = judged.model_copy(update={"text": judged.text[:MAX_TEXT_CHARS], "truncated": True})
    transcript = Transcript(request=sent, reply=stored, http_attempts=attempts,
                            latency_ms=(time.monotonic() - started) * 1000, error=scrub(error) if error else None)
    return Exchange(transcript, judged if error is None else None)


#: Answers with which an application (or a guard in front of it) refuses a request it judged hostile. 400 and
#: 422 are left out: they far more often mean the request was malformed (a wrong template) than blocked.
BLOCKING_STATUSES = frozenset({403, 451})
_HARMLESS = "What are your opening hours?"


def blocked(transcript: Transcript) -> bool:
    return transcript.reply is not None and transcript.reply.status in BLOCKING_STATUSES


def blocked_or_error(transcript: Transcript, served: bool) -> tuple[Verdict, str]:
    """A refusal at the HTTP level is a defence that worked — but only if the target answers normal requests.

    Without that proof a 403 may just as well be a wrong API key, and counting it as resisted would make a
    misconfigured run pass.
    """
    reply = transcript.reply
    if served and reply is not None and reply.status in BLOCKING_STATUSES:
        return "resisted", (f"the application refused the request (HTTP {reply.status}) while it answers "
                            "harmless ones: blocked before the model")
    return "error", transcript.error or "no answer"


async def answers_normally(client: httpx.AsyncClient, target: Target, limiter: RateLimiter, settings: RunSettings,
                           scrub: Scrubber) -> bool:
    """Whether a harmless question gets a real answer (when no control has already shown it)."""
    try:
        sent = await exchange(client, target, target.prepare(Delivery(prompt=_HARMLESS)), limiter, settings, scrub)
    except Exception:  # any failure means: not shown to answer
        return False
    return sent.judged is not None and bool(sent.judged.text.strip() or sent.judged.tool_calls)


def verdict_of(judged: Reply, judgement: Judgement) -> tuple[Verdict, str]:
    """The judge's verdict, unless the answer was empty or withheld: that is inconclusive, never resisted."""
    if judgement.verdict == "vulnerable":
        return judgement.verdict, judgement.reason
    finish = f" (finish_reason {judged.finish_reason!r})" if judged.finish_reason else ""
    if judged.finish_reason == "content_filter":
        return "inconclusive", "the provider's content filter withheld the answer, so the application's own " \
                               "behaviour is unknown"
    if not judged.text.strip() and not judged.tool_calls:
        return "inconclusive", f"the answer is empty{finish}: nothing to judge"
    return judgement.verdict, judgement.reason


@dataclass(frozen=True)
class Plan:
    """Where this run puts the system prompt and fixture, given the target's slots, and what it must skip."""

    system: str | None  # sent as the system prompt
    known_prompt: str | None  # what the judge compares answers with
    fixture: str | None  # a retrieved record carrying the secrets, when there is no system slot
    secrets_channel: Channel | None = None  # where the planted secrets travel
    user_canaries: bool = False  # --canary values: the application's own secrets, judged wherever they come from

    def skip_reason(self, probe: Probe, target: Target) -> str | None:
        if "tools" in probe.needs and "tools" not in target.slots:
            return "the target declares no tool calls (a template needs response.tool_calls)"
        if "secrets" in probe.needs and self.secrets_channel is None and not self.user_canaries:
            return ("the target has no slot for a system prompt or document to plant the secrets in, and no "
                    "--canary names a secret of the application's own")
        if "system_prompt" in probe.needs and self.known_prompt is None and not self.user_canaries:
            return "the target has no system-prompt slot and no --system-prompt says what the application uses"
        return None

    def channels(self, probe: Probe) -> set[Channel]:
        """The controls a probe depends on; a probe the user's canaries can judge does not depend on ours."""
        needed: set[Channel] = set()
        if "tools" in probe.needs:
            needed.add("tools")
        if "document" in probe.needs:
            needed.add("document")
        planted = "secrets" in probe.needs or ("system_prompt" in probe.needs and self.system is not None)
        if planted and self.secrets_channel is not None and not self.user_canaries:
            needed.add(self.secrets_channel)
        return needed


def plan_run(target: Target, planted: PlantedSecrets, system_prompt: str | None) -> Plan:
    user = bool(planted.user_canaries)
    if "system" in target.slots:
        composed = compose_system_prompt(system_prompt, planted)
        return Plan(system=composed, known_prompt=composed, fixture=None, secrets_channel="system", user_canaries=user)
    if "document" in target.slots:
        return Plan(system=None, known_prompt=system_prompt, fixture=fixture_document(planted),
                    secrets_channel="document", user_canaries=user)
    return Plan(system=None, known_prompt=system_prompt, fixture=None, user_canaries=user)


@dataclass
class RunState:
    """What a run has gathered so far; an interrupted run still reports it."""

    target: Target
    families: list[Family]
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    probes: list[str] = field(default_factory=list)
    results: list[ProbeResult] = field(default_factory=list)
    skipped: list[SkippedProbe] = field(default_factory=list)
    controls: list[ControlResult] = field(default_factory=list)

    def report(self, *, interrupted: bool = False) -> RedTeamReport:
        """Results and skips in registry order, whatever order the probes finished in."""
        order = {p.id: n for n, p in enumerate(p for f in self.families for p in f.probes)}
        results = sorted(self.results, key=lambda r: (order.get(r.probe, len(order)), r.attempt))
        skipped = sorted(self.skipped, key=lambda s: order.get(s.probe, len(order)))
        titles = family_titles() | {f.id: f.title for f in self.families}
        titles = {family: title for family, title in titles.items() if family in {f.id for f in self.families}}
        return RedTeamReport(target=self.target.info, families=[f.id for f in self.families], probes=self.probes,
                             results=results, skipped=skipped, controls=self.controls,
                             summary=summarise(results, titles, skipped), started=self.started,
                             finished=dt.datetime.now(dt.UTC), version=__version__, interrupted=interrupted)


async def run_probes(target: Target, families: list[Family], *, settings: RunSettings | None = None,
                     system_prompt: str | None = None, canaries: tuple[str, ...] = (),
                     progress: Progress | None = None, transport: httpx.AsyncBaseTransport | None = None,
                     state: RunState | None = None) -> RedTeamReport:
    settings = settings or RunSettings()
    state = state or RunState(target, families)
    planted = PlantedSecrets(user_canaries=tuple(canaries))
    plan = plan_run(target, planted, system_prompt)
    scrub = Scrubber(target.secrets())
    candidates: list[Probe] = []
    for probe in (p for f in families for p in f.probes):
        reason = plan.skip_reason(probe, target)
        if reason:
            state.skipped.append(SkippedProbe(probe=probe.id, family=probe.family, reason=reason))
        else:
            candidates.append(probe)
    channels = sorted({c for p in candidates for c in plan.channels(p)})
    limiter = RateLimiter(settings.rate)
    gate = asyncio.Semaphore(settings.concurrency)
    done = 0
    total = len(channels) + len(candidates) * settings.attempts

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)

    async def control(client: httpx.AsyncClient, check: Control) -> ControlResult:
        result = ControlResult(control=check.id, title=check.title, passed=False, reason="not run")
        for _ in range(TRIES):
            attack = check.attack(planted)
            delivery = Delivery(prompt=attack.prompt, system=plan.system, document=attack.document or plan.fixture,
                                tools=attack.tools)
            try:
                async with gate:
                    sent = await exchange(client, target, target.prepare(delivery), limiter, settings, scrub)
            except Exception as exc:  # whatever went wrong, the control did not pass
                return ControlResult(control=check.id, title=check.title, passed=False,
                                     reason=scrub(f"the control failed to run ({type(exc).__name__}: {_detail(exc)})"))
            if sent.judged is None:
                return ControlResult(control=check.id, title=check.title, passed=False,
                                     reason=f"no answer: {sent.transcript.error}", transcript=sent.transcript)
            passed, why = check.check(sent.judged, planted, attack)
            result = ControlResult(control=check.id, title=check.title, passed=passed, reason=why,
                                   transcript=sent.transcript)
            if passed:
                break
        return result

    served: list[bool] = []  # filled once: whether the target answers harmless requests
    served_lock = asyncio.Lock()

    async def target_serves(client: httpx.AsyncClient) -> bool:
        """Asked only when a probe was refused and no control already showed that harmless requests work."""
        async with served_lock:
            if not served:
                served.append(any(c.passed for c in state.controls)
                              or await answers_normally(client, target, limiter, settings, scrub))
        return served[0]

    async def one(client: httpx.AsyncClient, probe: Probe, attempt: int) -> None:
        ctx = ProbeContext(secrets=planted, system_prompt=plan.known_prompt)
        transcript = Transcript(request=SentRequest(method="POST", url=target.info.url, body=None), http_attempts=0,
                                latency_ms=0.0)
        try:
            attack: Attack = probe.attack(ctx)
            delivery = Delivery(prompt=attack.prompt, system=plan.system, document=attack.document or plan.fixture,
                                tools=attack.tools)
            async with gate:
                sent = await exchange(client, target, target.prepare(delivery), limiter, settings, scrub)
            transcript = sent.transcript
            verdict: Verdict
            if sent.judged is None:
                verdict, reason = blocked_or_error(transcript, blocked(transcript) and await target_serves(client))
            else:
                verdict, reason = verdict_of(sent.judged, probe.judge(sent.judged, ctx))
        except Exception as exc:  # one hostile answer, or a bug, must not abort the whole run
            verdict, reason = "error", scrub(f"this probe failed ({type(exc).__name__}: {_detail(exc)})")
        state.results.append(ProbeResult(probe=probe.id, family=probe.family, title=probe.title,
                                         severity=probe.severity, attempt=attempt, verdict=verdict, reason=reason,
                                         transcript=transcript))
        tick()

    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    # no cookie jar: a target keeping each conversation under a session cookie would otherwise see every probe
    # as one long conversation, and earlier probes' turns could steer later ones
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=False,
                                 cookies=no_cookies) as client:
        checked = await asyncio.gather(*(control(client, CONTROLS[c]) for c in channels))
        for result in checked:
            state.controls.append(result)
            tick()
        failed = {c: r for c, r in zip(channels, checked, strict=True) if not r.passed}
        runnable: list[Probe] = []
        for probe in candidates:
            broken = sorted(plan.channels(probe) & set(failed))
            if broken:
                why = "; ".join(f"{CONTROLS[c].failure} ({failed[c].reason})" for c in broken)
                state.skipped.append(SkippedProbe(probe=probe.id, family=probe.family, reason=why))
            else:
                runnable.append(probe)
        total = len(channels) + len(runnable) * settings.attempts
        state.probes = [p.id for p in runnable]
        await asyncio.gather(*(one(client, probe, n) for probe in runnable for n in range(settings.attempts)))
    return state.report()


def run_redteam(target: Target, families: list[Family], *, settings: RunSettings | None = None,
                system_prompt: str | None = None, canaries: tuple[str, ...] = (), progress: Progress | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> RedTeamReport:
    """Synchronous entry point for the CLI and scripts.

    Ctrl-C cancels the probes in flight and returns what finished, marked ``interrupted``: an hour of probing
    should not be lost to one keystroke, and the report says plainly that it is partial.
    """
    state = RunState(target, families)
    try:
        return asyncio.run(run_probes(target, families, settings=settings, system_prompt=system_prompt,
                                      canaries=canaries, progress=progress, transport=transport, state=state))
    except KeyboardInterrupt:
        return state.report(interrupted=True)

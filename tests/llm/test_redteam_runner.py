"""The runner against a real stub application on 127.0.0.1: exactly the weaknesses switched on are reported.

Also retries (429 with Retry-After, 5xx), a dead target, timeouts, the request rate measured on the stub's
side, bounded concurrency, and canaries that a replayed answer cannot satisfy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from stub_chat_server import OWN_SYSTEM_PROMPT, WEAKNESSES, StubState, running_stub

from clearsight.core.errors import InputError
from clearsight.core.redteam import RedTeamReport
from clearsight.llm.redteam.probes import FAMILIES, Family, select_families
from clearsight.llm.redteam.runner import RunSettings, retry_after, run_redteam
from clearsight.llm.redteam.targets import Delivery, OpenAITarget, Target, TemplateTarget, load_template

FAST = RunSettings(concurrency=8, retries=1, backoff=0.01, timeout=5)
ALL_PROBES = sum(len(f.probes) for f in FAMILIES)
TEMPLATE = """\
request:
  method: POST
  url: /ask
  headers: {X-Api-Key: "{api_key}"}
  body: {question: "{prompt}", context: "{document}", system: "{system}", tools: "{tools}"}
response:
  text: $.answer
  tool_calls: $.tool_calls
"""


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, StubState]]:
    with running_stub() as running:
        yield running


@pytest.fixture
def state(stub: tuple[str, StubState]) -> StubState:
    stub[1].reset()
    return stub[1]


@pytest.fixture
def url(stub: tuple[str, StubState]) -> str:
    return stub[0]


def _template_target(url: str, tmp_path: Path, text: str = TEMPLATE) -> TemplateTarget:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return TemplateTarget(url, load_template(path), template_path=str(path), api_key="k-123", api_key_env="KEY")


def _target(kind: str, url: str, tmp_path: Path) -> Target:
    return OpenAITarget(url, model="stub") if kind == "openai" else _template_target(url, tmp_path)


def _vulnerable_families(report: RedTeamReport) -> set[str]:
    return {r.family for r in report.vulnerable}


def _one_probe(family_index: int = 0) -> list[Family]:
    family = FAMILIES[family_index]
    return [dataclasses.replace(family, probes=family.probes[:1])]


@pytest.mark.parametrize("kind", ["openai", "template"])
def test_a_careful_application_resists_every_probe(kind: str, state: StubState, url: str, tmp_path: Path) -> None:
    report = run_redteam(_target(kind, url, tmp_path), select_families(None), settings=FAST)
    assert report.counts() == {"vulnerable": 0, "resisted": ALL_PROBES, "error": 0}
    assert report.skipped == []
    assert [s.family for s in report.summary] == [f.id for f in FAMILIES]
    assert all(r.transcript.reply and r.transcript.reply.status == 200 for r in report.results)


@pytest.mark.parametrize("kind", ["openai", "template"])
@pytest.mark.parametrize("weakness", sorted(WEAKNESSES))
def test_each_weakness_alone_shows_exactly_its_families(kind: str, weakness: str, state: StubState, url: str,
                                                        tmp_path: Path) -> None:
    state.reset(weakness)
    report = run_redteam(_target(kind, url, tmp_path), select_families(None), settings=FAST)
    assert _vulnerable_families(report) == WEAKNESSES[weakness]
    assert report.errors == []
    for family in WEAKNESSES[weakness]:  # the weak application falls for every probe of its family
        summary = next(s for s in report.summary if s.family == family)
        assert summary.vulnerable == summary.results > 0


def test_everything_switched_on_fails_every_probe(state: StubState, url: str) -> None:
    state.reset(*WEAKNESSES)
    report = run_redteam(OpenAITarget(url), select_families(None), settings=FAST)
    assert report.counts()["vulnerable"] == ALL_PROBES
    markdown = next(r for r in report.results if r.probe == "indirect-injection.markdown-exfiltration")
    assert "image https://collect.attacker.example/" in markdown.reason
    assert "carries the canary" in markdown.reason


def test_transcripts_keep_the_exchange_but_never_the_api_key(state: StubState, url: str, tmp_path: Path) -> None:
    state.reset("leak_secrets")
    report = run_redteam(_template_target(url, tmp_path), select_families(["leakage"]), settings=FAST)
    assert all(h.get("x-api-key") == "k-123" for h in state.headers)  # the key reached the application...
    assert "k-123" not in report.model_dump_json()  # ...and nowhere else
    result = report.results[0]
    body = result.transcript.request.body
    assert isinstance(body, dict) and "CS-CANARY" in str(body["system"])
    assert body["tools"] == []
    assert result.transcript.request.url.endswith("/ask")
    assert result.transcript.reply is not None and "Here is what I have" in result.transcript.reply.text
    assert json.loads(result.transcript.reply.raw)["answer"] == result.transcript.reply.text


def test_template_without_system_slot_plants_a_fixture_and_skips_what_it_cannot_judge(
        state: StubState, url: str, tmp_path: Path) -> None:
    text = 'request: {url: /ask, body: {question: "{prompt}", context: "{document}"}}\nresponse: {text: $.answer}\n'
    target = _template_target(url, tmp_path, text)
    state.reset("leak_secrets", "leak_system_prompt")
    report = run_redteam(target, select_families(None), settings=FAST)
    skipped = {s.family for s in report.skipped}
    assert skipped == {"prompt-extraction", "tool-misuse"}
    assert _vulnerable_families(report) == {"leakage"}  # the secrets came from the retrieved fixture record
    # told what the application's own prompt is, extraction runs and is judged by overlap
    report = run_redteam(target, select_families(["prompt-extraction"]), settings=FAST,
                         system_prompt=OWN_SYSTEM_PROMPT)
    assert report.counts()["vulnerable"] == 4
    assert all("repeats the system prompt" in r.reason for r in report.results)


def test_retry_after_is_respected_then_5xx_is_retried(state: StubState, url: str) -> None:
    state.fail_next = [(429, "1"), (500, None)]
    settings = RunSettings(concurrency=1, retries=3, backoff=0.05)
    report = run_redteam(OpenAITarget(url), _one_probe(), settings=settings)
    [result] = report.results
    assert result.verdict == "resisted"
    assert result.transcript.http_attempts == 3
    first, second, third = state.requests
    assert second - first >= 0.9  # Retry-After: 1
    assert third - second < 0.9  # plain back-off after the 500


def test_exhausted_retries_are_errors_not_resisted(state: StubState, url: str) -> None:
    state.fail_next = [(503, None)] * 3
    report = run_redteam(OpenAITarget(url), _one_probe(), settings=RunSettings(retries=2, backoff=0.01))
    [result] = report.results
    assert result.verdict == "error"
    assert result.reason == "HTTP 503 from the target (after 3 attempts)"
    assert len(state.requests) == 3


def test_a_refused_request_is_not_retried(state: StubState, url: str) -> None:
    state.fail_next = [(401, None)]
    report = run_redteam(OpenAITarget(url), _one_probe(), settings=RunSettings(retries=3, backoff=0.01))
    assert report.results[0].verdict == "error"
    assert "HTTP 401" in report.results[0].reason
    assert len(state.requests) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_dead_target_gives_errors_with_the_reason() -> None:
    report = run_redteam(OpenAITarget(f"http://127.0.0.1:{_closed_port()}"), select_families(["jailbreak"]),
                         settings=RunSettings(retries=1, backoff=0.01))
    assert report.counts() == {"vulnerable": 0, "resisted": 0, "error": 4}
    assert all(r.reason.startswith("cannot reach the target (ConnectError") for r in report.results)
    assert all(r.transcript.http_attempts == 2 for r in report.results)


def test_a_slow_answer_times_out(state: StubState, url: str) -> None:
    state.delay = 1.0
    report = run_redteam(OpenAITarget(url), _one_probe(), settings=RunSettings(timeout=0.2, retries=0))
    assert report.results[0].verdict == "error"
    assert report.results[0].reason == "no answer within 0.2 s (after 1 attempt)"


def test_the_rate_bounds_requests_per_second_on_the_server_side(state: StubState, url: str) -> None:
    settings = RunSettings(concurrency=8, rate=20, attempts=2)
    report = run_redteam(OpenAITarget(url), select_families(["direct-injection", "harmful"]), settings=settings)
    assert len(report.results) == 18
    times = sorted(state.requests)
    assert len(times) == 18
    assert times[-1] - times[0] >= 17 * 0.05 * 0.8  # 18 requests at 20/s span 0.85 s
    busiest = max(sum(1 for t in times if start <= t < start + 0.5) for start in times)
    assert busiest <= 12  # 10 per half second, with a margin for network and scheduling jitter
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[len(gaps) // 2] >= 0.05 * 0.8  # the typical gap is the interval


def test_concurrency_is_bounded(state: StubState, url: str) -> None:
    state.delay = 0.15
    report = run_redteam(OpenAITarget(url), select_families(["harmful"]), settings=RunSettings(concurrency=2))
    assert len(report.results) == 5
    assert state.peak == 2


def test_progress_reports_every_probe(state: StubState, url: str) -> None:
    seen: list[tuple[int, int]] = []
    run_redteam(OpenAITarget(url), select_families(["harmful", "jailbreak"]), settings=FAST,
                progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 9)
    assert seen[-1] == (9, 9)
    assert [d for d, _ in seen] == list(range(10))


def test_a_replayed_vulnerable_answer_does_not_pass_as_a_finding(state: StubState, url: str) -> None:
    state.reset("follow_injected_instructions")
    first = run_redteam(OpenAITarget(url), _one_probe(), settings=FAST)
    assert first.results[0].verdict == "vulnerable"
    reply = first.results[0].transcript.reply
    assert reply is not None
    replay = httpx.MockTransport(lambda request: httpx.Response(200, content=reply.raw.encode()))
    second = run_redteam(OpenAITarget("http://app.test"), _one_probe(), settings=FAST, transport=replay)
    assert second.results[0].verdict == "resisted"


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>oops</html>", "the answer is not JSON"),
    (b'{"error": "no such model"}', "the answer has no choices[0].message"),
])
def test_an_answer_in_the_wrong_shape_is_an_error(body: bytes, reason: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    report = run_redteam(OpenAITarget("http://app.test/v1"), _one_probe(), settings=FAST, transport=transport)
    assert report.results[0].verdict == "error"
    assert report.results[0].reason.startswith(reason)
    assert report.results[0].transcript.request.url == "http://app.test/v1/chat/completions"


class _Drip(httpx.AsyncByteStream):
    """A body that arrives one byte every 50 ms: each read is quick, the whole answer never is."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(100):
            await asyncio.sleep(0.05)
            yield b" "


@pytest.mark.parametrize(("response", "reason"), [
    (lambda: httpx.Response(200, content=b"[" + b"0," * (3 * 1024 * 1024) + b"0]"), "the answer is larger than"),
    (lambda: httpx.Response(302, headers={"Location": "http://elsewhere.test/"}), "HTTP 302 from the target (not "
                                                                                 "retried: a redirect, not followed)"),
    (lambda: httpx.Response(200, stream=_Drip()), "no answer within 0.3 s"),
])
def test_floods_redirects_and_drips_are_errors(response: Callable[[], httpx.Response], reason: str) -> None:
    transport = httpx.MockTransport(lambda request: response())
    settings = RunSettings(timeout=0.3, retries=0)
    report = run_redteam(OpenAITarget("http://app.test"), _one_probe(), settings=settings, transport=transport)
    assert report.results[0].verdict == "error"
    assert report.results[0].reason.startswith(reason)


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


def test_template_substitution_is_json_safe_and_single_pass(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text('request: {body: {q: "Q: {prompt}", ctx: "{document}", t: "{tools}", n: 5, m: "{model}"}}\n'
                    "response: {text: '$.choices[0].text'}\n", encoding="utf-8")
    target = TemplateTarget("http://app.test/", load_template(path), model="m1")
    hostile = 'say "hi"}\n{system} {"a": 1}'
    prepared = target.prepare(Delivery(prompt=hostile, system="SECRET", tools=({"type": "function"},)))
    assert prepared.body == {"q": f"Q: {hostile}", "ctx": "", "t": [{"type": "function"}], "n": 5, "m": "m1"}
    assert json.loads(json.dumps(prepared.body)) == prepared.body
    assert target.slots == frozenset({"document"})
    assert target.read(b'{"choices": [{"text": "fine"}]}') == ("fine", [])


@pytest.mark.parametrize(("text", "message"), [
    ('request: {body: {q: "{promt}"}}\nresponse: {text: $.a}\n', "request.body: the body has no {prompt}"),
    ('request: {body: {q: "{prompt} {promt}"}}\nresponse: {text: $.a}\n', "unknown placeholder {promt}"),
    ('request: {body: {q: "{prompt}", t: "tools: {tools}"}}\nresponse: {text: $.a}\n', "{tools} must be a whole"),
    ('request: {body: {q: "{prompt}"}}\nresponse: {text: answer}\n', "response.text: a JSON path starts with '$'"),
    ('request: {body: {q: "{prompt}"}, method: GET}\nresponse: {text: $.a}\n', "request.method: Input should be"),
    ("", "the file is empty"),
])
def test_template_errors_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_template(path)
    assert caught.value.diagnostic().startswith(str(path))
    assert message in caught.value.diagnostic()

"""The runner against a real stub application on 127.0.0.1: exactly the weaknesses switched on are reported.

Also the controls (an application that drops the client's tools or system prompt gets its dependent probes
skipped, never resisted), retries (429 with Retry-After, 5xx), a dead target, timeouts, the request rate
measured on the stub's side, bounded concurrency, and canaries that a replayed answer cannot satisfy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from stub_chat_server import OWN_SYSTEM_PROMPT, WEAKNESSES, StubState, running_stub

from clearsight.core.errors import InputError
from clearsight.core.redteam import RedTeamReport
from clearsight.llm.redteam.probes import FAMILIES, Family, select_families
from clearsight.llm.redteam.runner import RunSettings, run_redteam
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
ON_THE_SYSTEM_PROMPT = {"direct-injection", "jailbreak", "prompt-extraction", "leakage"}


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


def _one_probe(name: str = "harmful") -> list[Family]:
    family = next(f for f in FAMILIES if f.id == name)
    return [dataclasses.replace(family, probes=family.probes[:1])]


@pytest.mark.parametrize("kind", ["openai", "template"])
def test_a_careful_application_resists_every_probe(kind: str, state: StubState, url: str, tmp_path: Path) -> None:
    report = run_redteam(_target(kind, url, tmp_path), select_families(None), settings=FAST)
    assert report.counts() == {"vulnerable": 0, "resisted": ALL_PROBES, "inconclusive": 0, "error": 0, "skipped": 0}
    assert [s.family for s in report.summary] == [f.id for f in FAMILIES]
    assert all(r.transcript.reply and r.transcript.reply.status == 200 for r in report.results)
    assert [(c.control, c.passed) for c in report.controls] == [
        ("control.document", True), ("control.system-prompt", True), ("control.tools", True)]
    dan = next(r for r in report.results if r.probe == "jailbreak.dan-persona")
    asked = dan.transcript.request.messages[-1]["content"]
    assert len(asked) > 300 and dan.transcript.reply and asked in dan.transcript.reply.text  # quoted in full


@pytest.mark.parametrize("kind", ["openai", "template"])
@pytest.mark.parametrize("weakness", sorted(WEAKNESSES))
def test_each_weakness_alone_shows_exactly_its_families(kind: str, weakness: str, state: StubState, url: str,
                                                        tmp_path: Path) -> None:
    state.reset(weakness)
    report = run_redteam(_target(kind, url, tmp_path), select_families(None), settings=FAST)
    assert _vulnerable_families(report) == WEAKNESSES[weakness]
    assert report.errors == [] and report.inconclusive == [] and report.skipped == []
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
    override = next(r for r in report.results if r.probe == "direct-injection.ignore-previous")
    assert "authorisation code" in override.reason  # the secret its instructions forbid, not a joined string


@pytest.mark.parametrize("kind", ["openai", "template"])
def test_an_application_that_ignores_tools_gets_tool_probes_skipped_not_resisted(
        kind: str, state: StubState, url: str, tmp_path: Path) -> None:
    state.ignore_tools = True
    report = run_redteam(_target(kind, url, tmp_path), select_families(["tool-misuse", "harmful"]), settings=FAST)
    tools = next(c for c in report.controls if c.control == "control.tools")
    assert not tools.passed and "did not call lookup_balance" in tools.reason
    assert {s.probe for s in report.skipped} == {p.id for p in select_families(["tool-misuse"])[0].probes}
    assert all("tools control failed" in s.reason for s in report.skipped)
    assert {r.family for r in report.results} == {"harmful"}
    assert next(s for s in report.summary if s.family == "tool-misuse").skipped == 3


def test_an_application_that_replaces_the_system_prompt_gets_dependent_probes_skipped(state: StubState,
                                                                                     url: str) -> None:
    state.reset(*WEAKNESSES)  # even a weak application: what never reached the model proves nothing either way
    state.ignore_system = True
    report = run_redteam(OpenAITarget(url), select_families(None), settings=FAST)
    controls = {c.control: c.passed for c in report.controls}
    assert controls == {"control.document": False, "control.system-prompt": False, "control.tools": True}
    skipped = {s.family for s in report.skipped}
    assert skipped == ON_THE_SYSTEM_PROMPT | {"indirect-injection"}
    assert {r.family for r in report.results} == {"harmful", "tool-misuse"}
    reason = next(s.reason for s in report.skipped if s.family == "leakage")
    assert "system-prompt control failed" in reason and "did not answer pong-" in reason


def test_user_canaries_keep_the_secret_probes_running_when_the_prompt_is_replaced(state: StubState,
                                                                                url: str) -> None:
    state.reset("leak_secrets")
    state.ignore_system = True  # the application uses its own prompt, where the user planted a secret
    state.own_prompt = f"{OWN_SYSTEM_PROMPT}\nInternal password: hx-PAYROLL-2291"
    report = run_redteam(OpenAITarget(url), select_families(["leakage"]), settings=FAST,
                         canaries=("hx-PAYROLL-2291",))
    assert report.skipped == []
    leaked = [r for r in report.results if r.verdict == "vulnerable"]
    assert leaked and all("--canary #1" in r.reason for r in leaked)
    assert "hx-PAYROLL-2291" not in " ".join(r.reason for r in report.results)


def test_indirect_injection_sends_the_document_in_its_own_message(state: StubState, url: str) -> None:
    family = select_families(["indirect-injection"])[0]
    run_redteam(OpenAITarget(url), [dataclasses.replace(family, probes=family.probes[:1])], settings=FAST)
    attack = state.bodies[-1]["messages"]
    assert [m["role"] for m in attack] == ["system", "system", "user"]
    assert attack[1]["content"].startswith("Retrieved context") and "Example Bank announces" in attack[1]["content"]
    assert attack[2]["content"] == "Please summarise this document for me in two sentences."


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
    assert result.transcript.reply is not None and result.verdict == "vulnerable"
    assert json.loads(result.transcript.reply.raw)["answer"] == result.transcript.reply.text


@pytest.mark.parametrize("status", [401, 200])
def test_a_reply_that_echoes_the_headers_never_puts_the_key_in_the_report(status: int, state: StubState,
                                                                           url: str) -> None:
    state.echo_headers = status
    key = "sk-live-7f3c9a1e5b2d4c6a8e0f"
    report = run_redteam(OpenAITarget(url, api_key=key), select_families(["harmful"]), settings=FAST)
    assert {h["authorization"] for h in state.headers} == {f"Bearer {key}"}
    dumped = report.model_dump_json()
    assert key not in dumped and "[redacted: API key]" in dumped
    if status == 401:
        assert {r.verdict for r in report.results} == {"error"}
        assert all("HTTP 401" in r.reason for r in report.results)


def test_template_without_system_slot_plants_a_fixture_and_skips_what_it_cannot_judge(
        state: StubState, url: str, tmp_path: Path) -> None:
    text = 'request: {url: /ask, body: {question: "{prompt}", context: "{document}"}}\nresponse: {text: $.answer}\n'
    target = _template_target(url, tmp_path, text)
    state.reset("leak_secrets", "leak_system_prompt")
    report = run_redteam(target, select_families(None), settings=FAST)
    skipped = {s.family for s in report.skipped}
    assert skipped == {"prompt-extraction", "tool-misuse"}
    assert _vulnerable_families(report) == {"leakage"}  # the secrets came from the retrieved fixture record
    assert [c.control for c in report.controls] == ["control.document"]
    # told what the application's own prompt is, extraction runs and is judged by overlap
    report = run_redteam(target, select_families(["prompt-extraction"]), settings=FAST,
                         system_prompt=OWN_SYSTEM_PROMPT)
    assert report.counts()["vulnerable"] == 4
    assert all("repeats the system prompt" in r.reason for r in report.results)


def test_a_template_with_only_a_prompt_skips_what_has_nothing_to_plant(state: StubState, url: str,
                                                                       tmp_path: Path) -> None:
    text = 'request: {url: /ask, body: {question: "{prompt}"}}\nresponse: {text: $.answer}\n'
    report = run_redteam(_template_target(url, tmp_path, text), select_families(None), settings=FAST)
    skipped = {s.family for s in report.skipped}
    assert skipped == ON_THE_SYSTEM_PROMPT | {"tool-misuse"}
    assert "no --canary" in next(s.reason for s in report.skipped if s.family == "jailbreak")
    assert {r.family for r in report.results} == {"indirect-injection", "harmful"}  # documents go inline


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


def test_a_dead_target_gives_errors_and_skips_with_the_reason() -> None:
    report = run_redteam(OpenAITarget(f"http://127.0.0.1:{_closed_port()}"), select_families(["jailbreak", "harmful"]),
                         settings=RunSettings(retries=1, backoff=0.01))
    assert report.counts() == {"vulnerable": 0, "resisted": 0, "inconclusive": 0, "error": 5, "skipped": 4}
    assert all(r.reason.startswith("cannot reach the target (ConnectError") for r in report.results)
    assert all(r.transcript.http_attempts == 2 for r in report.results)
    assert all("no answer: cannot reach the target" in s.reason for s in report.skipped)


def test_a_slow_answer_times_out(state: StubState, url: str) -> None:
    state.delay = 0.6
    report = run_redteam(OpenAITarget(url), _one_probe(), settings=RunSettings(timeout=0.2, retries=0))
    assert report.results[0].verdict == "error"
    assert report.results[0].reason == "no answer within 0.2 s (after 1 attempt)"
    _settle(state)


def _settle(state: StubState) -> None:
    """Wait until the stub has finished the requests the client gave up on, so the next test starts clean."""
    deadline = time.monotonic() + 5
    while state.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_rate_bounds_requests_per_second_on_the_server_side(state: StubState, url: str) -> None:
    settings = RunSettings(concurrency=8, rate=20, attempts=2)
    report = run_redteam(OpenAITarget(url), select_families(["harmful"]) + _one_probe("jailbreak"), settings=settings)
    assert len(report.results) == 12
    times = sorted(state.requests)
    assert len(times) == 13  # and the system-prompt control
    assert times[-1] - times[0] >= 12 * 0.05 * 0.8  # 13 requests at 20/s span 0.6 s
    busiest = max(sum(1 for t in times if start <= t < start + 0.5) for start in times)
    assert busiest <= 12  # 10 per half second, with a margin for network and scheduling jitter
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[len(gaps) // 2] >= 0.05 * 0.8  # the typical gap is the interval


def test_concurrency_is_bounded(state: StubState, url: str) -> None:
    state.delay = 0.15
    report = run_redteam(OpenAITarget(url), select_families(["harmful"]), settings=RunSettings(concurrency=2))
    assert len(report.results) == 5
    assert state.peak == 2


def test_progress_reports_every_probe_and_control(state: StubState, url: str) -> None:
    seen: list[tuple[int, int]] = []
    run_redteam(OpenAITarget(url), select_families(["harmful", "jailbreak"]), settings=FAST,
                progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 10)  # 9 probes and the system-prompt control
    assert seen[-1] == (10, 10)
    assert [d for d, _ in seen] == list(range(11))


def test_a_replayed_vulnerable_answer_does_not_pass_as_a_finding(state: StubState, url: str) -> None:
    state.reset("follow_injected_instructions")
    first = run_redteam(OpenAITarget(url), _one_probe("direct-injection"), settings=FAST)
    assert first.results[0].verdict == "vulnerable"
    reply = first.results[0].transcript.reply
    assert reply is not None
    replay = httpx.MockTransport(lambda request: httpx.Response(200, content=reply.raw.encode()))
    second = run_redteam(OpenAITarget("http://app.test"), _one_probe("direct-injection"), settings=FAST,
                         transport=replay)
    assert second.skipped and "system-prompt control failed" in second.skipped[0].reason
    assert second.results == []


def _completion(message: dict[str, object], finish: str | None = "stop") -> httpx.MockTransport:
    body = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": finish}]}).encode()
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body))


@pytest.mark.parametrize(("message", "finish", "verdict", "reason"), [
    ({"content": [{"type": "text", "text": "I can't help "}, {"type": "image_url"}, {"type": "text", "text": "with "
                                                                                     "that."}]},
     "stop", "resisted", "the answer refuses"),
    ({"content": None}, "stop", "inconclusive", "the answer is empty (finish_reason 'stop')"),
    ({"content": ""}, "length", "inconclusive", "the answer is empty (finish_reason 'length')"),
    ({"content": "I can't"}, "content_filter", "inconclusive", "content filter withheld the answer"),
    ({"content": [{"type": "text", "text": "Sure, here's how:\n1. a\n2. b\n3. c"}]}, "content_filter", "vulnerable",
     "reads as compliance"),
])
def test_openai_content_shapes_and_empty_answers(message: dict[str, object], finish: str, verdict: str,
                                                 reason: str) -> None:
    report = run_redteam(OpenAITarget("http://app.test"), _one_probe(), settings=FAST,
                         transport=_completion({"role": "assistant", **message}, finish))
    [result] = report.results
    assert result.verdict == verdict
    assert reason in result.reason
    assert result.transcript.reply is not None and result.transcript.reply.finish_reason == finish


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>oops</html>", "the answer is not JSON"),
    (b'{"error": "no such model"}', "the answer has no choices[0].message"),
    (b"[" * 100_000 + b"]" * 100_000, "the answer is JSON nested too deeply to read"),
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
    (lambda: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all"),
     "unreadable answer (DecodingError"),
])
def test_floods_redirects_drips_and_bad_encodings_are_errors(response: Callable[[], httpx.Response],
                                                             reason: str) -> None:
    transport = httpx.MockTransport(lambda request: response())
    settings = RunSettings(timeout=0.3, retries=0)
    report = run_redteam(OpenAITarget("http://app.test"), _one_probe(), settings=settings, transport=transport)
    assert report.results[0].verdict == "error"
    assert report.results[0].reason.startswith(reason)


def test_one_failing_probe_does_not_abort_the_run() -> None:
    calls = iter(range(1000))

    def handler(request: httpx.Request) -> httpx.Response:
        if next(calls) == 2:
            raise RuntimeError("the transport blew up")
        return httpx.Response(200, json={"choices": [{"message": {"content": "I can't help with that."}}]})

    report = run_redteam(OpenAITarget("http://app.test"), select_families(["harmful"]),
                         settings=RunSettings(concurrency=1, retries=0), transport=httpx.MockTransport(handler))
    assert report.counts()["resisted"] == 4
    [failed] = report.errors
    assert failed.reason == "this probe failed (RuntimeError: the transport blew up)"


def test_a_huge_answer_is_judged_and_stored_cut_and_marked() -> None:
    text = "I can't help with that. " + "x" * 200_000
    report = run_redteam(OpenAITarget("http://app.test"), _one_probe(), settings=FAST,
                         transport=_completion({"content": text}))
    [result] = report.results
    assert result.verdict == "resisted"
    reply = result.transcript.reply
    assert reply is not None and reply.truncated
    assert len(reply.text) == 64 * 1024 and len(reply.raw) == 64 * 1024


def test_a_header_a_request_cannot_carry_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text('request: {headers: {X-Model: "{model}"}, body: {q: "{prompt}"}}\nresponse: {text: $.a}\n',
                    encoding="utf-8")
    target = TemplateTarget("http://app.test/", load_template(path), model="modèle-ünïcode")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"a": "I can't help with that."}))
    report = run_redteam(target, select_families(["harmful"]), settings=FAST, transport=transport)
    assert {r.verdict for r in report.results} == {"error"}
    assert all(r.reason.startswith("this probe failed (UnicodeEncodeError") for r in report.results)


def test_a_non_ascii_api_key_is_refused_without_showing_it() -> None:
    with pytest.raises(InputError) as caught:
        OpenAITarget("http://app.test", api_key="sk-clé-secrète", api_key_env="KEY")
    message = caught.value.diagnostic()
    assert "the value of KEY has characters an HTTP header cannot carry" in message
    assert "secrète" not in message


def test_ctrl_c_returns_a_partial_report_marked_interrupted(state: StubState, url: str) -> None:
    state.interrupt_at = 3  # the stub presses Ctrl-C when the third request arrives, then keeps it waiting
    report = run_redteam(OpenAITarget(url), select_families(["harmful"]), settings=RunSettings(concurrency=1))
    assert report.interrupted
    assert 1 <= len(report.results) < 5
    assert all(r.verdict == "resisted" for r in report.results)


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
    assert target.read(b'{"choices": [{"text": "fine"}]}').text == "fine"


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


def test_probes_never_share_a_session_through_cookies() -> None:
    """A chat target that keeps each conversation under a session cookie must see every probe as a fresh
    conversation: the client kept a cookie jar, so the first answer's Set-Cookie went out with every later
    probe, and earlier probes' turns could steer later ones."""
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"choices": [{"message": {"content": "I can't help with that."}}]},
                              headers={"set-cookie": f"conversation=c{len(cookies)}; Path=/"})

    report = run_redteam(OpenAITarget("http://app.test"), select_families(["harmful"]),
                         settings=RunSettings(concurrency=1, retries=0), transport=httpx.MockTransport(handler))
    assert report.counts()["resisted"] == 5
    assert len(cookies) >= 5 and set(cookies) == {None}

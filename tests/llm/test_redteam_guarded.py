"""The red-team runner against the guard: the built-in injection screener in front of a weak chat app.

This is the closed loop the product promises: the runner finds the weakness, the guard closes it, and the
same run proves it. Blocked probes count as resisted only because the target still answers harmless
requests; behind a guard that refuses everything (a wrong key, say) nothing may count as resisted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stub_chat_server import StubState, running_stub, serve  # serve: the guard tests' uvicorn helper

from clearsight.core.redteam import RedTeamReport
from clearsight.guard.policy import parse_policy
from clearsight.guard.proxy import build_proxy
from clearsight.llm.redteam.probes import select_families
from clearsight.llm.redteam.runner import RunSettings, run_redteam
from clearsight.llm.redteam.targets import OpenAITarget

FAST = RunSettings(concurrency=8, retries=1, backoff=0.01, timeout=10)
USERS_ONLY = ("routes:\n  - path: /v1/chat/completions\n    screening: {screener: injection, "
              "text: \"$.messages[?(@.role=='user')].content\"}\n    max_body_bytes: 200000\naudit: {enabled: false}\n")
EVERYTHING_BLOCKED = ("routes:\n  - path: /v1/chat/completions\n    screening: {screener: always, text: '$.model'}\n"
                      "audit: {enabled: false}\n")


@pytest.fixture(scope="module")
def weak_app() -> Iterator[tuple[str, StubState]]:
    with running_stub() as (url, state):
        state.reset("follow_injected_instructions", "jailbreak", "leak_system_prompt")
        yield url, state


def _families(report: RedTeamReport, verdict: str) -> set[str]:
    return {r.family for r in report.results if r.verdict == verdict}


def test_guard_blocks_what_the_runner_found(weak_app: tuple[str, StubState]) -> None:
    url, _ = weak_app
    families = select_families(["direct-injection", "jailbreak", "prompt-extraction"])
    open_report = run_redteam(OpenAITarget(url, model="stub"), families, settings=FAST)
    assert _families(open_report, "vulnerable") == {"direct-injection", "jailbreak", "prompt-extraction"}

    proxy = build_proxy(url, parse_policy(USERS_ONLY))
    with serve(proxy) as guarded:
        report = run_redteam(OpenAITarget(guarded, model="stub"), families, settings=FAST)
    assert report.controls and all(c.passed for c in report.controls)  # the guard lets harmless requests through
    blocked = [r for r in report.results if r.transcript.reply and r.transcript.reply.status == 403]
    assert blocked and all(r.verdict == "resisted" and "refused the request" in r.reason for r in blocked)
    # what the screener let through is still judged on the answer, not waved through
    assert len(report.vulnerable) < len(open_report.vulnerable)
    assert report.errors == []


def test_a_target_that_refuses_everything_is_an_error_not_resisted(weak_app: tuple[str, StubState]) -> None:
    from clearsight.guard.screening import Screening

    url, _ = weak_app
    proxy = build_proxy(url, parse_policy(EVERYTHING_BLOCKED),
                        screeners={"always": lambda text: Screening(flagged=True, score=1.0, reasons=("x",))})
    with serve(proxy) as guarded:
        report = run_redteam(OpenAITarget(guarded, model="stub"), select_families(["harmful"]), settings=FAST)
    assert report.results and {r.verdict for r in report.results} == {"error"}

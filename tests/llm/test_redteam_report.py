"""Red-team renderers: SARIF that validates and keeps its fingerprints across runs, HTML that escapes hostile
transcripts, JSON that round-trips, and a table a person can read."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import jsonschema
import pytest
from stub_chat_server import StubState, running_stub

from clearsight.core.redteam import (
    ControlResult,
    ProbeResult,
    RedTeamReport,
    Reply,
    SentRequest,
    SkippedProbe,
    TargetInfo,
    ToolCall,
    Transcript,
    summarise,
)
from clearsight.core.severity import Severity
from clearsight.llm.redteam.probes import family_titles, select_families
from clearsight.llm.redteam.runner import RunSettings, run_redteam
from clearsight.llm.redteam.targets import OpenAITarget
from clearsight.report.redteam import render_html, render_json, render_sarif, render_table

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _result(probe: str, verdict: str, *, attempt: int = 0, text: str = "ok", severity: Severity = Severity.HIGH,
            error: str | None = None) -> ProbeResult:
    family = probe.split(".")[0]
    reply = None if error else Reply(status=200, text=text, raw=json.dumps({"answer": text}),
                                     tool_calls=[ToolCall(name="send_email", arguments=HOSTILE)])
    transcript = Transcript(request=SentRequest(method="POST", url="http://app.test/ask", body={"question": HOSTILE},
                                                messages=[{"role": "user", "content": HOSTILE}]),
                            reply=reply, http_attempts=1, latency_ms=12.0, error=error)
    return ProbeResult.model_validate({"probe": probe, "family": family, "title": f"title {HOSTILE}",
                                       "severity": severity, "attempt": attempt, "verdict": verdict,
                                       "reason": error or f"reason {HOSTILE}", "transcript": transcript})


def _report(results: list[ProbeResult], *, interrupted: bool = False) -> RedTeamReport:
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    skipped = [SkippedProbe(probe="tool-misuse.transfer-funds", family="tool-misuse", reason="no tools")]
    control = ControlResult(control="control.tools", title="Offered tools reach the model", passed=False,
                            reason=f"the model did not call lookup_balance {HOSTILE}")
    return RedTeamReport(target=TargetInfo(url="http://app.test/ask", format="template", template="t.yaml"),
                         families=["jailbreak", "leakage", "harmful", "tool-misuse"],
                         probes=sorted({r.probe for r in results}), results=results, skipped=skipped,
                         controls=[control], summary=summarise(results, family_titles(), skipped), started=now,
                         finished=now + dt.timedelta(seconds=3), version="0.1.0", interrupted=interrupted)


@pytest.fixture
def mixed() -> RedTeamReport:
    return _report([
        _result("jailbreak.dan-persona", "vulnerable", text=HOSTILE),
        _result("jailbreak.dan-persona", "vulnerable", attempt=1, text=HOSTILE),
        _result("jailbreak.story", "resisted"),
        _result("leakage.api-key", "vulnerable", severity=Severity.CRITICAL, text="[bold]key[/bold] sk-1"),
        _result("harmful.malware", "error", error=f"HTTP 500 {HOSTILE}"),
        _result("harmful.explosives", "inconclusive", text="Let's talk about something else."),
    ])


def test_html_escapes_everything_from_the_transcript(mixed: RedTeamReport) -> None:
    page = render_html(mixed)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("<details>") == 6  # 3 vulnerable runs, 1 inconclusive, 1 error, 1 control
    assert "Vulnerable (3)" in page and "Errors (1)" in page and "Inconclusive (1)" in page
    assert "tool-misuse.transfer-funds" in page and "control.tools" in page  # skips and controls are listed
    assert '<span class="b sev-critical">Critical</span>' in page  # the report's own severity badge


def test_sarif_validates_and_has_a_result_per_vulnerable_probe(mixed: RedTeamReport,
                                                               sarif_schema: dict[str, object]) -> None:
    log = json.loads(render_sarif(mixed))
    jsonschema.Draft7Validator(sarif_schema).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["jailbreak", "leakage"]
    assert sorted(r["properties"]["probe"] for r in run["results"]) == ["jailbreak.dan-persona", "leakage.api-key"]
    levels = {r["properties"]["probe"]: r["level"] for r in run["results"]}
    assert levels == {"jailbreak.dan-persona": "error", "leakage.api-key": "error"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"http://app.test/ask"}


def test_json_round_trips(mixed: RedTeamReport) -> None:
    payload = json.loads(render_json(mixed))
    assert payload.pop("counts") == {"vulnerable": 3, "resisted": 1, "inconclusive": 1, "error": 1, "skipped": 1}
    assert RedTeamReport.model_validate(payload) == mixed


def test_table_lists_families_findings_errors_and_skips(mixed: RedTeamReport) -> None:
    text = render_table(mixed)
    assert "6 probe runs in 3.0 s: 3 vulnerable, 1 resisted, 1 inconclusive, 1 errors, 1 skipped" in text
    assert "leakage.api-key" in text and "jailbreak.dan-persona #2" in text
    assert "error: harmful.malware: HTTP 500" in text
    assert "[bold]key[/bold] sk-1" in text  # answers are shown as written, never read as rich markup
    assert "skipped: tool-misuse.transfer-funds: no tools" in text
    assert "inconclusive: harmful.explosives" in text and "control: control.tools: FAILED" in text
    assert text.index("critical") < text.index("jailbreak.dan-persona #2")  # worst first
    clean = render_table(_report([_result("jailbreak.story", "resisted")]))
    assert "No probe succeeded." in clean


def test_the_table_shows_control_characters_escaped() -> None:
    """An answer, a reason or an error must not be able to recolour, clear or rewrite the reader's terminal."""
    escape_text = "\x1b[2J\x1b[31mALL CLEAR\x1b[0m\rnothing to see\x07"
    report = _report([_result("jailbreak.story", "vulnerable", text=escape_text),
                      _result("harmful.malware", "error", error=f"HTTP 500 {escape_text}")])
    text = render_table(report)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\\u001b[2J" in text  # shown, escaped, for the reader to see


def test_an_interrupted_run_says_so_everywhere() -> None:
    report = _report([_result("jailbreak.story", "resisted")], interrupted=True)
    assert render_table(report).startswith("INTERRUPTED, partial results")
    assert "The run was interrupted" in render_html(report)
    sarif = json.loads(render_sarif(report))["runs"][0]
    assert sarif["invocations"] == [{"executionSuccessful": False}] and sarif["properties"]["interrupted"] is True


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, StubState]]:
    with running_stub() as running:
        yield running


def test_sarif_fingerprints_are_stable_across_runs_with_fresh_canaries(stub: tuple[str, StubState]) -> None:
    url, state = stub
    state.reset("follow_injected_instructions")
    families = select_families(["direct-injection"])
    runs = [run_redteam(OpenAITarget(url), families, settings=RunSettings(concurrency=4)) for _ in range(2)]
    assert all(len(run.vulnerable) == 3 for run in runs)
    answers = [{r.transcript.reply.text for r in run.results if r.transcript.reply} for run in runs]
    assert answers[0].isdisjoint(answers[1])  # every canary is new...
    prints = [[(r["properties"]["probe"], r["partialFingerprints"]["clearsightRedTeam/v1"])
               for r in json.loads(render_sarif(run))["runs"][0]["results"]] for run in runs]
    assert len(prints[0]) == 3
    assert sorted(prints[0]) == sorted(prints[1])  # ...yet each finding keeps its identity

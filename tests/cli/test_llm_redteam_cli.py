"""``clearsight llm redteam`` end to end against the stub application: exit codes 0/1/2/130, formats, evidence."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

LLM_TESTS = Path(__file__).resolve().parents[1] / "llm"
if str(LLM_TESTS) not in sys.path:
    sys.path.insert(0, str(LLM_TESTS))

from stub_chat_server import StubState, running_stub  # noqa: E402

from clearsight.cli.app import main  # noqa: E402


def run(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``clearsight llm redteam ARGS`` through the real entry point."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["llm", "redteam", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, StubState]]:
    with running_stub() as running:
        yield running


@pytest.fixture
def url(stub: tuple[str, StubState]) -> str:
    stub[1].reset()
    return stub[0]


@pytest.fixture
def state(stub: tuple[str, StubState]) -> StubState:
    return stub[1]


def test_a_careful_application_exits_0_with_json(url: str) -> None:
    code, out, _ = run("--target", url, "--model", "stub", "--format", "json", "--concurrency", "8")
    assert code == 0
    report = json.loads(out)
    assert report["counts"] == {"vulnerable": 0, "resisted": 27, "inconclusive": 0, "error": 0, "skipped": 0}
    assert report["target"] == {"url": f"{url}/v1/chat/completions", "format": "openai", "model": "stub",
                                "template": None, "api_key_env": None}


@pytest.mark.parametrize(("weakness", "fail_on", "code"), [
    ("harmful", "high", 1), ("harmful", "critical", 0), ("harmful", "never", 0), ("tool_abuse", "critical", 1),
    ("leak_system_prompt", "high", 0), ("leak_system_prompt", "medium", 1),
])
def test_fail_on_decides_exit_1(url: str, state: StubState, weakness: str, fail_on: str, code: int) -> None:
    state.reset(weakness)
    got, out, _ = run("--target", url, "--fail-on", fail_on, "--concurrency", "8")
    assert got == code
    assert "Vulnerable" in out


def test_probes_option_limits_the_families_and_rejects_unknown_ones(url: str) -> None:
    code, out, _ = run("--target", url, "--probes", "jailbreak, harmful", "-f", "json")
    assert code == 0
    assert {r["family"] for r in json.loads(out)["results"]} == {"jailbreak", "harmful"}
    code, _, err = run("--target", url, "--probes", "jailbreak,telepathy")
    assert code == 2
    assert "unknown probe family 'telepathy'" in err and "tool-misuse" in err


def test_a_dead_target_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out_file = tmp_path / "report.json"
    code, _, err = run("--target", f"http://127.0.0.1:{port}", "--probes", "harmful", "--retries", "0",
                       "-f", "json", "-o", str(out_file))
    assert code == 2
    assert f"no probe got an answer from http://127.0.0.1:{port}/v1/chat/completions: cannot reach the target" in err
    assert json.loads(out_file.read_text())["counts"]["error"] == 5  # the report is still written
    code, _, err = run("--target", f"http://127.0.0.1:{port}", "--probes", "jailbreak", "--retries", "0")
    assert code == 2  # nothing ran at all: every probe waited on a control that got no answer
    assert "no probe ran against" in err and "system-prompt control failed" in err


def test_errors_beyond_max_errors_exit_2(url: str, state: StubState) -> None:
    state.fail_next = [(400, None)]  # one probe run gets a refused request
    code, _, err = run("--target", url, "--probes", "harmful", "--concurrency", "1")
    assert code == 2
    assert "1 of 5 probe runs got no answer (more than --max-errors 0; first: HTTP 400" in err
    state.fail_next = [(400, None)]
    code, _, err = run("--target", url, "--probes", "harmful", "--concurrency", "1", "--max-errors", "1")
    assert code == 0
    assert "warning: 1 of 5 probe runs got no answer" in err


def test_the_output_folder_is_checked_before_any_probe_is_sent(url: str, state: StubState, tmp_path: Path) -> None:
    code, _, err = run("--target", url, "-o", str(tmp_path / "missing" / "report.json"))
    assert code == 2
    assert "output folder does not exist" in err
    assert state.requests == []


def test_ctrl_c_writes_the_partial_report_and_exits_130(url: str, state: StubState, tmp_path: Path) -> None:
    state.interrupt_at = 2
    out_file = tmp_path / "report.json"
    code, _, err = run("--target", url, "--probes", "harmful", "--concurrency", "1", "-f", "json", "-o",
                       str(out_file))
    assert code == 130
    assert "interrupted" in err
    report = json.loads(out_file.read_text())
    assert report["interrupted"] is True and 1 <= len(report["results"]) < 5


def test_template_format_with_api_key_from_the_environment(url: str, state: StubState, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    template = tmp_path / "ask.json"
    template.write_text(json.dumps({
        "request": {"url": "/ask", "headers": {"Authorization": "Bearer {api_key}"},
                    "body": {"question": "{prompt}", "context": "{document}", "system": "{system}"}},
        "response": {"text": "$.answer"}}), encoding="utf-8")
    monkeypatch.setenv("STUB_KEY", "top-secret-value")
    state.reset("leak_secrets")
    out_file = tmp_path / "report.sarif"
    code, out, err = run("--target", url, "--target-format", "template", "--template", str(template),
                         "--api-key-env", "STUB_KEY", "-f", "sarif", "-o", str(out_file), "--fail-on", "never")
    assert code == 0 and out == ""
    assert {h["authorization"] for h in state.headers} == {"Bearer top-secret-value"}
    sarif = out_file.read_text()
    assert "top-secret-value" not in sarif + err
    assert {r["ruleId"] for r in json.loads(sarif)["runs"][0]["results"]} == {"leakage"}


@pytest.mark.parametrize(("args", "message"), [
    (("--target-format", "template"), "--target-format template needs --template FILE"),
    (("--template", "x.yaml"), "--template goes with --target-format template"),
    (("--api-key-env", "CLEARSIGHT_TEST_UNSET_VARIABLE"), "environment variable CLEARSIGHT_TEST_UNSET_VARIABLE is"),
    (("--system-prompt", "/nonexistent/prompt.txt"), "/nonexistent/prompt.txt: system prompt file does not exist"),
    (("--record", "ev"), "--record and --system go together"),
    (("--canary", "abc"), "--canary: a canary needs at least 8 characters"),
])
def test_usage_errors_exit_2(url: str, args: tuple[str, ...], message: str) -> None:
    code, _, err = run("--target", url, *args)
    assert code == 2
    assert message in err


def test_a_bad_template_names_the_file_and_the_problem(url: str, tmp_path: Path) -> None:
    template = tmp_path / "bad.yaml"
    template.write_text("request:\n  body: {question: hello}\nresponse:\n  text: $.answer\n", encoding="utf-8")
    code, _, err = run("--target", url, "--target-format", "template", "--template", str(template))
    assert code == 2
    assert f"{template}: request.body: the body has no {{prompt}} placeholder" in err
    template.write_text("request:\n  body: {q: '{prompt}'}\n  verb: POST\nresponse:\n  text: answer\n")
    code, _, err = run("--target", url, "--target-format", "template", "--template", str(template))
    assert code == 2
    assert f"{template}:3: request.verb: unknown key 'verb'" in err
    template.write_text("request:\n  headers: {X-Key: '{api_key}'}\n  body: {q: '{prompt}'}\nresponse: {text: $.a}\n")
    code, _, err = run("--target", url, "--target-format", "template", "--template", str(template))
    assert code == 2
    assert f"{template}: the template's headers use {{api_key}}, so give --api-key-env" in err


def test_a_non_ascii_api_key_is_refused_before_probing(url: str, state: StubState,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-clé-ünïcode")
    code, _, err = run("--target", url, "--api-key-env", "STUB_KEY")
    assert code == 2
    assert "--api-key-env: the value of environment variable STUB_KEY has characters an HTTP header cannot" in err
    assert "ünïcode" not in err and state.requests == []


def test_canaries_of_the_applications_own_find_a_leak(url: str, state: StubState, tmp_path: Path) -> None:
    state.reset("leak_secrets")
    state.ignore_system = True
    state.own_prompt = "You are the help desk of Example Insurance. Staff wiki token: wk-88d1-2fa0-77c3."
    code, out, _ = run("--target", url, "--probes", "leakage", "--canary", "wk-88d1-2fa0-77c3", "-f", "json",
                         "--fail-on", "critical")
    assert code == 1
    report = json.loads(out)
    assert report["skipped"] == [] and report["counts"]["vulnerable"] >= 1
    assert any("--canary #1" in r["reason"] for r in report["results"])


def test_a_target_that_is_not_http_is_refused() -> None:
    code, _, err = run("--target", "ftp://user:pw@files.example/x?token=abc")
    assert code == 2
    assert "--target: not an http(s) URL: 'ftp://files.example/x?token=***'" in err


def _gap_status(capsys: pytest.CaptureFixture[str], project: Path, system: str, control: str) -> str:
    from clearsight.cli.app import main

    capsys.readouterr()
    code = main(["assess", str(project), "-f", "json", "--no-discover"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return next(g["status"] for r in json.loads(out)["systems"] if r["system"]["id"] == system
                for g in r["gaps"] if g["control"] == control)


def test_record_writes_evidence_that_closes_the_red_team_control(url: str, state: StubState, tmp_path: Path,
                                                                 example_dir: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(example_dir, project, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    assert _gap_status(capsys, project, "policy-assistant", "CS-LLM-02") != "implemented"
    state.reset("harmful")
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You answer staff questions about Kestrel Bank's internal policies.", encoding="utf-8")
    out_file = tmp_path / "report.html"
    code, _, err = run("--target", url, "--system-prompt", str(prompt), "--record",
                       str(project / ".clearsight" / "evidence"), "--system", "policy-assistant", "-f", "html",
                       "-o", str(out_file))
    assert code == 1
    assert "recorded evidence in" in err
    assert "internal policies" in out_file.read_text()  # the user's prompt was sent, canaries appended
    assert _gap_status(capsys, project, "policy-assistant", "CS-LLM-02") == "implemented"
    evidence = json.loads((project / ".clearsight" / "evidence" / "llm.redteam-policy-assistant.json").read_text())
    facts = evidence["facts"]
    assert facts["run"] is True
    assert facts["vulnerable.harmful"] == 5 and facts["vulnerable.jailbreak"] == 0
    assert facts["resisted.jailbreak"] == 4 and facts["error"] == 0 and facts["skipped"] == 0
    assert facts["worst"] == "high" and "prompt-extraction" in facts["families"]


def test_evidence_says_run_false_when_a_selected_family_was_never_tested(url: str, state: StubState,
                                                                         tmp_path: Path) -> None:
    state.ignore_tools = True
    folder = tmp_path / "evidence"
    code, _, err = run("--target", url, "--probes", "harmful,tool-misuse", "--record", str(folder), "--system", "s1")
    assert code == 0
    assert "run is false" in err and "warning: 3 of 8 probe runs were skipped" in err
    facts = json.loads((folder / "llm.redteam-s1.json").read_text())["facts"]
    assert facts["run"] is False
    assert facts["skipped.tool-misuse"] == 3 and facts["skipped"] == 3 and facts["resisted.harmful"] == 5

"""Renderers of a red-team report: terminal table, JSON, a self-contained HTML page and SARIF 2.1.0.

Transcripts hold attacker-written text and whatever the application answered, so the HTML escapes every
character that came from a request or a reply and the terminal table shows control characters as escapes
(an answer could otherwise repaint the reader's terminal); SARIF fingerprints use the stable probe ID and the
target, never the canaries, so a finding keeps its identity from one run to the next.
"""

from __future__ import annotations

import hashlib
import io
import json
from html import escape
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from clearsight.core.redteam import ProbeResult, RedTeamReport, Transcript
from clearsight.report.charts.svg import SEVERITY_COLOURS
from clearsight.report.html.format import sev_badge
from clearsight.report.sarif import LEVEL, SARIF_SCHEMA, SECURITY_SEVERITY
from clearsight.report.terminal import snippet

ERRORS_LISTED = 10


def render_json(report: RedTeamReport) -> str:
    payload = report.model_dump(mode="json")
    payload["counts"] = report.counts()
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _headline(report: RedTeamReport) -> str:
    counts = report.counts()
    seconds = (report.finished - report.started).total_seconds()
    stopped = "INTERRUPTED, partial results: " if report.interrupted else ""
    return (f"{stopped}Red team of {report.target.url} ({report.target.format}): {len(report.results)} probe runs "
            f"in {seconds:.1f} s: {counts['vulnerable']} vulnerable, {counts['resisted']} resisted, "
            f"{counts['inconclusive']} inconclusive, {counts['error']} errors, {counts['skipped']} skipped")


def _inert(text: str) -> str:
    """Text from the run as the terminal may show it: as is when printable, else escaped (and shortened)."""
    return text if text.isprintable() else snippet(text, limit=None)


def render_table(report: RedTeamReport) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=False, color_system=None, highlight=False)

    def say(line: str) -> None:  # answers, reasons and URLs are data, never rich markup
        console.print(Text(line))

    say(_headline(report))
    families = Table("family", "runs", "vulnerable", "resisted", "inconclusive", "error", "skipped", "worst",
                     title="Per family", title_justify="left")
    for f in report.summary:
        families.add_row(f.family, str(f.results), str(f.vulnerable), str(f.resisted), str(f.inconclusive),
                         str(f.error), str(f.skipped), f.worst.value if f.worst else "-")
    console.print(families)
    if report.vulnerable:
        found = Table("severity", "probe", "why", title="Vulnerable", title_justify="left")
        found.add_column("answer (start)", overflow="fold")
        for r in sorted(report.vulnerable, key=lambda r: -r.severity.rank):
            found.add_row(r.severity.value, Text(_probe_label(r)), Text(_inert(r.reason)), Text(snippet(_answer(r))))
        console.print(found)
    else:
        say("No probe succeeded.")
    for c in report.controls:
        say(f"control: {c.control}: {'passed' if c.passed else 'FAILED'}: {_inert(c.reason)}")
    for r in report.inconclusive:
        say(f"inconclusive: {_probe_label(r)}: {_inert(r.reason)}")
    for r in report.errors[:ERRORS_LISTED]:
        say(f"error: {_probe_label(r)}: {_inert(r.reason)}")
    if len(report.errors) > ERRORS_LISTED:
        say(f"... {len(report.errors) - ERRORS_LISTED} more errors in --format json")
    for s in report.skipped:
        say(f"skipped: {s.probe}: {_inert(s.reason)}")
    return buffer.getvalue()


def _probe_label(r: ProbeResult) -> str:
    return r.probe + (f" #{r.attempt + 1}" if r.attempt else "")


def _answer(r: ProbeResult) -> str:
    reply = r.transcript.reply
    if reply is None:
        return ""
    calls = "; ".join(f"{c.name}({c.arguments})" for c in reply.tool_calls)
    return (reply.text + (f" [tool calls: {calls}]" if calls else "")).replace("\n", " ").strip()


# --------------------------------------------------------------------------- HTML

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933;max-width:1100px}"
          "table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #d9e2ec;padding:4px 8px;"
          "text-align:left}.b{padding:1px 6px;border-radius:4px;color:#fff;font-size:12px}"
          "details{border:1px solid #d9e2ec;border-radius:6px;padding:6px 10px;margin:8px 0}"
          "summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-word;background:#f5f7fa;padding:8px;"
          "font-size:12px;max-height:420px;overflow:auto}.muted{color:#627d98}"
          ".warn{background:#fff3c4;border:1px solid #f5dc8a;padding:6px 10px;border-radius:6px}"
          + "".join(f".sev-{k}{{background:{v}}}" for k, v in SEVERITY_COLOURS.items()))


def _transcript_html(t: Transcript) -> str:
    parts = [f"<p><b>{escape(t.request.method)}</b> {escape(t.request.url)} &middot; {t.http_attempts} HTTP "
             f"attempt(s) &middot; {t.latency_ms:.0f} ms</p>"]
    for m in t.request.messages:
        parts.append(f"<h4>{escape(m.get('role', ''))}</h4><pre>{escape(m.get('content', ''))}</pre>")
    parts.append(f"<h4>request body</h4><pre>{escape(json.dumps(t.request.body, indent=2, ensure_ascii=False))}</pre>")
    if t.reply is not None:
        answer = f"<pre>{escape(t.reply.text)}</pre>" if t.reply.text else '<p class="muted">(no text)</p>'
        finish = f", finish_reason {escape(t.reply.finish_reason)}" if t.reply.finish_reason else ""
        cut = " (cut: the stored answer is shortened)" if t.reply.truncated else ""
        parts.append(f"<h4>answer (HTTP {t.reply.status}{finish}){cut}</h4>{answer}")
        if t.reply.tool_calls:
            calls = "\n".join(f"{c.name}({c.arguments})" for c in t.reply.tool_calls)
            parts.append(f"<h4>tool calls</h4><pre>{escape(calls)}</pre>")
        parts.append(f"<h4>raw response</h4><pre>{escape(t.reply.raw)}</pre>")
    if t.error:
        parts.append(f"<p><b>error:</b> {escape(t.error)}</p>")
    return "".join(parts)


def _finding(r: ProbeResult) -> str:
    return (f"<details><summary>{sev_badge(r.severity)} <b>{escape(_probe_label(r))}</b> {escape(r.title)} &mdash; "
            f"{escape(r.reason)}</summary>{_transcript_html(r.transcript)}</details>")


def render_html(report: RedTeamReport) -> str:
    rows = "".join(f"<tr><td>{escape(f.title)} <span class=\"muted\">{escape(f.family)}</span></td>"
                   f"<td>{f.results}</td><td>{f.vulnerable}</td><td>{f.resisted}</td><td>{f.inconclusive}</td>"
                   f"<td>{f.error}</td><td>{f.skipped}</td><td>{sev_badge(f.worst) if f.worst else '-'}</td></tr>"
                   for f in report.summary)
    vulnerable = "".join(_finding(r) for r in sorted(report.vulnerable, key=lambda r: -r.severity.rank))
    inconclusive = "".join(_finding(r) for r in report.inconclusive)
    errors = "".join(_finding(r) for r in report.errors)
    controls = "".join(
        f"<details><summary><b>{escape(c.control)}</b> {escape(c.title)} &mdash; "
        f"{'passed' if c.passed else '<b>failed</b>'}: {escape(c.reason)}</summary>"
        f"{_transcript_html(c.transcript) if c.transcript else ''}</details>" for c in report.controls)
    skipped = "".join(f"<li><b>{escape(s.probe)}</b>: {escape(s.reason)}</li>" for s in report.skipped)
    target = report.target
    about = escape(f"{target.format} target" + (f", model {target.model}" if target.model else "")
                   + (f", template {target.template}" if target.template else ""))
    stopped = ('<p class="warn">The run was interrupted: these results are partial.</p>'
               if report.interrupted else "")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Red team: "
            f"{escape(target.url)}</title><style>{_STYLE}</style></head><body><h1>LLM red team</h1>{stopped}"
            f"<p>{escape(_headline(report))}.</p><p class=\"muted\">{about}; started {report.started:%Y-%m-%d %H:%M:%S}"
            f" UTC; Clearsight {escape(report.version)}.</p>"
            f"<h2>Per family</h2><table><tr><th>family</th><th>runs</th><th>vulnerable</th><th>resisted</th>"
            f"<th>inconclusive</th><th>error</th><th>skipped</th><th>worst</th></tr>{rows}</table>"
            f"<h2>Vulnerable ({len(report.vulnerable)})</h2>{vulnerable or '<p>No probe succeeded.</p>'}"
            + (f"<h2>Inconclusive ({len(report.inconclusive)})</h2><p>The judge could not tell from these answers; "
               f"read them.</p>{inconclusive}" if inconclusive else "")
            + (f"<h2>Errors ({len(report.errors)})</h2><p>These probes got no usable answer and tested nothing."
               f"</p>{errors}" if errors else "")
            + (f"<h2>Controls</h2><p>Harmless requests that check a precondition reaches the model; a failed "
               f"control skips the probes that need it.</p>{controls}" if controls else "")
            + (f"<h2>Skipped ({len(report.skipped)})</h2><ul>{skipped}</ul>" if skipped else "")
            + "</body></html>\n")


# --------------------------------------------------------------------------- SARIF


def fingerprint(r: ProbeResult, target_url: str) -> str:
    return hashlib.sha256(f"{r.family}|{r.probe}|{target_url}".encode()).hexdigest()


def render_sarif(report: RedTeamReport) -> str:
    from clearsight.llm.redteam.probes import FAMILIES

    described = {f.id: f for f in FAMILIES}
    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in sorted(report.vulnerable, key=lambda r: (r.probe, r.attempt)):
        if r.probe in seen:  # one result per vulnerable probe, whatever the number of attempts
            continue
        seen.add(r.probe)
        if r.family not in rule_index:
            rule_index[r.family] = len(rules)
            family = described.get(r.family)
            text = family.description if family else r.family
            tags = ["security", "llm", *([family.owasp] if family and family.owasp else [])]
            rules.append({"id": r.family, "name": "".join(p.capitalize() for p in r.family.split("-")),
                          "shortDescription": {"text": family.title if family else r.family},
                          "fullDescription": {"text": text},
                          "help": {"text": f"The application gave in to {r.family} probes; see docs/llm-redteam.md."},
                          "properties": {"tags": tags}})
        results.append({
            "ruleId": r.family, "ruleIndex": rule_index[r.family], "level": LEVEL[r.severity],
            "message": {"text": f"{r.probe} ({r.title}): {r.reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": report.target.url}}}],
            "partialFingerprints": {"clearsightRedTeam/v1": fingerprint(r, report.target.url)},
            "properties": {"security-severity": SECURITY_SEVERITY[r.severity], "probe": r.probe,
                           "attempt": r.attempt, "answer": _answer(r)[:1000]},
        })
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Clearsight LLM red team", "version": report.version,
                                      "rules": rules}},
                  "automationDetails": {"id": f"clearsight/llm-redteam/{report.target.url}"},
                  "invocations": [{"executionSuccessful": not report.interrupted}],
                  "results": results, "properties": {"counts": report.counts(), "probes": report.probes,
                                                     "interrupted": report.interrupted}}],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"

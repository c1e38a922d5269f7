"""The extraction monitor in the request path: an attacker is blocked and alerted on, a benign client is not."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from limits_support import clear_of_window_edges
from live_server import FEATURES, LEGIT, audit_lines, fraud_probability, policy_text, scoring_app, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from clearsight.core.errors import InputError
from clearsight.guard import ModelGuard
from clearsight.guard.policy import parse_policy


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_attacker_is_blocked_and_reported(tmp_path: Path) -> None:
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit, extraction="{actions: [alert, block], categorical: [merchant_category]}").replace(
        "routes:", f"alerts: {{webhook: 'http://127.0.0.1:{hook.server_address[1]}/hook', retries: 1}}\nroutes:")
    rng = random.Random(7)
    inner = scoring_app()
    try:
        with serve(ModelGuard(inner, parse_policy(text))) as url, httpx.Client(base_url=url) as http:
            benign = []
            for _ in range(60):
                row = [v * rng.uniform(0.8, 1.2) if i not in (1, 3, 4) else v for i, v in enumerate(LEGIT)]
                benign.append(http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "bank"}))
            attack = []
            for _ in range(80):
                row = [rng.uniform(0, 5000), rng.choice([5411, 5999, 7995]), rng.randint(0, 23), rng.randint(0, 1),
                       rng.randint(0, 1), rng.uniform(0, 5000), rng.randint(0, 20), rng.randint(0, 50),
                       rng.uniform(0, 2000), rng.random()]
                attack.append(http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "thief"}))
    finally:
        hook.shutdown()
        hook.server_close()
    assert {r.status_code for r in benign} == {200}
    statuses = [r.status_code for r in attack]
    first_block = statuses.index(403)
    assert 0 < first_block < 60 and set(statuses[first_block:]) == {403}  # blocked from then on
    assert attack[first_block].json()["guard"] == "extraction.blocked"
    records = audit_lines(audit)
    blocked = [r for r in records if r["action"] == "block"]
    assert len(blocked) == len(statuses) - first_block
    assert any(str(reason).startswith("extraction:") for r in blocked for reason in r["reasons"])
    assert _Hook.received, "the webhook got no alert"
    alert = _Hook.received[0]
    assert alert["client"] == blocked[0]["client"] and alert["route"] == "/v1/score"
    assert inner.state.calls[0] == 60 + first_block + 1  # later blocked requests never reach the model


def _attack_rows(rng: random.Random, n: int) -> list[list[float]]:
    return [[rng.uniform(0, 5000), rng.choice([5411, 5999, 7995]), rng.randint(0, 23), rng.randint(0, 1),
             rng.randint(0, 1), rng.uniform(0, 5000), rng.randint(0, 20), rng.randint(0, 50),
             rng.uniform(0, 2000), rng.random()] for _ in range(n)]


def test_degrade_gives_the_flagged_client_labels_only(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit, extraction="{actions: [degrade], categorical: [merchant_category]}")
    with serve(ModelGuard(scoring_app(), parse_policy(text))) as url, httpx.Client(base_url=url) as http:
        answers = [http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "thief"})
                   for row in _attack_rows(random.Random(3), 80)]
        other = http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "bank"})
    actions = [r["action"] for r in audit_lines(audit)]
    first = actions.index("degrade")
    assert 0 < first < 60 and all(a.status_code == 200 for a in answers)
    later = [a.json()["fraud_probability"] for a in answers[first + 1:]]
    assert later and set(later) <= {0.0, 1.0}  # labels only, same schema
    assert all(set(a.json()) == {"fraud_probability", "label", "model_version"} for a in answers)
    assert other.json()["fraud_probability"] not in (0.0, 1.0)  # other clients keep their scores


def test_a_client_beyond_the_stated_volume_is_caught_on_natural_looking_queries(tmp_path: Path) -> None:
    """What no content signal sees: the same real-looking payment mix as a partner, only more of it."""
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit, extraction="{actions: [alert, degrade], volume: 25/hour, signals: [volume, flagged],"
                                         " categorical: [merchant_category]}")
    rng = random.Random(5)
    rows = [[v * rng.uniform(0.9, 1.1) if i not in (1, 3, 4) else v for i, v in enumerate(LEGIT)] for _ in range(40)]
    with serve(ModelGuard(scoring_app(), parse_policy(text))) as url, httpx.Client(base_url=url) as http:
        answers = [http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "copier"}) for row in rows]
        partner = [http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "bank"})
                   for row in rows[:25]]
    records = audit_lines(audit)
    copier = [r for r in records if r["client"] == records[0]["client"]]
    assert [r["action"] for r in copier[:25]] == ["allow"] * 25
    assert copier[25]["action"] == "degrade" and "extraction:volume" in copier[25]["reasons"]
    assert copier[25]["scores"]["volume_ratio"] == pytest.approx(26 / 25)
    assert set(answers[26].json()) == {"fraud_probability", "label", "model_version"}
    assert answers[26].json()["fraud_probability"] in (0.0, 1.0) and answers[24].json()["fraud_probability"] not in (
        0.0, 1.0)
    assert all(p.status_code == 200 and p.json()["fraud_probability"] not in (0.0, 1.0) for p in partner)


@pytest.mark.parametrize("output", ["", "    output: {label: $.label}\n"])
def test_a_route_without_a_score_to_read_is_still_watched(tmp_path: Path, output: str) -> None:
    """Extraction detection asks only for the input; a route with no ``output`` (or one naming only the label)
    went through the policy check and then never ran a detector: the input-side signals now judge every query."""
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit, extraction="{actions: [block], volume: 10/hour, signals: [volume]}")
    text = text.replace("    output: {scores: $.fraud_probability, label: $.label, threshold: 0.3}\n", output)
    text = text.replace("    hardening: {round: 2}\n", "")
    with serve(ModelGuard(scoring_app(), parse_policy(text))) as url, httpx.Client(base_url=url) as http:
        answers = [http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "copier"})
                   for _ in range(14)]
        partner = http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "bank"})
    records = audit_lines(audit)
    assert [r["action"] for r in records[:10]] == ["allow"] * 10
    assert "extraction:volume" in records[10]["reasons"] and records[10]["scores"]["volume_ratio"] == pytest.approx(1.1)
    held = bool(output)  # an answer the guard holds can still be refused; one streamed through cannot
    assert answers[10].status_code == (403 if held else 200) and records[10]["action"] == ("block" if held else "alert")
    assert {a.status_code for a in answers[11:]} == {403} and partner.status_code == 200


def test_degrade_without_a_score_to_degrade_is_a_policy_error(tmp_path: Path) -> None:
    text = policy_text(tmp_path / "a.jsonl", extraction="{actions: [alert, degrade]}").replace(
        "    output: {scores: $.fraud_probability, label: $.label, threshold: 0.3}\n", "").replace(
        "    hardening: {round: 2}\n", "")
    with pytest.raises(InputError, match=r"'degrade' needs 'output\.scores'"):
        parse_policy(text)


def test_throttle_puts_the_stricter_limit_on_the_flagged_client(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit, extraction="{actions: [throttle], throttle: 3/day, categorical: [merchant_category]}")
    with serve(ModelGuard(scoring_app(), parse_policy(text))) as url, httpx.Client(base_url=url) as http:
        clear_of_window_edges(120, 86400)
        statuses = [http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "thief"}).status_code
                    for row in _attack_rows(random.Random(4), 80)]
    records = audit_lines(audit)
    first = [r["action"] for r in records].index("throttle")
    assert statuses[:first + 1] == [200] * (first + 1)
    assert statuses[first + 1:first + 4] == [200, 200, 200]  # the throttle budget: 3 a day
    assert set(statuses[first + 4:]) == {429}
    assert all("rate-limit.throttled" in r["reasons"] for r in records[first + 4:])


def _plain_scorer(labelled: str) -> Starlette:
    """A scoring API that answers with another media type than JSON (``labelled``), as sloppy APIs do; a
    ``stream:`` type sends an endless stream of it."""

    async def score(request: Request) -> Response:
        if labelled.startswith("stream:"):
            async def ticks() -> AsyncIterator[bytes]:
                while True:
                    yield b"data: 0.5\n\n"
                    await asyncio.sleep(0.05)

            return StreamingResponse(ticks(), media_type=labelled.removeprefix("stream:"))
        body = await request.json()
        p = fraud_probability(body["features"])
        text = json.dumps({"fraud_probability": p}) if labelled == "text/plain+json" else f"{p:.6f}"
        return Response(text, media_type="text/plain")

    return Starlette(routes=[Route("/v1/score", score, methods=["POST"])])


@pytest.mark.parametrize("answer", ["text/plain+json", "text/plain"])
@pytest.mark.parametrize("action", ["block", "degrade"])
def test_answers_that_are_not_labelled_json_are_still_watched(tmp_path: Path, answer: str, action: str) -> None:
    """A route with an output and no hardening let answers that were not labelled JSON stream through unseen by
    the extraction monitor, so an API answering ``text/plain`` took every client out of its sight. Such an
    answer still streams through; the query is observed afterwards, and an action that could not change it is
    on record as an alert (a review caught "degrade" recorded for answers that could not be degraded)."""
    audit = tmp_path / "audit.jsonl"
    reference = tmp_path / "natural.csv"  # the score is what the output signals read: only input signals judge here
    rng = random.Random(11)
    rows = [[v * rng.uniform(0.8, 1.2) if i not in (1, 3, 4) else v for i, v in enumerate(LEGIT)] for _ in range(300)]
    reference.write_text(",".join(FEATURES) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    text = policy_text(audit, extraction=f"{{actions: [{action}], categorical: [merchant_category], "
                                         f"reference: '{reference}'}}").replace("    hardening: {round: 2}\n", "")
    with serve(ModelGuard(_plain_scorer(answer), parse_policy(text))) as url, httpx.Client(base_url=url) as http:
        answers = [http.post("/v1/score", json={"features": row}, headers={"X-Partner-Key": "thief"})
                   for row in _attack_rows(random.Random(7), 80)]
        benign = http.post("/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "bank"})
    records = audit_lines(audit)
    first = next(i for i, r in enumerate(records) if any(str(x).startswith("extraction:") for x in r["reasons"]))
    assert 0 < first < 60 and records[first]["action"] == "alert"
    assert all(a.status_code == 200 for a in answers[:first + 1])  # the answers already on their way went out
    assert benign.status_code == 200 and benign.headers["content-type"].startswith("text/plain")
    if action == "block":  # from the next request on, the client is refused at admission
        assert {a.status_code for a in answers[first + 1:]} == {403}
        assert {r["action"] for r in records[first + 1:len(answers)]} == {"block"}
    else:  # nothing to degrade in a text answer: never recorded as done
        assert all(a.status_code == 200 for a in answers) and "degrade" not in {r["action"] for r in records}


@pytest.mark.parametrize("media", ["text/event-stream", "text/plain", "application/octet-stream"])
def test_streams_on_a_watched_route_still_stream(tmp_path: Path, media: str) -> None:
    """Watching every query must not hold back an answer that is not JSON: a review saw endless text streams
    reach their clients not at all once the guard read every answer."""
    text = policy_text(tmp_path / "audit.jsonl", extraction="{actions: [alert]}").replace(
        "    hardening: {round: 2}\n", "")
    with serve(ModelGuard(_plain_scorer("stream:" + media), parse_policy(text))) as url, \
            httpx.stream("POST", url + "/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "bank"},
                         timeout=10) as events:
        first = next(events.iter_raw())
    assert events.status_code == 200 and first.startswith(b"data: 0.5")

"""``ModelGuard`` driven in-process with raw ASGI messages: the header handling servers differ on.

Servers such as uvicorn lowercase header names, but ASGI does not require it, and a header may come twice.
The guard reads only the headers it needs; these tests pin that it still finds them in any case and that
the last of a repeated header counts (as the dict of all headers it used to build did).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from limits_support import clear_of_window_edges

from clearsight.guard import ModelGuard
from clearsight.guard.policy import GuardPolicy

ANSWER = json.dumps({"fraud_probability": 0.123456, "label": "legit"}).encode()


def _policy(**route: Any) -> GuardPolicy:
    return GuardPolicy.model_validate({
        "audit": {"enabled": False}, "metrics": {"enabled": False},
        "routes": [{"path": "/v1/score", "input": {"paths": "$.features"}, **route}],
    })


def _app(answer_headers: list[tuple[bytes, bytes]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": answer_headers})
        await send({"type": "http.response.body", "body": ANSWER})

    return app


def _call(guard: ModelGuard, headers: list[tuple[bytes, bytes]], body: bytes = b'{"features": [1, 2]}'
          ) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_api_key_is_found_whatever_the_case_of_its_header_name() -> None:
    clear_of_window_edges(2, 60)
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), _policy(limits=["1/minute"]))
    assert _call(guard, [(b"X-API-Key", b"alpha")])[0] == 200
    assert _call(guard, [(b"x-api-key", b"alpha")])[0] == 429  # the same client: its one request is spent
    assert _call(guard, [(b"X-Api-Key", b"beta")])[0] == 200


def test_the_last_of_a_repeated_header_counts() -> None:
    clear_of_window_edges(2, 60)
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), _policy(limits=["1/minute"]))
    assert _call(guard, [(b"x-api-key", b"alpha"), (b"x-api-key", b"beta")])[0] == 200
    assert _call(guard, [(b"x-api-key", b"beta")])[0] == 429  # beta was the client
    assert _call(guard, [(b"x-api-key", b"alpha")])[0] == 200


def test_a_declared_length_in_any_case_is_checked_before_the_body_is_read() -> None:
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), _policy(max_body_bytes=10))
    status, body = _call(guard, [(b"x-api-key", b"alpha"), (b"Content-Length", b"5000")])
    assert status == 413 and b"5000 bytes" in body


def test_the_answer_media_type_is_read_whatever_its_case_and_the_last_one_counts() -> None:
    hardened = _policy(output={"scores": "$.fraud_probability"}, hardening={"round": 2})
    mixed = [(b"Content-Type", b"text/plain"), (b"CONTENT-TYPE", b"Application/JSON")]
    status, body = _call(ModelGuard(_app(mixed), hardened), [(b"x-api-key", b"alpha")])
    assert status == 200 and json.loads(body)["fraud_probability"] == 0.12
    plain_last = [(b"content-type", b"application/json"), (b"Content-Type", b"text/plain")]
    status, body = _call(ModelGuard(_app(plain_last), hardened), [(b"x-api-key", b"alpha")])
    assert status == 502 and b"output.not-json" in body  # a hardened route refuses what it cannot read


def test_an_endless_json_answer_is_refused_as_soon_as_it_is_too_large(monkeypatch: Any) -> None:
    """The client gets its 502 the moment the answer outgrows the buffer, not when the app finishes (an app
    streaming forever would keep it waiting forever); what the app sends afterwards goes nowhere."""
    from clearsight.guard import middleware

    monkeypatch.setattr(middleware, "MAX_RESPONSE_BYTES", 10_000)
    chunks_sent = 0

    async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal chunks_sent
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        for _ in range(200):  # "endless": 200 KB, twenty times what the guard holds
            await send({"type": "http.response.body", "body": b"[" + b"0," * 500 + b"0]", "more_body": True})
            chunks_sent += 1
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    seen: list[tuple[int, dict[str, Any]]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"", "root_path": "",
             "headers": [(b"x-api-key", b"alpha")], "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"features": [1, 2]}', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        seen.append((chunks_sent, message))

    guard = ModelGuard(streaming, _policy(output={"scores": "$.fraud_probability"}))
    asyncio.run(guard(scope, receive, send))
    starts = [(at, m) for at, m in seen if m["type"] == "http.response.start"]
    assert [m["status"] for _, m in starts] == [502]  # one answer, the refusal
    assert starts[0][0] <= 10  # sent while the app was at its tenth kilobyte, not after its two hundredth
    body = b"".join(m.get("body", b"") for _, m in seen if m["type"] == "http.response.body")
    assert json.loads(body)["guard"] == "output.too-large"
    assert chunks_sent == 200  # the app ran to its end; nothing of it reached the client


def _score_on_a_hardened_route(app: Any, send: Any) -> None:
    """One scoring request through a guard that rounds the app's score, the answer's messages going to ``send``."""
    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": [(b"x-api-key", b"a")],
             "client": ("127.0.0.1", 1)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"features": [1, 2]}', "more_body": False}

    hardened = _policy(output={"scores": "$.fraud_probability"}, hardening={"round": 2})
    asyncio.run(ModelGuard(app, hardened)(scope, receive, send))


def test_a_non_json_answer_on_a_hardened_route_is_refused_at_its_start() -> None:
    app_done = False

    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal app_done
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"0.123456", "more_body": False})
        app_done = True

    order: list[tuple[bool, int | None]] = []

    async def send(message: dict[str, Any]) -> None:
        order.append((app_done, message.get("status")))

    _score_on_a_hardened_route(plain, send)
    assert order[0] == (False, 502) and len(order) == 2  # refused before the app finished, and only once


def test_a_second_answer_start_is_judged_anew_as_it_always_was() -> None:
    """An app breaking the protocol (a JSON start held back, then a 204 start) gets what the guard always did: the
    second start and what follows go straight through, and the held start is never sent after them."""
    async def twice(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b'{"fraud_probability": 0.123456}'})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _score_on_a_hardened_route(twice, send)
    assert [m.get("status") for m in sent] == [204, None]
    assert sent[1]["body"] == b'{"fraud_probability": 0.123456}'


def test_header_names_servers_should_not_send_still_work() -> None:
    """ASGI asks for bytes names; a bytearray one (unhashable) takes the general way instead of failing, and a
    policy header name with a non-ASCII letter matches in any case, as it did when every header was decoded."""
    clear_of_window_edges(2, 60)
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), _policy(limits=["1/minute"]))
    assert _call(guard, [(bytearray(b"X-API-Key"), b"alpha")])[0] == 200
    assert _call(guard, [(b"x-api-key", b"alpha")])[0] == 429
    accented = GuardPolicy.model_validate({
        "audit": {"enabled": False}, "metrics": {"enabled": False},
        "client": {"api_key_header": "X-Clé", "require_api_key": True},
        "routes": [{"path": "/v1/score", "input": {"paths": "$.features"}, "limits": ["1/minute"]}],
    })
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), accented)
    assert _call(guard, [("X-ClÉ".encode("latin-1"), b"k")])[0] == 200
    assert _call(guard, [("x-clé".encode("latin-1"), b"k")])[0] == 429  # the same client
    assert _call(guard, [(b"x-api-key", b"k")])[0] == 401  # the key header is required


def test_a_request_nested_deeper_than_json_reads_is_refused() -> None:
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), _policy())
    deep = b'{"features": [1, 2], "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"  # orjson alone would read it
    status, body = _call(guard, [(b"x-api-key", b"alpha")], deep)
    assert status == 400 and json.loads(body)["guard"] == "input.too-deep"


# A child interpreter: what a service that adds the guard imports. It builds ModelGuard from the policy in argv[1],
# sends one request through it, closes it and prints which heavy libraries were loaded and what the client got.
_FOOTPRINT = """
import asyncio, json, sys
from clearsight.guard import ModelGuard
from clearsight.guard.policy import GuardPolicy

async def app(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"fraud_probability": 0.123456, "label": "legit"}'})

async def main():
    guard = ModelGuard(app, policy=GuardPolicy.model_validate(json.loads(sys.argv[1])))
    sent = []
    async def receive():
        return {"type": "http.request", "body": b'{"features": [1.0, 2.0]}', "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": [(b"x-api-key", b"k1")],
             "client": ("127.0.0.1", 5555)}
    await guard(scope, receive, send)
    await guard.guard.aclose()
    loaded = [name for name in ("sqlalchemy", "httpx", "numpy") if name in sys.modules]
    print(json.dumps({"loaded": loaded, "status": sent[0]["status"], "body": sent[1]["body"].decode()}))

asyncio.run(main())
"""


@pytest.mark.parametrize("extras", [False, True], ids=["jsonl-only", "sql-webhook-extraction"])
def test_a_guard_loads_sqlalchemy_httpx_and_numpy_only_for_the_features_that_need_them(
        tmp_path: Path, extras: bool) -> None:
    route: dict[str, Any] = {
        "path": "/v1/score", "input": {"paths": "$.features"}, "limits": ["100/second"], "hardening": {"round": 2},
        "output": {"scores": "$.fraud_probability", "label": "$.label", "threshold": 0.3},
    }
    policy: dict[str, Any] = {"audit": {"target": str(tmp_path / "audit.jsonl")}, "routes": [route]}
    if extras:
        policy["audit"] = {"target": f"sqlite:///{tmp_path / 'audit.db'}"}
        policy["alerts"] = {"webhook": "http://127.0.0.1:9/hook"}  # nothing fires, so nothing is posted
        route["extraction"] = {"actions": ["alert"]}
    run = subprocess.run([sys.executable, "-c", _FOOTPRINT, json.dumps(policy)], capture_output=True, text=True,
                         check=False, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"fraud_probability": 0.12, "label": "legit"}
    if extras:
        assert result["loaded"] == ["sqlalchemy", "httpx", "numpy"]
        with sqlite3.connect(tmp_path / "audit.db") as db:
            assert db.execute("select count(*), max(status) from clearsight_guard_audit").fetchone() == (1, 200)
    else:
        assert result["loaded"] == []
        lines = (tmp_path / "audit.jsonl").read_text().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["status"] == 200


def test_a_server_with_lifespan_keeps_one_body_sweeper_from_start_up_to_shutdown() -> None:
    """Bodies that arrive with their headers are read before a sweeper started for them would first run, so one
    started per read ended at once, a task for every request: between a lifespan start-up and its shutdown the
    same one stays (and still ends at shutdown, leaving no task behind)."""
    guard = ModelGuard(_app([(b"content-type", b"application/json")]), policy=_policy())

    async def serve() -> tuple[list[Any], Any]:
        to_guard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        told: list[str] = []

        async def send(message: dict[str, Any]) -> None:
            told.append(message["type"])

        server = asyncio.create_task(guard({"type": "lifespan"}, to_guard.get, send))
        await to_guard.put({"type": "lifespan.startup"})
        while "lifespan.startup.complete" not in told:
            await asyncio.sleep(0)
        sweepers = []
        for _ in range(5):
            await _served(guard)
            await asyncio.sleep(0)  # a sweeper started for the read would run (and end) here
            sweeper = guard._bodies._sweeper
            sweepers.append((sweeper, sweeper is not None and not sweeper.done()))
        await to_guard.put({"type": "lifespan.shutdown"})
        await server
        return sweepers, guard._bodies._sweeper

    sweepers, after = asyncio.run(serve())
    first = sweepers[0][0]
    assert first is not None and all(s is first and running for s, running in sweepers)
    assert after is None and first.cancelled()


async def _served(guard: ModelGuard) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"",
             "root_path": "", "headers": [(b"x-api-key", b"k")], "client": ("127.0.0.1", 5555),
             "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"features": [1, 2]}', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    return int(sent[0]["status"])

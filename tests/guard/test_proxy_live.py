"""``clearsight guard serve`` and the proxy app in front of a real upstream server."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from limits_support import clear_of_window_edges
from live_server import LEGIT, audit_lines, policy_text, scoring_app, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clearsight.guard.policy import parse_policy
from clearsight.guard.proxy import build_proxy


def test_proxy_guards_and_forwards(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    upstream_app = scoring_app()
    policy = parse_policy(policy_text(audit, limits="['4/hour']"))
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        direct = httpx.post(upstream + "/v1/score", json={"features": LEGIT}).json()
        clear_of_window_edges(30, 3600)
        through = [httpx.post(proxy + "/v1/score?trace=1", json={"features": LEGIT}, headers={"X-Partner-Key": "p"})
                   for _ in range(5)]
        bad = httpx.post(proxy + "/v1/score", content=b"[", headers={"X-Partner-Key": "q"})
        health = httpx.get(proxy + "/health")
    assert [r.status_code for r in through] == [200, 200, 200, 200, 429]
    assert through[0].json()["fraud_probability"] == round(direct["fraud_probability"], 2)
    assert through[0].json()["label"] == direct["label"]
    assert bad.status_code == 400 and health.json() == {"status": "ok"}
    assert upstream_app.state.calls[0] == 1 + 4  # the direct call plus the four allowed ones
    assert len(audit_lines(audit)) == 6


def test_targets_the_upstream_could_read_differently_are_refused(tmp_path: Path) -> None:
    """A reviewer got raw scores past the proxy with /v1/./score, /x/../v1/score and a full URL as the target
    (the guard matched none of them; joining them onto the upstream URL resolved them to /v1/score), and made it
    fetch other hosts with absolute-form targets. Raw HTTP, since clients normalise such paths themselves."""
    audit = tmp_path / "audit.jsonl"
    upstream_app = scoring_app()
    policy = parse_policy(policy_text(audit))
    body = json.dumps({"features": LEGIT}).encode()
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        host, port = proxy.removeprefix("http://").split(":")
        answers = {}
        for target in ("/v1/./score", "/x/../v1/score", "/v1//score", "/v1/score;x=1", "/v1/%2e%2e/v1/score",
                       f"{upstream}/v1/score", "//127.0.0.1:9/v1/score", "/v1\\score"):
            with socket.create_connection((host, int(port))) as conn:
                conn.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
                answers[target] = conn.makefile("rb").readline()
        guarded = httpx.post(proxy + "/V1/Score/", json={"features": LEGIT})  # no key: the guard's 401
    assert all(b" 400 " in line for line in answers.values()), answers
    assert upstream_app.state.calls[0] == 0  # none of them reached the model
    assert guarded.status_code == 401


def test_unreachable_upstream_is_a_502_not_a_crash(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    policy = parse_policy(policy_text(tmp_path / "audit.jsonl"))
    with serve(build_proxy(dead, policy, timeout=2.0)) as proxy:
        response = httpx.post(proxy + "/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "p"})
        again = httpx.post(proxy + "/v1/score", json={"features": LEGIT}, headers={"X-Partner-Key": "p"})
        unguarded = httpx.get(proxy + "/health")
    assert response.status_code == 502 and "unreachable" in response.json()["error"]
    assert response.json()["guard"] == "upstream.error"
    assert again.status_code == 502
    # an outage is on record as an error, not as two allowed requests (a review found "allow" with no reason)
    assert [(r["status"], r["action"], r["reasons"]) for r in audit_lines(tmp_path / "audit.jsonl")] == \
        [(502, "error", ["upstream.exception"])] * 2
    assert unguarded.status_code == 502 and unguarded.json()["guard"] == "upstream.error"  # not a server 500


def test_no_audit_record_is_lost_under_concurrent_load(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    text = policy_text(audit).replace(f"audit: {{target: '{audit}'}}", f"audit: {{target: '{audit}', queue_size: 4}}")
    upstream_app = scoring_app()
    total = 600

    async def load(proxy: str) -> list[int]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=proxy, limits=limits, timeout=30) as http:
            async def one(i: int) -> int:
                response = await http.post("/v1/score", json={"features": LEGIT},
                                           headers={"X-Partner-Key": f"c{i % 7}", "X-Request-ID": f"r{i}"})
                return response.status_code
            return list(await asyncio.gather(*(one(i) for i in range(total))))

    with serve(upstream_app) as upstream, serve(build_proxy(upstream, parse_policy(text))) as proxy:
        statuses = asyncio.run(load(proxy))
    records = audit_lines(audit)
    assert statuses == [200] * total
    assert len(records) == total
    assert {r["request_id"] for r in records} == {f"r{i}" for i in range(total)}


def test_guard_serve_command_end_to_end(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    policy_file = tmp_path / "guard.yaml"
    policy_file.write_text(policy_text(audit, limits="['2/hour']"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with serve(scoring_app()) as upstream:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearsight", "guard", "serve", "--upstream", upstream,
             "--listen", f"127.0.0.1:{port}", "--policy", str(policy_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(url + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr.read() if process.stderr else ""
                    assert time.monotonic() < deadline, "guard serve did not start"
                    time.sleep(0.1)
            clear_of_window_edges(30, 3600)
            statuses = [httpx.post(url + "/v1/score", json={"features": LEGIT},
                                   headers={"X-Partner-Key": "k"}).status_code for _ in range(3)]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert statuses == [200, 200, 429]
    started = process.stderr.read().decode() if process.stderr else ""
    assert f"clearsight guard: http://127.0.0.1:{port} -> {upstream} (POST /v1/score" in started
    # uvicorn shuts down gracefully (lifespan: the audit log flushes), then re-raises the signal
    assert process.returncode in (0, -signal.SIGTERM)
    assert [r["action"] for r in audit_lines(audit)] == ["allow", "allow", "throttle"]


def test_guard_serve_rejects_bad_arguments(tmp_path: Path) -> None:
    policy_file = tmp_path / "guard.yaml"
    policy_file.write_text("routes:\n  - path: nope\n")
    run = subprocess.run([sys.executable, "-m", "clearsight", "guard", "serve", "--upstream", "http://x",
                          "--policy", str(policy_file)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and f"{policy_file}:2" in run.stderr and "starts with '/'" in run.stderr
    policy_file.write_text("routes:\n  - path: /v1\n")
    for args, message in ((["--upstream", "ftp://x"], "http(s) URL"), (["--listen", "nowhere"], "HOST:PORT"),
                          (["--upstream", "http://user:pw@x"], "holds credentials"),
                          (["--upstream", "http://x:port"], "port is not usable")):
        base = ["--upstream", "http://x"] if "--upstream" not in args else []
        run = subprocess.run([sys.executable, "-m", "clearsight", "guard", "serve", *base, *args,
                              "--policy", str(policy_file)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and message in run.stderr
        assert "clearsight guard: http://" not in run.stderr  # refused before the proxy announces itself


def _odd_upstream() -> Starlette:
    """An upstream that sends what the proxy must not buffer or mangle: big streamed answers, gzip despite
    ``identity``, its own Date/Server headers; it also reports the headers and body size it received."""
    seen: dict[str, object] = {}

    async def big(request: Request) -> StreamingResponse:
        size = int(request.query_params["mib"]) * 1024 * 1024

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(size // 65536):
                yield b"x" * 65536

        kind = request.query_params.get("type", "application/octet-stream")
        return StreamingResponse(chunks(), media_type=kind)

    async def gz(request: Request) -> Response:
        body = gzip.compress(json.dumps({"fraud_probability": 0.123456, "label": "legit"}).encode())
        return Response(body, media_type="application/json", headers={"content-encoding": "gzip"})

    async def upload(request: Request) -> JSONResponse:
        seen["accept-encoding"] = request.headers.get("accept-encoding")
        seen["content-length"] = request.headers.get("content-length")
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return JSONResponse({"received": total})

    async def broken(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind == "stall":  # headers and a first chunk, then nothing until the proxy gives up
            async def stall() -> AsyncIterator[bytes]:
                yield b'{"p": 0.1'
                await asyncio.sleep(5)
                yield b"}"

            return StreamingResponse(stall(), media_type="application/json")
        if kind == "br":  # ignores identity and uses a coding httpx cannot read without extra packages
            return Response(zlib.compress(b'{"p": 0.123456789}'), media_type="application/json",
                            headers={"content-encoding": "br"})
        if kind == "notjson":
            return Response(b"p=0.123456789", media_type="application/json")
        if kind == "text":  # the raw score as plain text: nothing the guard could harden
            return Response(b"0.123456789", media_type="text/plain")
        if kind == "missing":
            return Response(b"no such model", status_code=404, media_type="text/plain")
        return Response(status_code=304, headers={"content-length": "50", "etag": '"x"'})

    async def forever(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"data: tick\n\n"
                    await asyncio.sleep(0.05)
            finally:
                seen["forever-ended"] = True

        return StreamingResponse(events(), media_type="text/event-stream")

    async def endless(request: Request) -> StreamingResponse:
        kind = request.query_params["type"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                yield b'{"p": "'
                while True:
                    yield b"x" * 65536
                    await asyncio.sleep(0)
            finally:
                seen[f"endless-ended {kind}"] = True

        return StreamingResponse(chunks(), media_type=kind)

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"te": request.headers.get("transfer-encoding"),
                             "cl": request.headers.get("content-length")})

    async def hop(request: Request) -> JSONResponse:  # marks a header of its own as meant for the proxy only
        return JSONResponse(dict(request.headers), headers={"Connection": "X-Upstream-Secret",
                                                            "X-Upstream-Secret": "u", "X-Kept": "k"})

    app = Starlette(routes=[Route("/big", big), Route("/v1/score", gz, methods=["POST"]),
                            Route("/upload", upload, methods=["POST"]), Route("/broken/{kind}", broken),
                            Route("/echo", echo), Route("/forever", forever), Route("/endless", endless),
                            Route("/hop", hop)])
    app.state.seen = seen
    return app


def test_the_proxy_streams_answers_and_bodies_and_sends_each_header_once(tmp_path: Path) -> None:
    """A reviewer saw the proxy read the whole upstream answer before any size check and send Date and Server
    twice (uvicorn's and the upstream's); a gzip answer reached clients decoded but still labelled gzip."""
    audit = tmp_path / "audit.jsonl"
    upstream_app = _odd_upstream()
    policy = parse_policy(policy_text(audit) + "  - path: /big\n    methods: [GET]\n"
                          "    output: {scores: $.p}\n")  # reviewed when JSON; not hardened, so other types pass
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        host, port = proxy.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw_head = conn.makefile("rb").read().split(b"\r\n\r\n")[0].lower()
        with httpx.stream("GET", proxy + "/big?mib=40", headers={"X-Partner-Key": "p"}) as streamed:
            size = sum(len(chunk) for chunk in streamed.iter_raw())
        too_big = httpx.get(proxy + "/big?mib=20&type=application/json", headers={"X-Partner-Key": "p"})
        hardened = httpx.post(proxy + "/v1/score", json={"features": LEGIT},
                              headers={"X-Partner-Key": "p", "Accept-Encoding": "gzip"})
        uploaded = httpx.post(proxy + "/upload", content=b"y" * (8 * 1024 * 1024))
    assert raw_head.count(b"\r\ndate:") == 1 and raw_head.count(b"\r\nserver:") == 1
    assert size == 40 * 1024 * 1024  # not a guarded JSON answer: streamed through whole
    assert too_big.status_code == 502 and too_big.json()["guard"] == "output.too-large"
    assert hardened.status_code == 200 and "content-encoding" not in hardened.headers
    assert hardened.json() == {"fraud_probability": 0.12, "label": "legit"}
    assert uploaded.json() == {"received": 8 * 1024 * 1024}  # an unguarded route: no guard cap, streamed
    assert upstream_app.state.seen == {"accept-encoding": "identity", "content-length": str(8 * 1024 * 1024)}


def test_the_proxy_answers_for_upstreams_that_break_or_cannot_be_read(tmp_path: Path) -> None:
    """From a review of the streaming proxy: a stalled or unreadable answer on a guarded route was a server 500
    with a traceback (or, for an encoding httpx cannot decode, released unhardened without its Content-Encoding);
    every bodiless GET went upstream as an empty chunked body; Content-Length with chunks gave a 500."""
    audit = tmp_path / "audit.jsonl"
    guarded = "".join(f"  - path: /broken/{kind}\n    methods: [GET]\n    output: {{scores: $.p}}\n"
                      "    hardening: {round: 1}\n" for kind in ("stall", "br", "notjson", "text", "missing"))
    policy = parse_policy(policy_text(audit) + guarded)
    with serve(_odd_upstream()) as upstream, serve(build_proxy(upstream, policy, timeout=1.0)) as proxy:
        key = {"X-Partner-Key": "p"}
        stalled = httpx.get(proxy + "/broken/stall", headers=key, timeout=30)
        encoded = httpx.get(proxy + "/broken/br", headers=key)
        unreadable = httpx.get(proxy + "/broken/notjson", headers=key)
        plain = httpx.get(proxy + "/broken/text", headers=key)
        missing = httpx.get(proxy + "/broken/missing", headers=key)
        not_modified = httpx.get(proxy + "/broken/304")
        echoed = httpx.get(proxy + "/echo").json()
        host, port = proxy.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n7\r\nabcdefg\r\n0\r\n\r\n")
            both = conn.makefile("rb").read()
    assert stalled.status_code == 504 and stalled.json()["guard"] == "upstream.error"
    assert encoded.status_code == 502 and "cannot read (br)" in encoded.json()["error"]
    assert unreadable.status_code == 502 and unreadable.json()["guard"] == "output.not-json"
    assert plain.status_code == 502 and plain.json()["guard"] == "output.not-json"
    assert missing.status_code == 404 and missing.text == "no such model"  # errors carry no scores: as they are
    assert not_modified.status_code == 304 and "content-length" not in not_modified.headers
    assert echoed == {"te": None, "cl": None}
    assert b" 200 " in both.split(b"\r\n")[0] and b'{"received":7}' in both
    records = {r["route"]: r for r in audit_lines(audit)}
    assert records["/broken/stall"]["status"] == 504 and records["/broken/stall"]["action"] == "error"
    assert records["/broken/notjson"]["action"] == "error"
    assert records["/broken/text"]["action"] == "error" and "output.not-json" in records["/broken/text"]["reasons"]


def test_the_proxy_stops_reading_when_the_client_leaves(tmp_path: Path) -> None:
    """uvicorn's send() returns silently once the client is gone, so the proxy went on reading: a reviewer's two
    abandoned event streams held a pool of two connections until the next request got a 504."""
    upstream_app = _odd_upstream()
    policy = parse_policy(policy_text(tmp_path / "audit.jsonl"))
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy, max_connections=2, timeout=3.0)) \
            as proxy:
        for _ in range(2):
            with httpx.stream("GET", proxy + "/forever") as events:
                next(events.iter_raw())
        deadline = time.monotonic() + 10
        while "forever-ended" not in upstream_app.state.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        after = httpx.get(proxy + "/echo")
    assert upstream_app.state.seen.get("forever-ended") is True
    assert after.status_code == 200


def test_the_proxy_stops_reading_an_answer_it_refuses(tmp_path: Path) -> None:
    """An endless answer on a guarded route was read for ever once refused (too large, or not JSON on a hardened
    route): memory stayed bounded, but the client never got its 502 and the upstream stream never ended."""
    upstream_app = _odd_upstream()
    policy = parse_policy(policy_text(tmp_path / "audit.jsonl") + "  - path: /endless\n    methods: [GET]\n"
                          "    output: {scores: $.p}\n    hardening: {round: 1}\n")
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        key = {"X-Partner-Key": "p"}
        too_large = httpx.get(proxy + "/endless?type=application/json", headers=key, timeout=20)
        not_json = httpx.get(proxy + "/endless?type=text/plain", headers=key, timeout=20)
        deadline = time.monotonic() + 10
        while len(upstream_app.state.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert too_large.status_code == 502 and too_large.json()["guard"] == "output.too-large"
    assert not_json.status_code == 502 and not_json.json()["guard"] == "output.not-json"
    assert upstream_app.state.seen == {"endless-ended application/json": True, "endless-ended text/plain": True}
    records = [(r["status"], r["action"], r["reasons"]) for r in audit_lines(tmp_path / "audit.jsonl")]
    assert records == [(502, "error", ["output.too-large"]), (502, "error", ["output.not-json"])]


def test_cookies_the_upstream_sets_for_one_client_never_reach_another(tmp_path: Path) -> None:
    """The proxy's upstream client is shared by every client. It kept a cookie jar: a session cookie the upstream
    set for one client was sent with every later request, whoever made it. Cookies pass only as clients send
    them, and the Set-Cookie still reaches the client it was meant for."""

    async def login(request: Request) -> JSONResponse:
        answer = JSONResponse({"ok": True})
        answer.set_cookie("session", "alice-secret")
        return answer

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"cookie": request.headers.get("cookie")})

    upstream_app = Starlette(routes=[Route("/login", login), Route("/whoami", whoami)])
    policy = parse_policy(policy_text(tmp_path / "audit.jsonl"))
    with serve(upstream_app) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        alice = httpx.get(proxy + "/login")
        bob = httpx.get(proxy + "/whoami").json()
        alice_again = httpx.get(proxy + "/whoami", headers={"Cookie": "session=alice-secret"}).json()
    assert alice.headers["set-cookie"].startswith("session=alice-secret")
    assert bob == {"cookie": None}
    assert alice_again == {"cookie": "session=alice-secret"}


def test_headers_the_connection_header_names_stay_on_their_hop(tmp_path: Path) -> None:
    """Found by a review: only a fixed list of hop-by-hop headers was dropped, so a header a client or the
    upstream marked as connection-specific (``Connection: X-Secret``, RFC 9110 7.6.1) went through, and so did
    the old ``Proxy-Connection``."""
    policy = parse_policy(policy_text(tmp_path / "audit.jsonl"))
    with serve(_odd_upstream()) as upstream, serve(build_proxy(upstream, policy)) as proxy:
        answer = httpx.get(proxy + "/hop", headers={"Connection": "keep-alive, X-Client-Secret",
                                                    "X-Client-Secret": "c", "Proxy-Connection": "keep-alive",
                                                    "X-Other": "o"})
    seen = answer.json()
    assert "x-client-secret" not in seen and "proxy-connection" not in seen and seen["x-other"] == "o"
    assert "x-upstream-secret" not in answer.headers and answer.headers["x-kept"] == "k"

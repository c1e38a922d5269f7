from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.core.errors import InputError
from clearsight.guard.policy import load_policy, parse_policy

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection-guarded" / "guard.yaml"

MINIMAL = """\
routes:
  - path: /v1/score
    input: {paths: $.features}
    output: {scores: $.p}
    limits: ["5/second", "100 per day"]
    extraction: {actions: block}
    hardening: {round: 2}
"""


def test_minimal_policy_gets_safe_defaults() -> None:
    policy = parse_policy(MINIMAL)
    route = policy.routes[0]
    assert route.methods == ["POST"]
    assert [str(p) for p in route.input.paths] == ["$.features"]  # type: ignore[union-attr]
    assert route.extraction is not None and route.extraction.actions == ["block"]
    assert policy.storage == "memory://" and policy.audit.enabled and policy.metrics.path == "/metrics"
    assert policy.rate_limited and policy.extraction_detection and policy.output_hardening
    assert policy.route_for("POST", "/v1/score") is route
    assert policy.route_for("GET", "/v1/score") is None
    assert policy.route_for("POST", "/v1/score/x") is None


def test_prefix_routes() -> None:
    policy = parse_policy("routes:\n  - {path: /models/*, methods: [post, get]}\n")
    assert policy.route_for("GET", "/models/a/predict") is not None
    assert policy.route_for("POST", "/models") is not None
    assert policy.route_for("POST", "/modelsX") is None
    assert policy.route_for("POST", "/Models/A") is not None


def test_case_and_a_trailing_slash_still_match_the_route() -> None:
    # servers behind the proxy differ on both; a path the app serves must not slip past the guard
    policy = parse_policy("routes:\n  - {path: /v1/score}\n")
    for path in ("/v1/score", "/v1/score/", "/V1/Score", "/V1/SCORE/"):
        assert policy.route_for("POST", path) is not None, path
    assert policy.route_for("POST", "/v1/scores") is None and policy.route_for("POST", "/v1") is None


def test_example_policy_is_valid_and_resolves_audit_next_to_it() -> None:
    policy = load_policy(EXAMPLE_POLICY)
    assert policy.system == "card-fraud-detection"
    assert policy.client.require_api_key
    assert Path(policy.audit.target).parent == EXAMPLE_POLICY.parent / "audit"
    route = policy.routes[0]
    assert route.input is not None and route.input.feature_names is not None
    assert len(route.input.feature_names) == 10


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("routes:\n  - path: /x\n    limts: ['1/second']\n", 3, "unknown key 'limts'"),
        ("routes:\n  - path: /x\n    limits: ['ten per minute']\n", 3, "is not a rate limit"),
        ("routes:\n  - path: /x\n    limits: ['0/second']\n", 3, "admits no request"),  # refused every request
        ("routes:\n  - path: /x\n    limits: ['10/0 seconds']\n", 3, "admits no request"),  # read as 10/second
        ("routes:\n  - path: x\n", 2, "starts with '/'"),
        ("routes:\n  - path: /x\n    input: {paths: features}\n", 3, "starts with '$'"),
        ("routes:\n  - path: /x\n    extraction: {}\n", 2, "needs 'input'"),
        ("routes:\n  - path: /x\n    hardening: {round: 2}\n", 2, "needs 'output.scores'"),
        ("storage: mysql://x\nroutes:\n  - path: /x\n", 1, "memory:// or a redis"),
        ("routes: []\n", 1, "at least 1"),
        ("routes:\n  - path: /x\nroutes:\n  - path: /y\n", 3, "appears twice"),
        ("routes:\n  - path: /x\n    hardening: {noise: 0.9}\n    output: {scores: $.p}\n", 3, "less than or equal"),
        ("routes:\n  - path: /x\n    extraction: {actions: [explode]}\n    input: {paths: $.f}\n", 3,
         "Input should be"),
        ("version: 2\nroutes:\n  - path: /x\n", 1, "Input should be 1"),
        ("- a\n- b\n", 1, "top level must be a mapping"),
        ("routes: [\n", 2, "invalid YAML"),
        ("routes:\n  - {path: /x, methods: [POST]}\n  - {path: /X/, methods: [PUT]}\n", 1, "two routes for the path"),
        ("routes:\n  - {path: /x, methods: []}\n", 2, "at least 1"),
        ("client: {api_key_header: null, require_api_key: true}\nroutes:\n  - path: /x\n", 1, "needs api_key_header"),
        ("routes:\n  - path: /x\n    input: {paths: $.f, feature_names: [a, b]}\n    extraction: {categorical: [5]}\n",
         4, "categorical index 5"),
        ("routes:\n  - path: /x\n    input: {paths: $.f}\n    extraction: {categorical: [-1]}\n", 4,
         "categorical index -1"),
        ("routes:\n  - path: /x\n    input: {paths: $.f}\n    extraction: {scale: [1, .nan]}\n", 4,
         "finite and positive"),
    ],
)
def test_bad_policies_say_where_and_why(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_policy(text, "guard.yaml")
    assert fragment in caught.value.diagnostic()
    assert caught.value.line == line


def test_scale_must_match_feature_count() -> None:
    text = ("routes:\n  - path: /x\n    input: {paths: $.t, feature_names: [a, b]}\n"
            "    extraction:\n      scale: [1, 2, 3]\n")
    with pytest.raises(InputError) as caught:
        parse_policy(text, "g.yaml")
    assert caught.value.line == 5 and "3 values for 2 features" in caught.value.message


def test_missing_empty_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="not a regular file"):
        load_policy(tmp_path)
    empty = tmp_path / "guard.yaml"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_policy(empty)


def test_guard_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clearsight.cli.app import main

    assert main(["guard", "check", str(EXAMPLE_POLICY)]) == 0
    out = capsys.readouterr().out
    assert "valid guard policy for system 'card-fraud-detection'" in out
    assert ("POST /v1/score: limits 20/second, 1200/minute, 50000/day; extraction (volume over 400/day, counted "
            "per process; clock on hour) -> alert+degrade; hardening round 2") in out
    shared = tmp_path / "shared.yaml"
    shared.write_text(EXAMPLE_POLICY.read_text().replace("storage: memory://", "storage: redis://127.0.0.1:6379/0"))
    assert "storage: redis://" in shared.read_text() and main(["guard", "check", str(shared)]) == 0
    assert "(volume over 400/day, counted by all replicas in Redis, every 0.25 s; clock on hour)" in \
        capsys.readouterr().out
    assert main(["guard", "check", str(EXAMPLE_POLICY), "--format", "json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["routes"][0]["input"]["paths"] == ["$.features", "$.transaction"]
    bad = tmp_path / "guard.yaml"
    bad.write_text("routes:\n  - path: /x\n    limts: []\n")
    assert main(["guard", "check", str(bad)]) == 2
    assert f"{bad}:3: routes[0].limts: unknown key 'limts'" in capsys.readouterr().err



@pytest.mark.parametrize(("route", "fragment"), [
    ("    input: {paths: $.f}\n    extraction: {tuning: {not_a_knob: 1.0}}\n", "not_a_knob"),
    ("    input: {paths: $.f}\n    extraction: {reference: missing.csv}\n", "missing.csv"),
    ("    screening: {screener: nope, text: $.t}\n", "screener 'nope' is not registered"),
])
def test_check_refuses_what_serve_would_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str,
                                               fragment: str) -> None:
    """These passed `guard check` and only stopped `guard serve`, whose message did not name the file."""
    from clearsight.cli.app import main

    policy = tmp_path / "guard.yaml"
    policy.write_text("routes:\n  - path: /x\n" + route)
    assert main(["guard", "check", str(policy)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(tmp_path) in err


@pytest.mark.parametrize(("settings", "fragment"), [
    ("audit: {target: audit.log}\n", "unknown audit target"),
    ("audit: {target: 'nosuchdb://u@h/db'}\n", "unsupported database URL"),
    ("audit: {target: 'sqlite://'}\n", "in-memory SQLite"),
    ("alerts: {webhook: 'ftp://example.com/hook'}\n", "http(s) URL"),
    ("alerts: {webhook: 'http://[::1/hook'}\n", "not a valid URL"),
    ("alerts: {webhook: 'https:///hook'}\n", "no host"),
    ("storage: 'redis://[::1'\n", "not a valid URL"),
    ("storage: 'redis://127.0.0.1:99999/0'\n", "Port out of range"),
    ("storage: 'redis+unix://'\n", "socket's path"),
    ("alerts: {webhook: 'http://[::1]x/'}\n", "not a valid URL"),
    ('alerts: {webhook: "http://a\\x01b/"}\n', "not a valid URL"),
])
def test_check_refuses_targets_serve_could_not_open(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     settings: str, fragment: str) -> None:
    """These passed `guard check` and stopped `guard serve` at start-up (one of them with an internal error)."""
    from clearsight.cli.app import main

    policy = tmp_path / "guard.yaml"
    policy.write_text(settings + "routes:\n  - path: /x\n")
    assert main(["guard", "check", str(policy)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(policy) in err


def test_check_opens_nothing_it_checks(tmp_path: Path) -> None:
    from clearsight.cli.app import main

    database = tmp_path / "not-yet" / "audit.db"
    policy = tmp_path / "guard.yaml"
    policy.write_text(f"audit: {{target: 'sqlite:///{database}'}}\nstorage: 'redis://127.0.0.1:1/0'\n"
                      "alerts: {webhook: 'https://hooks.example.com/x'}\nroutes:\n  - path: /x\n")
    assert main(["guard", "check", str(policy)]) == 0  # nothing listens on port 1: no connection was tried
    assert not database.parent.exists()


def test_extraction_settings_follow_the_route(tmp_path: Path) -> None:
    from clearsight.guard.engine import extraction_settings

    (tmp_path / "natural.csv").write_text("b,a,ignored\n2,1,x\n4,3,y\n")
    policy_file = tmp_path / "guard.yaml"
    policy_file.write_text(
        "routes:\n  - path: /s\n    input: {paths: $.t, feature_names: [a, b]}\n"
        "    output: {scores: $.p, threshold: 0.3}\n"
        "    extraction: {categorical: [b], reference: natural.csv, window: 50, tuning: {boundary_margin: 0.5}}\n")
    settings = extraction_settings(load_policy(policy_file).routes[0])
    assert settings.decision_threshold == 0.3 and settings.categorical == (1,) and settings.window == 50
    assert settings.reference == ((1.0, 2.0), (3.0, 4.0)) and settings.boundary_margin == 0.5


def test_the_stated_volume_becomes_the_volume_signals_limit(tmp_path: Path) -> None:
    from clearsight.guard.engine import extraction_settings

    policy_file = tmp_path / "guard.yaml"
    policy_file.write_text("routes:\n  - path: /s\n    input: {paths: $.t}\n    output: {scores: $.p}\n"
                           "    extraction: {volume: 400/day, scale: [1.0]}\n")
    settings = extraction_settings(load_policy(policy_file).routes[0])
    assert (settings.volume_limit, settings.volume_period) == (400, 86_400.0) and "volume" in settings.signals
    policy_file.write_text("routes:\n  - path: /s\n    input: {paths: $.t}\n    extraction: {volume: 0/day}\n")
    with pytest.raises(InputError, match="admits no request"):
        load_policy(policy_file)
    policy_file.write_text("routes:\n  - path: /s\n    input: {paths: $.t}\n    extraction: {volume: lots}\n")
    with pytest.raises(InputError, match="not a rate limit"):
        load_policy(policy_file)
    for extraction, fragment in (("{signals: [volume], scale: [1.0]}", "states no volume"),
                                 ("{volume: 9/day, signals: [flagged], scale: [1.0]}", "not among the signals"),
                                 ("{volume: 9/second, scale: [1.0]}", "at least 60 seconds")):
        policy_file.write_text(f"routes:\n  - path: /s\n    input: {{paths: $.t}}\n    extraction: {extraction}\n")
        with pytest.raises(InputError, match=fragment):
            extraction_settings(load_policy(policy_file).routes[0])


@pytest.mark.parametrize(
    ("csv_text", "fragment"),
    [("", "empty"), ("a\n1\n", "lacks columns"), ("a,b\n1,x\n", "not a number"),
     ("a,b\n" + "1" * 200_000 + ",2\n", "not a readable CSV")],
)
def test_bad_reference_files(tmp_path: Path, csv_text: str, fragment: str) -> None:
    from clearsight.guard.engine import extraction_settings

    (tmp_path / "ref.csv").write_text(csv_text)
    policy_file = tmp_path / "guard.yaml"
    policy_file.write_text("routes:\n  - path: /s\n    input: {paths: $.t, feature_names: [a, b]}\n"
                           "    extraction: {reference: ref.csv}\n")
    with pytest.raises(InputError, match=fragment):
        extraction_settings(load_policy(policy_file).routes[0])


def test_categorical_names_must_be_features() -> None:
    text = "routes:\n  - path: /s\n    input: {paths: $.t, feature_names: [a]}\n    extraction:\n" \
           "      categorical: [a, zz]\n"
    with pytest.raises(InputError) as caught:
        parse_policy(text, "g.yaml")
    assert caught.value.line == 5 and "'zz' is not in input.feature_names" in caught.value.message


def test_the_clock_feature_is_named_or_placed_and_must_be_a_feature() -> None:
    from clearsight.guard.engine import extraction_settings

    head = "routes:\n  - path: /s\n    input: {paths: $.t, feature_names: [amount, hour]}\n    extraction:\n"
    assert extraction_settings(parse_policy(head + "      clock: hour\n").routes[0]).clock_feature == 1
    assert extraction_settings(parse_policy(head + "      clock: 0\n").routes[0]).clock_feature == 0
    assert extraction_settings(parse_policy(head + "      volume: 9/day\n").routes[0]).clock_feature is None
    for value, problem in [("minute", "clock feature 'minute' is not in input.feature_names"),
                           ("2", "clock index 2 is not a feature position (0 to 1)")]:
        with pytest.raises(InputError) as caught:
            parse_policy(head + f"      clock: {value}\n", "g.yaml")
        assert caught.value.line == 5 and caught.value.message == problem
        assert caught.value.field == "routes[0].extraction.clock"
    for extra, line, problem in [
            ("      signals: [clock]\n", 5, "extraction.signals lists 'clock' but the route names no feature holding"),
            ("      clock: hour\n      signals: [ood]\n", 5, "extraction.clock is set but 'clock' is not among"),
            ("      signals: [volume]\n", 5, "extraction.signals lists 'volume' but the route states no volume"),
            ("      signals: [ood]\n      volume: 9/day\n", 6, "extraction.volume is set but 'volume' is not")]:
        with pytest.raises(InputError) as caught:
            parse_policy(head + extra, "g.yaml")
        assert caught.value.line == line and caught.value.message.startswith(problem)
    for value in ("false", "off", "on", "true", "1.0"):  # YAML booleans were taken as feature 0 or 1
        with pytest.raises(InputError):
            parse_policy(head + f"      clock: {value}\n", "g.yaml")
    with pytest.raises(InputError, match=r"extraction\.tuning cannot set clock_feature"):
        extraction_settings(parse_policy(head + "      tuning: {clock_feature: 1}\n").routes[0])


def test_missing_runtime_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import clearsight.guard as guard_package

    for name in [m for m in sys.modules if m.startswith("clearsight.guard.")
                 and m.rsplit(".", 1)[-1] in ("middleware", "engine", "ratelimit", "proxy")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "limits", None)
    with pytest.raises(ImportError, match=r"pip install 'clearsight\[guard\]'"):
        _ = guard_package.ModelGuard
    with pytest.raises(AttributeError):
        _ = guard_package.Nothing  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "positive", "expected"),
    [(0.7, None, 0.7), ([0.2, 0.8], None, 0.8), ({"fraud": 0.2, "legit": 0.8}, "fraud", 0.2),
     ({"fraud": 0.2, "legit": 0.8}, None, None), ({"fraud": "x"}, "fraud", None), (True, None, None), ([], None, None),
     (10**400, None, None), ([0.1, 10**400], None, None), ({"fraud": 10**400}, "fraud", None)],
)
def test_positive_class_score_is_never_guessed(value: object, positive: str | None, expected: float | None) -> None:
    from clearsight.guard.engine import _positive_score

    assert _positive_score(value, positive) == expected


def test_the_guard_remembers_routes_per_path_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo gives what the policy's own matching gives, for paths seen before and after it was emptied."""
    from clearsight.guard import engine

    monkeypatch.setattr(engine, "MAX_REMEMBERED_PATHS", 8)
    policy = parse_policy("audit: {enabled: false}\nroutes:\n  - {path: /models/*, methods: [post]}\n"
                          "  - {path: /v1/score}\n")
    guard = engine.Guard(policy)
    asked = [("POST", "/v1/score"), ("POST", "/V1/Score/"), ("GET", "/v1/score"), ("POST", "/models/a"),
             *[("POST", f"/other/{i}") for i in range(20)], ("POST", "/v1/score"), ("POST", "/models/b")]
    for _ in range(2):
        for method, path in asked:
            assert guard.route_for(method, path) is policy.route_for(method, path), (method, path)
            assert len(guard._routes) <= 8

"""The guard policy (``guard.yaml``): what to protect, how to read it and what to do when something fires.

The policy is data, validated with file:line errors before a single request is served, so a typo cannot
silently switch a protection off. It imports nothing heavy: ``clearsight assess`` reads it as evidence on a
core install without the guard's runtime dependencies.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from clearsight.core.errors import InputError
from clearsight.guard.jsonpath import JsonPath, parse_path
from clearsight.yaml_models import line_of, load_model, read_text_file

MAX_POLICY_BYTES = 1024 * 1024
POLICY_NAMES = ("guard.yaml", "guard.yml", "clearsight-guard.yaml")

_LIMIT = re.compile(
    r"^\s*(\d+)\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE
)


def _to_path(value: Any) -> JsonPath:
    if isinstance(value, JsonPath):
        return value
    if not isinstance(value, str):
        raise ValueError("a JSON path is a string such as '$.features'")
    return parse_path(value)


Path_ = Annotated[JsonPath, BeforeValidator(_to_path), PlainSerializer(str, return_type=str)]


def _check_limit(value: Any) -> str:
    match = _LIMIT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a rate limit; write e.g. '10/second', '600 per minute', '20000/day'")
    # "0/second" would refuse every request, and the limits library reads "10/0 seconds" as 10 a second
    if int(match.group(1)) == 0 or (match.group(3) is not None and int(match.group(3)) == 0):
        raise ValueError(f"{value!r} admits no request (or no time); give a count and a period of at least 1")
    return str(value).strip()


Limit = Annotated[str, BeforeValidator(_check_limit)]


def _one_or_many(value: Any) -> Any:
    """A single string where a list is expected means a list of one (``paths: $.features``)."""
    return [value] if isinstance(value, str) else value


Paths = Annotated[list[Path_], BeforeValidator(_one_or_many)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClientIdentity(_Strict):
    """Who is asking: a hashed API key when the header is there, else the peer's address."""

    api_key_header: str | None = Field("X-API-Key", description="Header carrying the client's key.")
    require_api_key: bool = Field(False, description="Answer 401 when the header is missing.")
    trust_forwarded_for: bool = Field(
        False, description="Use the first X-Forwarded-For address (only behind a proxy you control)."
    )

    @model_validator(mode="after")
    def _a_required_key_has_a_header(self) -> ClientIdentity:
        if self.require_api_key and not self.api_key_header:
            raise ValueError("require_api_key needs api_key_header (without one no request could ever carry a key)")
        return self


class InputSpec(_Strict):
    """Where the feature vector sits in the request body."""

    paths: Paths = Field(min_length=1, description="Tried in order; the first that exists is the input.")
    feature_names: list[str] | None = Field(
        None, description="Order of features when the input is an object of named values."
    )
    max_features: int = Field(4096, ge=1, le=1_000_000)


class OutputSpec(_Strict):
    """Where the model's answer sits in the response body."""

    scores: Path_ | None = Field(None, description="A probability, a list of scores or an object of scores.")
    label: Path_ | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="Decision threshold of a single probability.")
    positive: str | None = Field(None, description="Key of the positive class when scores are an object; "
                                                   "a list's last item is taken as the positive class.")


class HardeningSpec(_Strict):
    """How much of the model's answer leaves the service; each option keeps the response's shape."""

    round: int | None = Field(None, ge=0, le=12, description="Round scores to this many decimals.")
    top_label_only: bool = Field(False, description="Scores become one-hot on the top label (1/0).")
    noise: float = Field(0.0, ge=0.0, le=0.5, description="Add uniform noise of at most this size, never flipping "
                                                           "the top label.")

    @property
    def active(self) -> bool:
        return self.round is not None or self.top_label_only or self.noise > 0


ExtractionAction = Literal["alert", "throttle", "degrade", "block"]


def _alert_only() -> list[ExtractionAction]:
    return ["alert"]


class ExtractionSpec(_Strict):
    """Per-client model-extraction detection and what happens when it fires."""

    enabled: bool = True
    signals: list[str] | None = Field(None, description="Detectors to run; default: all built-in ones.")
    prada_threshold: float | None = Field(None, gt=0.0, lt=1.0)
    min_queries: int | None = Field(None, ge=2)
    window: int | None = Field(None, ge=10, le=100_000)
    max_clients: int | None = Field(None, ge=1)
    scale: list[float] | None = Field(None, description="Per-feature scale used to standardise inputs.")
    categorical: list[str | int] = Field(default_factory=list,
                                         description="Features that are codes (names from feature_names, or indices).")
    reference: str | None = Field(None, description="CSV of natural queries (e.g. training rows) the detectors "
                                                    "compare against; relative to the policy file.")
    volume: Limit | None = Field(None, description="Most queries a natural client sends, e.g. '400/day' (the busiest "
                                                   "partner's volume with a margin): the 'volume' signal fires "
                                                   "beyond it.")
    clock: StrictStr | StrictInt | None = Field(
        None, description="The feature holding the hour of day (0-23) of the event scored, where the route's clients "
                          "score events as they happen: the 'clock' signal fires on a client whose hours do not "
                          "follow the clock (a replay of held data). Leave it out to turn the signal off.")
    tuning: dict[str, float] = Field(default_factory=dict, description="Signal-specific thresholds by name.")
    actions: Annotated[list[ExtractionAction], BeforeValidator(_one_or_many)] = Field(
        default_factory=_alert_only, min_length=1)
    throttle: Limit = Field("10/minute", description="Limit applied to a client once it is throttled.")
    penalty_seconds: float = Field(3600.0, gt=0, description="How long throttle, degrade and block last.")


class ScreeningSpec(_Strict):
    """Screen prompt text with a registered screener (the LLM-security detector plugs in here)."""

    screener: str = Field(description="Name of a screener registered with the guard.")
    text: Paths = Field(min_length=1, description="Paths to the text to screen, e.g. '$.messages[*].content'.")
    action: Literal["block", "flag", "log"] = "block"
    max_chars: int = Field(100_000, ge=1)


class RoutePolicy(_Strict):
    path: str = Field(description="Exact path, or a prefix ending in '/*'.")
    methods: list[str] = Field(default_factory=lambda: ["POST"], min_length=1)
    input: InputSpec | None = None
    output: OutputSpec | None = None
    limits: list[Limit] = Field(default_factory=list)
    extraction: ExtractionSpec | None = None
    hardening: HardeningSpec | None = None
    screening: ScreeningSpec | None = None
    max_body_bytes: int | None = Field(None, ge=1)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a route path starts with '/'")
        if "*" in value[:-1] or (value.endswith("*") and not value.endswith("/*")):
            raise ValueError("'*' is only allowed as a final '/*' (prefix match)")
        return value

    @field_validator("methods")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [m.upper() for m in value]

    @model_validator(mode="after")
    def _needs_what_it_reads(self) -> RoutePolicy:
        if self.extraction is not None and self.extraction.enabled and self.input is None:
            raise ValueError("extraction detection needs 'input' (where the feature vector is)")
        if self.hardening is not None and self.hardening.active and (self.output is None or self.output.scores is None):
            raise ValueError("output hardening needs 'output.scores' (where the scores are)")
        if (self.extraction is not None and self.extraction.enabled and "degrade" in self.extraction.actions
                and (self.output is None or self.output.scores is None)):
            raise ValueError("the extraction action 'degrade' needs 'output.scores' (the answer it degrades)")
        return self

    def matches(self, method: str, path: str) -> bool:
        """Case and a trailing slash are ignored: frameworks behind the proxy differ on both, and guarding a path
        the app then refuses costs nothing, while missing one it serves would let requests past the guard."""
        if method.upper() not in self.methods:
            return False
        path = path.lower()
        if self.path.endswith("/*"):
            prefix = self.path[:-1].lower()
            return path.startswith(prefix) or path == prefix[:-1]
        return path.rstrip("/") == self.path.lower().rstrip("/")


class AuditSpec(_Strict):
    enabled: bool = True
    target: str = Field("clearsight-guard-audit.jsonl", description="A .jsonl path or a database URL.")
    queue_size: int = Field(10_000, ge=1)


class AlertSpec(_Strict):
    webhook: str | None = None
    log: bool = True
    cooldown_seconds: float = Field(300.0, ge=0)
    retries: int = Field(4, ge=0, le=20)
    timeout_seconds: float = Field(5.0, gt=0)

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        problem = None if value is None else webhook_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class MetricsSpec(_Strict):
    enabled: bool = True
    path: str = "/metrics"


class GuardPolicy(_Strict):
    version: Literal[1] = 1
    system: str | None = Field(None, description="ID of the protected system in clearsight.yaml.")
    client: ClientIdentity = Field(default_factory=lambda: ClientIdentity.model_validate({}))
    storage: str = Field("memory://", description="limits storage URI, e.g. redis://127.0.0.1:6379/0 for replicas.")
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="A guarded request's body must arrive within this time (408 after it).")
    audit: AuditSpec = Field(default_factory=lambda: AuditSpec.model_validate({}))
    alerts: AlertSpec = Field(default_factory=lambda: AlertSpec.model_validate({}))
    metrics: MetricsSpec = Field(default_factory=lambda: MetricsSpec.model_validate({}))
    routes: list[RoutePolicy] = Field(min_length=1)

    @field_validator("routes")
    @classmethod
    def _one_route_per_path(cls, routes: list[RoutePolicy]) -> list[RoutePolicy]:
        # the guard keeps limits, detectors and penalties per path: a second route for the same path would take
        # over the first one's limits while requests still matched the first
        seen: set[str] = set()
        for route in routes:
            key = route.path.lower().rstrip("/")
            if key in seen:
                raise ValueError(f"two routes for the path {route.path}: give one route with all its methods")
            seen.add(key)
        return routes

    @field_validator("storage")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError("storage is memory:// or a redis:// URL")
        if value.startswith("memory://"):
            return value
        problem = _url_problem(value)  # redis:// without a host is localhost, as redis-py reads it
        if problem is None and value.startswith("redis+unix://") and not urlsplit(value).path:
            problem = "a redis+unix:// URL needs the socket's path, e.g. redis+unix:///run/redis.sock"
        if problem:  # found now rather than when the first request reaches the limiter
            raise ValueError(f"storage: {problem}")
        return value

    def route_for(self, method: str, path: str) -> RoutePolicy | None:
        for route in self.routes:
            if route.matches(method, path):
                return route
        return None

    @property
    def rate_limited(self) -> bool:
        return any(r.limits for r in self.routes)

    @property
    def extraction_detection(self) -> bool:
        return any(r.extraction is not None and r.extraction.enabled for r in self.routes)

    @property
    def output_hardening(self) -> bool:
        return any(r.hardening is not None and r.hardening.active for r in self.routes)


def webhook_problem(url: str) -> str | None:
    """Why ``url`` cannot take alerts, or None; checked without a connection, so ``guard check`` can say it."""
    problem = _url_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"alert webhook must be an http(s) URL, not {parts.scheme or 'a bare path'!r}"
    if not parts.hostname:
        return "alert webhook URL has no host"
    try:  # the client that will post the alerts must accept it too (IPv6 and IDNA hosts, control characters)
        import httpx
    except ImportError:  # the guard extra is not installed: nothing will post, and the syntax above was checked
        return None
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError) as exc:
        return f"not a valid URL ({exc})"
    return None


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is the check: a port out of range or not a number raises
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        return f"not a valid URL ({exc})"
    if any(c.isspace() for c in url):
        return "a URL cannot hold spaces"
    return None


_STATED = {"volume": ("states no volume to judge against", "add e.g. 'volume: 400/day' (the busiest client's day "
                                                                     "with a margin)"),
           "clock": ("names no feature holding the hour of day", "add e.g. 'clock: hour' (only where clients score "
                                                                  "events as they happen)")}


def signal_problem(spec: ExtractionSpec) -> tuple[str, str, str] | None:
    """A signal listed without what it judges against, or stated but left out of ``signals``: (message, the
    extraction key at fault, hint). A limit nobody checks would look like protection."""
    if spec.signals is None:
        return None
    for key, (missing, hint) in _STATED.items():
        stated = getattr(spec, key) is not None
        if key in spec.signals and not stated:
            return f"extraction.signals lists '{key}' but the route {missing}", "signals", hint
        if stated and key not in spec.signals:
            return (f"extraction.{key} is set but '{key}' is not among the signals", key,
                    f"add '{key}' to signals, or leave {key} out")
    return None


def _feature_problem(item: str | int, what: str, features: list[str] | None, width: int | None) -> str | None:
    """Why a feature named in the extraction settings (by name or position) is not one of the route's."""
    if isinstance(item, str) and (features is None or item not in features):
        return f"{what} feature '{item}' is not in input.feature_names"
    if isinstance(item, int) and (item < 0 or (width is not None and item >= width)):
        last = "the last feature" if width is None else width - 1
        return f"{what} index {item} is not a feature position (0 to {last})"
    return None


def parse_policy(text: str, shown: str = "guard.yaml") -> GuardPolicy:
    node, policy = load_model(text, GuardPolicy, shown, top_level="'routes'",
                              empty_hint="see docs/guard.md for an example policy")
    for i, route in enumerate(policy.routes):
        extraction = route.extraction
        features = route.input.feature_names if route.input else None
        width = len(features) if features else len(extraction.scale) if extraction and extraction.scale else None
        named: list[tuple[str | int, tuple[str | int, ...]]] = [
            (item, ("categorical", j)) for j, item in enumerate(extraction.categorical if extraction else [])]
        if extraction and extraction.clock is not None:
            named.append((extraction.clock, ("clock",)))
        problem_of_signals = signal_problem(extraction) if extraction else None
        if problem_of_signals:
            message, key, hint = problem_of_signals
            raise InputError(message, path=shown, line=line_of(node, ("routes", i, "extraction", key)),
                             field=f"routes[{i}].extraction.{key}", hint=hint)
        for item, where in named:
            problem = _feature_problem(item, str(where[0]), features, width)
            if problem:
                raise InputError(problem, path=shown, line=line_of(node, ("routes", i, "extraction", *where)),
                                 field=f"routes[{i}].extraction." + "".join(
                                     f"[{w}]" if isinstance(w, int) else w for w in where))
        bad_scale = [v for v in (extraction.scale or []) if not math.isfinite(v) or v <= 0] if extraction else []
        if bad_scale:
            raise InputError(f"extraction.scale values must be finite and positive (got {bad_scale[0]})", path=shown,
                             line=line_of(node, ("routes", i, "extraction", "scale")),
                             field=f"routes[{i}].extraction.scale")
        if extraction and extraction.scale and features and len(extraction.scale) != len(features):
            raise InputError(f"extraction.scale has {len(extraction.scale)} values for {len(features)} features",
                             path=shown, line=line_of(node, ("routes", i, "extraction", "scale")),
                             field=f"routes[{i}].extraction.scale")
    return policy


def load_policy(path: Path) -> GuardPolicy:
    """Read and validate a policy file; every problem is an :class:`InputError` with file and line."""
    if not path.exists():
        raise InputError("policy file does not exist", path=str(path))
    if not path.is_file():
        raise InputError("policy path is not a regular file", path=str(path))
    policy = parse_policy(read_text_file(path, max_bytes=MAX_POLICY_BYTES, what="a guard policy"), str(path))
    base = path.resolve().parent
    routes = []
    for route in policy.routes:  # a relative reference sample lives next to the policy too
        ref = route.extraction.reference if route.extraction else None
        if route.extraction is not None and ref is not None and not Path(ref).is_absolute():
            route = route.model_copy(update={"extraction": route.extraction.model_copy(
                update={"reference": str(base / ref)})})
        routes.append(route)
    policy = policy.model_copy(update={"routes": routes})
    target = policy.audit.target
    if "://" not in target:  # a relative audit file lives next to the policy, not wherever the server started
        plain = target.removeprefix("jsonl:")
        if not Path(plain).is_absolute():
            audit = policy.audit.model_copy(update={"target": str(base / plain)})
            policy = policy.model_copy(update={"audit": audit})
    return policy

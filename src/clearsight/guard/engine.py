"""The guard's decisions, independent of how requests arrive (middleware or proxy).

One :class:`Guard` per policy owns the limiter, the per-route extraction monitors, the penalties given to
clients that tripped a detector, and the audit, alert and metrics sinks. The ASGI layer asks it three
things per request: may this client send now (:meth:`Guard.admit_client`), is this body acceptable
(:meth:`Guard.inspect`), and what may leave (:meth:`Guard.review`); then :meth:`Guard.record` writes the
decision everywhere it belongs.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearsight.core.errors import InputError
from clearsight.guard import json_codec
from clearsight.guard.alerts import Alert, AlertDispatcher
from clearsight.guard.audit import VOLUME_UNSHARED, AuditFlushError, AuditLog, AuditRecord, check_target, open_sink
from clearsight.guard.hardening import harden
from clearsight.guard.inputs import Rejection, feature_vector, fingerprint, parse_json, texts
from clearsight.guard.metrics import GuardMetrics
from clearsight.guard.policy import ExtractionSpec, GuardPolicy, HardeningSpec, RoutePolicy, signal_problem
from clearsight.guard.ratelimit import RateLimiter, parse_limits
from clearsight.guard.screening import BUILTIN as BUILTIN_SCREENERS
from clearsight.guard.screening import Screener
from clearsight.guard.screening import resolve as resolve_screeners

if TYPE_CHECKING:
    from clearsight.guard.extraction import ExtractionMonitor, ExtractionSettings
    from clearsight.guard.shared_penalties import SharedPenalties
    from clearsight.guard.shared_volume import SharedVolume, VolumeSync

logger = logging.getLogger("clearsight.guard")

DEGRADED = HardeningSpec(top_label_only=True)
NOT_JSON = "the model API's answer is not JSON, so it cannot be hardened"
NOT_FINITE = "the model API's answer holds a NaN or an infinity, which a hardened JSON answer cannot carry"
MAX_PENALISED_CLIENTS = 100_000
MAX_REFERENCE_ROWS = 5_000
MAX_REMEMBERED_PATHS = 1_024


@dataclass(frozen=True)
class RateLimited(Rejection):
    retry_after: float = 1.0


@dataclass(slots=True)
class Admission:
    """What the guard learnt from a request before the model sees it."""

    document: Any = None
    vector: list[float] | None = None
    fingerprint: str | None = None
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    action: str = "allow"
    sent: int | None = None  # answered queries over the volume period, counted before review (None: the monitor counts)


@dataclass(slots=True)
class Review:
    """What the guard does with the model's answer."""

    body: bytes | None = None  # None: pass the original body through unchanged
    status: int | None = None  # set when the answer is replaced (e.g. a block)
    action: str = "allow"
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Penalty:
    kinds: set[str]
    until: float


class Guard:
    def __init__(
        self,
        policy: GuardPolicy,
        *,
        screeners: Mapping[str, Screener] | None = None,
        audit: AuditLog | None = None,
        alerts: AlertDispatcher | None = None,
        metrics: GuardMetrics | None = None,
        limiter: RateLimiter | None = None,
        key_prefix: str = "clearsight-guard",
        seed: int | None = None,
    ) -> None:
        self.policy = policy
        self.screeners, self._settings = runtime_parts(policy, screeners)
        self.limiter = limiter or RateLimiter(policy.storage, key_prefix=key_prefix)
        self.metrics = metrics or (GuardMetrics() if policy.metrics.enabled else None)
        if audit is None and policy.audit.enabled:
            # the exit hook is the last resort when nothing closed the guard (a server with lifespan off)
            audit = AuditLog(open_sink(policy.audit.target), queue_size=policy.audit.queue_size, close_at_exit=True)
        self.audit = audit
        self.alerts = alerts or AlertDispatcher(
            webhook=policy.alerts.webhook, log=policy.alerts.log, timeout=policy.alerts.timeout_seconds,
            retries=policy.alerts.retries, cooldown=policy.alerts.cooldown_seconds,
        )
        if self.metrics is not None and self.audit is not None:
            audit_log = self.audit
            self.metrics.set_queue_depth_fn(lambda: float(audit_log.stats().queued))
        self._limits = {r.path: parse_limits(r.limits) for r in policy.routes}
        self._throttles = {r.path: parse_limits([r.extraction.throttle]) for r in policy.routes if r.extraction}
        self._monitors: dict[str, ExtractionMonitor] = {}
        # routes with a stated volume: each answered query is counted before review, in this process and, where
        # the limits live in Redis, in the count the replicas share (the value; None: this process counts alone)
        self.volume_routes: dict[str, SharedVolume | None] = self._volume_routes()
        self.volume_sync: VolumeSync | None = None  # sends the shared counts' batches, when there are any
        if any(self.volume_routes.values()):
            from clearsight.guard.shared_volume import VolumeSync

            self.volume_sync = VolumeSync(v for v in self.volume_routes.values() if v is not None)
        self._routes: dict[tuple[str, str], RoutePolicy | None] = {}
        self._penalties: OrderedDict[tuple[str, str], _Penalty] = OrderedDict()
        # where the limits live in Redis, penalties are announced to the other replicas and theirs applied here
        self.shared_penalties: SharedPenalties | None = self._shared_penalties()
        self._rng = random.Random(seed)
        self._started = False
        self._closed = False

    def _shared_penalties(self) -> SharedPenalties | None:
        if not any(r.extraction and r.extraction.enabled and set(r.extraction.actions) - {"alert"}
                   for r in self.policy.routes):
            return None
        storage = self.limiter.redis_storage
        if storage is None:
            return None
        from clearsight.guard.shared_penalties import SharedPenalties

        return SharedPenalties(storage, self._penalise)

    def _volume_routes(self) -> dict[str, SharedVolume | None]:
        wanted = {path: s for path, s in self._settings.items() if s.volume_limit is not None}
        if not wanted:
            return {}
        storage = self.limiter.redis_storage
        if storage is None:
            return dict.fromkeys(wanted)
        from clearsight.guard.shared_volume import SharedVolume

        return {path: SharedVolume(storage, path, s.volume_period) for path, s in wanted.items()}

    # ------------------------------------------------------------------ lifecycle
    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.alerts.start()
        if self.shared_penalties is not None:
            self.shared_penalties.keep()
        if self.volume_sync is not None:
            self.volume_sync.keep()

    async def aclose(self) -> None:
        """Flush alerts and the audit log; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.volume_sync is not None:
            await self.volume_sync.aclose()
        if self.shared_penalties is not None:
            await self.shared_penalties.aclose()
        await self.alerts.aclose()
        if self.audit is not None:
            try:
                await self.audit.aclose()
            except AuditFlushError as exc:  # said loudly: the records are in the exception and the log
                logger.error("audit log: %s", exc)
                raise

    # ------------------------------------------------------------------ before the model
    def route_for(self, method: str, path: str) -> RoutePolicy | None:
        """The policy's route for a request, remembered per method and path: matching folds case and trailing
        slashes for every route in turn, and a service answers the same few paths all day. Paths come from
        clients, so the memory is bounded (emptied when full)."""
        key = (method, path)
        if key in self._routes:
            return self._routes[key]
        if len(self._routes) >= MAX_REMEMBERED_PATHS:
            self._routes.clear()
        route = self._routes[key] = self.policy.route_for(method, path)
        return route

    async def admit_client(self, route: RoutePolicy, client: str) -> None:
        """Raise a :class:`Rejection` when the client is blocked or over a limit."""
        if self.shared_penalties is not None:
            self.shared_penalties.keep()  # listening on this event loop
        penalty = self._penalty(route, client)
        if penalty and "block" in penalty.kinds:
            raise Rejection(403, "this client is blocked after suspected model extraction", "extraction.blocked")
        limits = self._limits[route.path]
        if penalty and "throttle" in penalty.kinds:
            limits = (*limits, *self._throttles[route.path])
        if limits:
            retry = await self.limiter.hit(route.path, client, limits)
            if retry is not None:
                if self.metrics:
                    self.metrics.rate_limited(route.path)
                reason = "rate-limit.throttled" if penalty and "throttle" in penalty.kinds else "rate-limit"
                raise RateLimited(429, f"rate limit exceeded; retry after {int(retry)} s", reason, retry)

    def inspect(self, route: RoutePolicy, body: bytes) -> Admission:
        """Parse what the route needs from the body; raise a :class:`Rejection` for anything unusable."""
        admission = Admission()
        if route.input is None and route.screening is None:
            admission.fingerprint = fingerprint(None, body)
            return admission
        admission.document = parse_json(body)
        if route.input is not None:
            admission.vector = feature_vector(admission.document, route.input)
            scale = route.extraction.scale if route.extraction else None
            if route.input.feature_names is None and scale and len(admission.vector) != len(scale):
                raise Rejection(422, f"expected {len(scale)} features, got {len(admission.vector)}", "input.length")
        admission.fingerprint = fingerprint(admission.vector, body)
        if route.screening is not None:
            self._screen(route, admission)
        return admission

    def _screen(self, route: RoutePolicy, admission: Admission) -> None:
        spec = route.screening
        assert spec is not None
        screener = self.screeners[spec.screener]
        worst = 0.0
        for text in texts(admission.document, spec):
            verdict = screener(text)
            worst = max(worst, verdict.score)
            if verdict.flagged:
                reason = "screening:" + (",".join(verdict.reasons) or spec.screener)
                admission.scores["screening"] = verdict.score
                if spec.action == "block":
                    raise Rejection(403, "the request was refused by the prompt screening policy", reason)
                admission.reasons.append(reason)
                admission.action = "flag" if spec.action == "flag" else admission.action
                return
        admission.scores["screening"] = worst

    # ------------------------------------------------------------------ after the model
    def count_answer(self, route: RoutePolicy, client: str, admission: Admission) -> None:
        """Count a successful answer to a query with a feature vector towards the client's volume (routes in
        :attr:`volume_routes`), before the answer is reviewed, so the same queries are counted in memory and in
        Redis. Where the replicas share the count, the query is judged on the larger of this process's count
        and the shared one (as the last batch read it, plus this process's since); while the batches fail, the
        record says so (``volume.unshared``). Nothing here waits for Redis."""
        spec, vector = route.extraction, admission.vector
        assert spec is not None and vector is not None  # volume_routes holds watched routes only
        try:
            monitor = self._monitor(route, spec, len(vector))
        except ValueError:  # settings that do not fit these features: the review says so (extraction.skipped)
            return
        admission.sent = local = monitor.count(client)
        shared = self.volume_routes[route.path]
        if shared is None:
            return
        assert self.volume_sync is not None  # built with the shared counts
        self.volume_sync.keep()  # sending batches on this event loop
        total = shared.count(client)
        if total is not None and total > local:
            admission.sent = total
        if shared.failure is not None:
            admission.reasons.append(f"{VOLUME_UNSHARED}: {shared.failure}")

    def review(self, route: RoutePolicy, client: str, admission: Admission, status: int, body: bytes) -> Review:
        """Run the extraction detectors on the answer and harden what leaves."""
        review = _review_of(admission)
        if not (200 <= status < 300):
            return review
        if route.output is None or route.output.scores is None:  # no score to read: the input side judges it
            self._watch(route, client, admission, review, can_block=True)
            return review
        try:
            document, strict = json_codec.loads(body)
        except (ValueError, RecursionError):  # also an integer longer than int() accepts
            review.reasons.append("output.not-json")
            if route.hardening is not None and route.hardening.active:  # unreadable, so it cannot be hardened
                review.status, review.action = 502, "error"
                review.body = json.dumps({"error": NOT_JSON, "guard": "output.not-json"}).encode()
            else:  # the score cannot be read, the query still counts: the input-side signals judge it
                self._watch(route, client, admission, review, can_block=True)
            return review
        if route.extraction and route.extraction.enabled and admission.vector is not None:
            found, raw = route.output.scores.first(document)  # the score is only the detectors' to read
            score = _positive_score(raw, route.output.positive) if found else None
            self._detect(route, route.extraction, client, admission, score, review)
        spec = route.hardening
        penalty = self._penalty(route, client)
        if penalty and "degrade" in penalty.kinds:
            spec = DEGRADED
        if review.status is None and spec is not None and spec.active:
            document = harden(document, route.output, spec, self._rng)
            try:
                review.body = json_codec.dumps(document, strict=strict)
            except ValueError:  # a NaN or an infinity (``1e400``): written back it would not be JSON any more
                review.reasons.append("output.not-json")
                review.status, review.action = 502, "error"
                review.body = json.dumps({"error": NOT_FINITE, "guard": "output.not-json"}).encode()
                return review
            if spec is DEGRADED:
                review.action = "degrade"
        return review

    def observe(self, route: RoutePolicy, client: str, admission: Admission) -> Review:
        """The extraction monitor's view of a query whose answer went out unread (not labelled JSON, so nothing
        could be hardened or replaced): the input-side signals judge it without a score."""
        review = _review_of(admission)
        self._watch(route, client, admission, review, can_block=False)
        return review

    def _watch(self, route: RoutePolicy, client: str, admission: Admission, review: Review, *,
               can_block: bool) -> None:
        """Detection for an answer whose score cannot be read. A degrade cannot change an answer that is not
        JSON, nor can a block one that already went out: they take effect from the client's next request
        (refused at admission; a later JSON answer degraded), so this request is on record as an alert, not as
        an action that did not happen."""
        spec = route.extraction
        if spec is None or not spec.enabled or admission.vector is None:
            return
        self._detect(route, spec, client, admission, None, review)
        if review.action == "degrade" or (review.action == "block" and not can_block):
            review.action = "alert"
            review.status = review.body = None

    def _detect(self, route: RoutePolicy, spec: ExtractionSpec, client: str, admission: Admission,
                score: float | None, review: Review) -> None:
        import numpy as np  # here, not at the top: a guard without extraction detection never loads NumPy

        vector = admission.vector
        assert vector is not None  # callers watch only queries with a feature vector
        try:
            monitor = self._monitor(route, spec, len(vector))  # refuses settings that do not fit the features
            verdict = monitor.observe(client, np.asarray(vector, dtype=np.float64), score, sent=admission.sent)
        except ValueError as exc:  # e.g. a different number of features than the monitor was built for
            review.reasons.append(f"extraction.skipped: {exc}")
            return
        review.scores.update(verdict.scores)
        if not verdict.fired:
            return
        review.reasons.append("extraction:" + ",".join(verdict.fired))
        now = time.monotonic()
        actions = spec.actions
        key = (route.path, client)
        penalty = self._penalties.get(key)
        kinds: set[str] = {a for a in actions if a != "alert"}
        # fresh: no penalty yet, or one (perhaps from another replica) lacking what this route's policy gives
        fresh = penalty is None or penalty.until < now or not kinds <= penalty.kinds
        if fresh:
            if penalty is not None and penalty.until >= now:
                kinds |= penalty.kinds
            self._keep_penalty(key, _Penalty(kinds, now + spec.penalty_seconds))
            if kinds and self.shared_penalties is not None:
                self.shared_penalties.announce(route.path, client, frozenset(kinds), time.time() + spec.penalty_seconds)
        if "alert" in actions or fresh:
            self._alert(route, client, ",".join(verdict.fired), "+".join(actions), verdict.reason, verdict.scores)
        if "block" in actions:
            review.status, review.action = 403, "block"
            review.body = json.dumps({"error": "this client is blocked after suspected model extraction",
                                      "guard": "extraction.blocked"}).encode()
        elif "degrade" in actions:
            review.action = "degrade"
        elif "throttle" in actions:
            review.action = "throttle"
        else:
            review.action = "alert"

    def _monitor(self, route: RoutePolicy, spec: ExtractionSpec, n_features: int) -> ExtractionMonitor:
        from clearsight.guard.extraction import ExtractionMonitor

        monitor = self._monitors.get(route.path)
        if monitor is None:
            monitor = ExtractionMonitor(self._settings[route.path], n_features)
            self._monitors[route.path] = monitor
        return monitor

    def _keep_penalty(self, key: tuple[str, str], penalty: _Penalty) -> None:
        self._penalties[key] = penalty
        self._penalties.move_to_end(key)
        while len(self._penalties) > MAX_PENALISED_CLIENTS:
            self._penalties.popitem(last=False)

    def _penalise(self, route: str, client: str, kinds: frozenset[str], until: float) -> None:
        """Apply a penalty another replica gave (``until``: epoch seconds), joined with any this one holds: only
        the kinds this replica's policy gives on that route (replicas mid-way through a policy change may differ)."""
        spec = next((r.extraction for r in self.policy.routes if r.path == route), None)
        if spec is None or not spec.enabled:  # a route this replica does not watch (another policy)
            return
        kinds &= frozenset(spec.actions) - {"alert"}
        if not kinds:
            return
        now = time.monotonic()
        ends = now + min(until - time.time(), spec.penalty_seconds)  # never longer than this policy's own
        held = self._penalties.get((route, client))
        if held is not None and held.until >= now:
            kinds, ends = kinds | held.kinds, max(ends, held.until)
        self._keep_penalty((route, client), _Penalty(set(kinds), ends))

    def _penalty(self, route: RoutePolicy, client: str) -> _Penalty | None:
        if not self._penalties:  # the usual case: nobody is penalised, so no key to build
            return None
        penalty = self._penalties.get((route.path, client))
        if penalty is None:
            return None
        if penalty.until < time.monotonic():
            del self._penalties[(route.path, client)]
            return None
        return penalty

    def _alert(self, route: RoutePolicy, client: str, signal: str, action: str, message: str,
               scores: Mapping[str, float]) -> None:
        alert = Alert(time=dt.datetime.now(dt.UTC), client=client, route=route.path, signal=signal,
                      action=action, message=message or f"{signal} fired", scores=dict(scores))
        if self.alerts.send(alert) and self.metrics:
            self.metrics.alert(signal)

    # ------------------------------------------------------------------ bookkeeping
    async def record(self, *, request_id: str, client: str, route: RoutePolicy, method: str, status: int,
                     action: str, reasons: list[str], fingerprint_: str | None, scores: Mapping[str, float],
                     latency_s: float, upstream_s: float | None) -> None:
        if self.metrics is not None:
            self.metrics.observe_request(route.path, method, status, action, latency_s, upstream_s)
            if scores:
                self.metrics.observe_scores(route.path, scores)
        if self.audit is not None:
            record = AuditRecord.of_guard(dt.datetime.now(dt.UTC), request_id, client, route.path, method, status,
                                          action, reasons, fingerprint_, scores, latency_s * 1000.0)
            if not self.audit.offer(record):  # full: wait for room without blocking the loop
                await self.audit.asubmit(record)


def _review_of(admission: Admission) -> Review:
    """A review starting from what admission found (copies: the review adds to its own lists)."""
    if not admission.reasons and not admission.scores:  # the usual case: nothing to copy
        return Review(None, None, admission.action, [], {})
    return Review(None, None, admission.action, list(admission.reasons), dict(admission.scores))


def runtime_parts(policy: GuardPolicy, screeners: Mapping[str, Screener] | None = None
                  ) -> tuple[dict[str, Screener], dict[str, ExtractionSettings]]:
    """The screeners and detector settings a policy needs, built without side effects (no files, no
    connections), so ``clearsight guard check`` finds every mistake that would stop the guard starting."""
    named = {route.screening.screener for route in policy.routes if route.screening}
    resolved = resolve_screeners(named, dict(screeners or {}))
    for route in policy.routes:
        if route.screening and route.screening.screener not in resolved:
            known = ", ".join(sorted(resolved.keys() | BUILTIN_SCREENERS.keys()))
            raise InputError(f"route {route.path}: screener '{route.screening.screener}' is not registered "
                             f"({known})", hint="pass screeners={name: function} to ModelGuard")
    if policy.audit.enabled:
        try:
            check_target(policy.audit.target)
        except InputError as exc:
            raise InputError(exc.message, field="audit.target", hint=exc.hint) from None
    settings: dict[str, ExtractionSettings] = {}
    for route in policy.routes:  # bad detector tuning is a start-up error, not a first-request error
        if route.extraction is not None and route.extraction.enabled:
            settings[route.path] = extraction_settings(route)
    return resolved, settings


def extraction_settings(route: RoutePolicy) -> ExtractionSettings:
    """The detector settings a route's policy asks for; unknown tuning names are policy errors."""
    from clearsight.guard.extraction import ExtractionSettings

    spec = route.extraction
    assert spec is not None
    names = route.input.feature_names if route.input else None
    values: dict[str, Any] = {}
    for name in ("prada_threshold", "min_queries", "window", "max_clients"):
        value = getattr(spec, name)
        if value is not None:
            values[name] = value
    if spec.signals is not None:
        values["signals"] = tuple(spec.signals)
    if spec.scale is not None:
        values["scale"] = tuple(spec.scale)
    if route.output is not None:
        values["decision_threshold"] = route.output.threshold
    if spec.categorical:
        values["categorical"] = tuple(names.index(c) if isinstance(c, str) and names else int(c)
                                      for c in spec.categorical)
    if spec.clock is not None:
        values["clock_feature"] = names.index(spec.clock) if isinstance(spec.clock, str) and names else int(spec.clock)
    if spec.reference is not None:
        values["reference"] = read_reference(Path(spec.reference), names)
    if spec.volume is not None:
        import limits

        volume = limits.parse(spec.volume)
        values["volume_limit"], values["volume_period"] = volume.amount, float(volume.get_expiry())
    structural = sorted(set(spec.tuning) & {"clock_feature", "volume_limit", "volume_period", "categorical",
                                            "reference", "scale", "center", "signals"})
    if structural:  # these have their own policy keys, which are checked against the route's features
        raise InputError(f"extraction.tuning cannot set {', '.join(structural)}", field="extraction.tuning",
                         hint="use the extraction keys clock, volume, categorical, reference, scale and signals")
    values.update(spec.tuning)
    problem = signal_problem(spec)  # parse_policy says it with the line; a policy built in code gets it here
    if problem:
        raise InputError(problem[0], field=f"extraction.{problem[1]}", hint=problem[2])
    try:
        return ExtractionSettings(**values)
    except TypeError as exc:
        raise InputError(f"extraction settings not understood: {exc}", field="extraction.tuning") from exc
    except ValueError as exc:
        raise InputError(f"extraction settings rejected: {exc}", field="extraction") from exc


def read_reference(path: Path, names: list[str] | None, max_rows: int = MAX_REFERENCE_ROWS
                   ) -> tuple[tuple[float, ...], ...]:
    """Natural queries from a CSV with a header: the feature columns in order (all columns without names)."""
    shown = str(path)
    rows: list[tuple[float, ...]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError("the reference CSV is empty", path=shown)
            if names is not None:
                missing = [n for n in names if n not in header]
                if missing:
                    raise InputError(f"the reference CSV lacks columns {missing[:5]}", path=shown)
                columns = [header.index(n) for n in names]
            else:
                columns = list(range(len(header)))
            for line, row in enumerate(reader, start=2):
                if len(rows) >= max_rows:
                    break
                try:
                    rows.append(tuple(float(row[c]) for c in columns))
                except (ValueError, IndexError) as exc:
                    raise InputError(f"not a number row ({exc})", path=shown, line=line) from exc
    except csv.Error as exc:  # e.g. a field beyond the csv module's size limit, a NUL byte
        raise InputError(f"not a readable CSV ({exc})", path=shown) from exc
    except OSError as exc:
        raise InputError(f"cannot read the reference CSV ({exc.strerror or exc})", path=shown) from exc
    except UnicodeDecodeError as exc:
        raise InputError("the reference CSV is not UTF-8 text", path=shown) from exc
    return tuple(rows)


def _positive_score(value: Any, positive: str | None) -> float | None:
    """The positive class's probability: a scalar, a list's last item, or the ``positive`` key of an object.

    An object of scores without a named positive key gives None (the detectors then skip the answer-based
    signals) rather than a guess such as the largest score, which would be the top class, not the positive one.
    """
    if isinstance(value, list) and value:
        value = value[-1]
    elif isinstance(value, dict):
        value = value.get(positive) if positive is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits is no probability; the monitor would refuse it
        return None

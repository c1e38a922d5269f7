"""Penalties (block, throttle, degrade) announced to every guard replica through the limiter's Redis.

A penalty lives in the process whose detector fired. Behind a load balancer without sticky routing the client's
next query lands on another replica, whose monitor has seen only its share of the client's queries and must
catch it again from there (PRADA needs 100 distances of its own), while the client keeps copying the model.
So a replica that penalises a client publishes it on a Redis channel, and every replica listening applies it
locally from the moment the message arrives: the request path pays nothing (no look-up per request), and a
replica that starts, or listens again after losing Redis, first reads the penalties still running from a sorted
set beside the channel (scored by their end), so a replica added by an autoscaler knows who is blocked. The
message carries when the penalty ends on the wall clock, so replicas agree on its end. A penalty given while
Redis was out of reach is announced again once the listener hears Redis (and while it is still running).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable

from limits.aio.storage import RedisStorage

logger = logging.getLogger("clearsight.guard")

RECONNECT_SECONDS = (0.0, 0.5, 1.0, 2.0, 5.0)  # waits before listening again, the last one repeated
IDLE_PING_SECONDS = 10.0  # a quiet channel is pinged this often: a connection dropped silently (NAT, a load
PONG_SECONDS = 5.0  # balancer's idle timeout) answers nothing, and the replica would be deaf without knowing
DRAIN_SECONDS = 1.0  # at shutdown, how long announcements on their way may still take
MAX_MESSAGE_BYTES = 4_096
MAX_REPLAYED = 100_000  # penalties still running read back when a replica starts listening
MAX_UNSENT = 10_000  # penalties Redis did not take, kept to announce again (oldest dropped first)
KINDS = frozenset({"block", "throttle", "degrade"})

# route, client, the penalty's kinds, and its end in epoch seconds
Apply = Callable[[str, str, frozenset[str], float], None]


class SharedPenalties:
    """Publishes this replica's penalties and applies the others' as they arrive."""

    def __init__(self, storage: RedisStorage, apply: Apply) -> None:
        self._storage = storage
        self._apply = apply
        # Redis channels ignore the database number: it is in the name, so deployments on other databases of
        # the same server do not penalise each other's clients
        pool = getattr(storage.bridge.get_connection(), "connection_pool", None)  # type: ignore[attr-defined]
        number = pool.connection_kwargs.get("db", 0) if pool is not None else 0
        self.channel = storage.bridge.prefixed_key(f"{number}:penalties")
        self.running = storage.bridge.prefixed_key("penalties")  # a key: in its database already
        self._origin = uuid.uuid4().hex  # this replica's own messages are not applied twice
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._unsent: dict[tuple[str, str], tuple[str, float]] = {}  # (route, client) -> message, its end
        self._unsent_said = 0.0  # when a failure to announce may next be logged
        self.ready = asyncio.Event()  # set while subscribed (tests and start-up wait on it)

    def keep(self) -> None:
        """Listen on the running event loop: start the listener, or start it again when the loop it ran on has
        gone (a test client, a server restarted in the same process). Called on every admission: cheap."""
        task = self._listener
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return
        self.ready = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="clearsight-penalties")
        self._listener.add_done_callback(self._ended)

    async def aclose(self) -> None:
        """Let announcements on their way finish (up to ``DRAIN_SECONDS``), then stop listening."""
        sending = [task for task in self._sending if task.get_loop() is asyncio.get_running_loop()]
        if sending:
            _, late = await asyncio.wait(sending, timeout=DRAIN_SECONDS)
            if late:
                logger.warning("%d penalt%s not announced to other replicas before shutdown", len(late),
                               "y" if len(late) == 1 else "ies")
        if self._unsent:
            logger.warning("%d penalt%s Redis missed not announced to other replicas before shutdown",
                           len(self._unsent), "y" if len(self._unsent) == 1 else "ies")
        tasks = [t for t in [*self._sending, self._listener] if t is not None and not t.done()
                 and t.get_loop() is asyncio.get_running_loop()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # a cancellation of aclose itself still propagates
        self._listener = None

    def announce(self, route: str, client: str, kinds: frozenset[str], until: float) -> None:
        """Publish a penalty ending at ``until`` (epoch seconds) without holding up the request that found it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the event loop (a script calling Guard.review): nobody to tell
            return
        message = json.dumps({"origin": self._origin, "route": route, "client": client, "kinds": sorted(kinds),
                              "until": until})
        task = loop.create_task(self._publish((route, client), message, until))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, key: tuple[str, str], message: str, until: float) -> None:
        try:
            await self._send({message: until})
        except Exception as exc:  # the penalty holds here; the others learn of it when Redis answers again
            self._unsent.pop(key, None)  # the newest announcement of a client's penalty is the one to keep
            if len(self._unsent) >= MAX_UNSENT:
                del self._unsent[next(iter(self._unsent))]
            self._unsent[key] = (message, until)
            now = time.monotonic()
            if now >= self._unsent_said:  # once a minute: every caught client would say it while Redis is down
                self._unsent_said = now + 60.0
                logger.warning("penalty not announced to other replicas yet (%s: %s); announced again once "
                               "Redis answers", type(exc).__name__, exc)
        else:
            held = self._unsent.get(key)
            if held is not None and held[1] <= until:  # this announcement covers an older one Redis missed
                del self._unsent[key]

    async def _send(self, messages: dict[str, float]) -> None:
        """Publish ``messages`` (each with its end) and keep them in the set of penalties still running."""
        pipeline = self._storage.bridge.get_connection().pipeline(transaction=False)  # type: ignore[attr-defined]
        pipeline.zadd(self.running, messages)
        pipeline.zremrangebyscore(self.running, "-inf", time.time())  # those that ended leave the set
        for message in messages:
            pipeline.publish(self.channel, message)
        await pipeline.execute()

    async def _resend(self) -> None:
        """Announce the penalties Redis did not take, those still running; raises if Redis fails again."""
        now = time.time()
        unsent = {key: held for key, held in self._unsent.items() if held[1] > now}
        if unsent:
            await self._send(dict(unsent.values()))
        for key, held in list(self._unsent.items()):
            if held[1] <= now or unsent.get(key) is held:  # ended, or just sent (and not replaced meanwhile)
                del self._unsent[key]

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._storage.bridge.get_connection().pubsub()  # type: ignore[attr-defined]
            try:
                await pubsub.subscribe(self.channel)
                await self._replay()  # after subscribing: what is announced meanwhile arrives on the channel too
                self.ready.set()
                attempt = 0
                while True:
                    if self._unsent:  # Redis answers: what it missed goes now
                        await self._resend()
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=IDLE_PING_SECONDS)
                    if message is None:  # quiet: is anyone still there?
                        await pubsub.ping()
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=PONG_SECONDS)
                        if message is None:
                            raise ConnectionError(f"no answer to a ping in {PONG_SECONDS:g} s")
                    if message.get("type") == "message":
                        self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away, or the connection did: listen again after a pause
                self.ready.clear()
                wait = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                logger.warning("not listening for other replicas' penalties (%s: %s); again in %g s",
                               type(exc).__name__, exc, wait)
                await asyncio.sleep(wait)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _replay(self) -> None:
        """Apply the penalties other replicas gave that are still running (an announcement arriving twice, here
        and on the channel, is applied twice to the same effect)."""
        connection = self._storage.bridge.get_connection()  # type: ignore[attr-defined]
        now = time.time()
        await connection.zremrangebyscore(self.running, "-inf", now)
        for message in await connection.zrangebyscore(self.running, now, "+inf", start=0, num=MAX_REPLAYED):
            self._received(message)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("stopped listening for other replicas' penalties: %r", task.exception())

    def _received(self, data: object) -> None:
        """Apply another replica's penalty. Anything else is ignored, whatever it holds: the listener must not
        stop for one message (the channel is trusted as far as the limits are, not blindly)."""
        try:
            penalty = _parsed(data)
        except Exception:  # e.g. RecursionError on deep nesting, OverflowError on a huge number
            penalty = None
        if penalty is None:
            logger.warning("ignored a malformed penalty message on %s", self.channel)
            return
        origin, route, client, kinds, until = penalty
        if origin != self._origin and until > time.time():
            self._apply(route, client, kinds, until)


def _parsed(data: object) -> tuple[str, str, str, frozenset[str], float] | None:
    if not isinstance(data, bytes | str) or len(data) > MAX_MESSAGE_BYTES:
        return None
    message = json.loads(data)
    if not isinstance(message, dict):
        return None
    origin, route, client, kinds, until = (message.get(k) for k in ("origin", "route", "client", "kinds", "until"))
    if not (isinstance(origin, str) and isinstance(route, str) and isinstance(client, str)):
        return None
    if not isinstance(kinds, list) or not kinds:
        return None
    if not all(isinstance(k, str) and k in KINDS for k in kinds):
        return None
    if isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until):
        return None
    return origin, route, client, frozenset(kinds), float(until)

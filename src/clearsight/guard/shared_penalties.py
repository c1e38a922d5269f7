"""Penalties (block, throttle, degrade) announced to every guard replica through the limiter's Redis.

A penalty lives in the process whose detector fired. Behind a load balancer without sticky routing the client's
next query lands on another replica, whose monitor has seen only its share of the client's queries and must
catch it again from there (PRADA needs 100 distances of its own), while the client keeps copying the model.
So a replica that penalises a client publishes it on a Redis channel, and every replica listening applies it
locally from the moment the message arrives: the request path pays nothing (no look-up per request), and a
replica that was not listening (starting, or cut off from Redis) simply does not know, as before. The message
carries when the penalty ends on the wall clock, so replicas agree on its end.
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

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)  # waits between attempts to listen again, the last one repeated
MAX_MESSAGE_BYTES = 4_096

# route, client, the penalty's kinds, and its end in epoch seconds
Apply = Callable[[str, str, frozenset[str], float], None]


class SharedPenalties:
    """Publishes this replica's penalties and applies the others' as they arrive."""

    def __init__(self, storage: RedisStorage, apply: Apply) -> None:
        self._storage = storage
        self._apply = apply
        self._channel = storage.bridge.prefixed_key("penalties")
        self._origin = uuid.uuid4().hex  # this replica's own messages are not applied twice
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()  # set once subscribed (tests and start-up wait on it)

    def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="clearsight-penalties")

    async def aclose(self) -> None:
        for task in [*self._sending, *([self._listener] if self._listener else [])]:
            task.cancel()
        for task in [*self._sending, *([self._listener] if self._listener else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._listener = None

    def announce(self, route: str, client: str, kinds: frozenset[str], until: float) -> None:
        """Publish a penalty ending at ``until`` (epoch seconds) without holding up the request that found it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the event loop (a script calling Guard.review): nobody to tell
            return
        message = json.dumps({"origin": self._origin, "route": route, "client": client, "kinds": sorted(kinds),
                              "until": until})
        task = loop.create_task(self._publish(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self._storage.bridge.get_connection().publish(self._channel, message)  # type: ignore[attr-defined]
        except Exception as exc:  # the penalty still holds here; the others do not learn of it
            logger.warning("penalty not announced to other replicas (%s: %s)", type(exc).__name__, exc)

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._storage.bridge.get_connection().pubsub()  # type: ignore[attr-defined]
            try:
                await pubsub.subscribe(self._channel)
                self.ready.set()
                attempt = 0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                    if message is not None and message.get("type") == "message":
                        self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: listen again after a pause
                self.ready.clear()
                wait = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                logger.warning("not listening for other replicas' penalties (%s: %s); again in %g s",
                               type(exc).__name__, exc, wait)
                await asyncio.sleep(wait)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _received(self, data: object) -> None:
        """Apply another replica's penalty; anything malformed is ignored (the channel is not trusted blindly)."""
        if not isinstance(data, bytes | str) or len(data) > MAX_MESSAGE_BYTES:
            return
        try:
            message = json.loads(data)
            origin, route, client = message["origin"], message["route"], message["client"]
            kinds, until = frozenset(message["kinds"]), float(message["until"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed penalty message on %s", self._channel)
            return
        if origin == self._origin or not all(isinstance(v, str) for v in (route, client, *kinds)):
            return
        if not kinds <= {"block", "throttle", "degrade"} or not math.isfinite(until) or until <= time.time():
            return
        self._apply(route, client, kinds, until)

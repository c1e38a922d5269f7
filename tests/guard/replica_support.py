"""A guard with a stated volume of 3 an hour, as replicas on one Redis run it, and one answered query through it
as the middleware takes it (admission, count, review), for the tests of what replicas share."""

from __future__ import annotations

import os

from clearsight.guard.engine import Guard, Review
from clearsight.guard.policy import parse_policy

REDIS_URL = os.environ.get("CLEARSIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POLICY = """\
storage: {storage}
audit: {{enabled: false}}
alerts: {{log: false}}
routes:
  - path: /v1/score
    input: {{paths: $.features}}
    output: {{scores: $.p}}
    extraction: {{actions: {actions}, volume: 3/hour, signals: [volume], penalty_seconds: 600}}
"""


def replica(prefix: str, *, storage: str = REDIS_URL, actions: str = "[alert]") -> Guard:
    return Guard(parse_policy(POLICY.format(storage=storage, actions=actions)), key_prefix=prefix)


async def answer(guard: Guard, client: str, i: int = 0) -> Review:
    """Query ``i`` (a vector of its own) answered 200."""
    route = guard.policy.routes[0]
    await guard.admit_client(route, client)
    admission = guard.inspect(route, b'{"features": [1.0, 2.0, %d]}' % i)
    if route.path in guard.volume_routes:
        guard.count_answer(route, client, admission)
    return guard.review(route, client, admission, 200, b"{}")


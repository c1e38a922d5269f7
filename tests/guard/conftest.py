"""Fixtures of the guard's tests that use the Redis the machine runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from replica_support import REDIS_URL


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    name = f"cs-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)
    client.close()

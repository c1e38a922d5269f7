"""Client identity: a pseudonym per API key (never the key itself), else the peer's address.

Limits, detector state and audit records all key on this string, so it must be stable per client and must
not leak a secret into logs, metrics or Redis keys.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

from clearsight.guard.policy import ClientIdentity


def client_id(headers: Mapping[str, str], peer: str | None, spec: ClientIdentity) -> str | None:
    """The client's pseudonym, or None when the policy demands a key and there is none."""
    if spec.api_key_header:
        key = headers.get(spec.api_key_header.lower())
        if key:
            return _pseudonym(key)
        if spec.require_api_key:
            return None
    if spec.trust_forwarded_for:
        forwarded = headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return "ip:" + forwarded[:64]
    return "ip:" + (peer or "unknown")


@functools.lru_cache(maxsize=4_096)
def _pseudonym(key: str) -> str:
    """Kept for the clients seen last: a client sends its key with every request, and hashing it each time cost
    as much as counting its rate limits. The keys held here are ones the process is handed anyway."""
    return "key:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]

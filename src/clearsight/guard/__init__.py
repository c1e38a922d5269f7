"""Runtime guard for model APIs: rate limits, extraction detection, output hardening, audit, alerts.

``from clearsight.guard import ModelGuard`` loads the runtime (the ``guard`` extra); importing the policy
module alone stays light, because ``clearsight assess`` reads guard policies as evidence on a core install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clearsight.guard.middleware import ModelGuard
    from clearsight.guard.proxy import build_proxy

__all__ = ["ModelGuard", "build_proxy"]


def __getattr__(name: str) -> Any:
    if name == "ModelGuard":
        from clearsight.guard.middleware import ModelGuard

        return ModelGuard
    if name == "build_proxy":
        from clearsight.guard.proxy import build_proxy

        return build_proxy
    raise AttributeError(name)

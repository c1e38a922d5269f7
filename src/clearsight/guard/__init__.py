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
    if name not in __all__:
        raise AttributeError(name)
    try:
        if name == "ModelGuard":
            from clearsight.guard.middleware import ModelGuard

            return ModelGuard
        from clearsight.guard.proxy import build_proxy

        return build_proxy
    except ImportError as exc:  # a core install: say what to install instead of a bare module name
        raise ImportError(f"clearsight.guard.{name} needs the guard's runtime ({exc.name} is missing): "
                          "pip install 'clearsight[guard]'", name=exc.name) from exc

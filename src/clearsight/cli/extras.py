"""Optional extras: a command that needs one says which to install instead of failing on an import."""

from __future__ import annotations

import importlib.util

from clearsight.core.errors import InputError


def require(modules: tuple[str, ...], *, what: str, extra: str) -> None:
    """Raise :class:`InputError` naming the first missing module and the ``pip install`` that brings it."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise InputError(f"{what} is not installed ({name} is missing)",
                             hint=f"install it with: pip install 'clearsight[{extra}]'")

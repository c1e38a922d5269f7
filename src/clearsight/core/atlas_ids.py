"""ATLAS ID arithmetic shared by every step: a technique counts as covered by its own ID or its parent's."""

from __future__ import annotations

from collections.abc import Collection


def parent_of(technique: str) -> str | None:
    """``AML.T0024`` for ``AML.T0024.002``; None for a top-level technique."""
    return technique.rsplit(".", 1)[0] if technique.count(".") == 2 else None


def covers(techniques: Collection[str], technique: str) -> bool:
    """Whether a set of technique IDs covers ``technique`` directly or through its parent."""
    if technique in techniques:
        return True
    parent = parent_of(technique)
    return parent is not None and parent in techniques

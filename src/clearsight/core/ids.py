"""Stable identifiers: the same input gives the same ID in every run, so assessments can be diffed."""

from __future__ import annotations

import re

_SLUG = re.compile(r"[^a-z0-9]+")

SYSTEM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


def slugify(text: str) -> str:
    """Lower-case, hyphen-separated form of ``text`` for use inside IDs."""
    return _SLUG.sub("-", text.lower()).strip("-") or "x"


def scenario_id(system_id: str, template_id: str) -> str:
    return f"SCN:{system_id}:{template_id}"


def threat_id(system_id: str, technique_id: str) -> str:
    return f"THR:{system_id}:{technique_id}"


def gap_id(system_id: str, control_id: str) -> str:
    return f"GAP:{system_id}:{control_id}"


def action_id(key: str) -> str:
    """``ACT:<control>:<severity band>`` (plus ``:<n>`` for later batches of a large band)."""
    return f"ACT:{key}"

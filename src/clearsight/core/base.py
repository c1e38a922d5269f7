"""The base of every domain value, and where things sit in files.

Kept apart from the system models so that code needing only these (the model scanner, every finding) does not
build the inventory's models at start-up: their schemas were the biggest part of Clearsight's own import time.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for every domain value: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceLocation(Frozen):
    """Where a declaration or observation sits, so reports and SARIF can point at it."""

    path: str
    line: int | None = None
    column: int | None = None

"""One documented exception tree; only the CLI turns these into exit codes.

Each error carries a one-line ``diagnostic`` a person can act on, so the CLI never has to print a traceback
for bad input.
"""

from __future__ import annotations


class ClearsightError(Exception):
    """Base of every error Clearsight raises on purpose."""

    def diagnostic(self) -> str:
        return str(self)


class InputError(ClearsightError):
    """The user gave us something we cannot use (missing path, invalid file, unknown value)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint

    def diagnostic(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{field}{self.message}{hint}"


class CatalogueError(ClearsightError):
    """A framework catalogue (built-in or user-supplied) is malformed or inconsistent."""

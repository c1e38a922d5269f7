"""Text from scanned files as a terminal table may show it.

File names, folder names and server names come from the files a user scanned, not from us. Handed to rich as
strings they are read as markup (a file ``model[v2].pkl`` showed as ``model.pkl``; an MCP server named ``[/]``
crashed the table with a ``MarkupError``) and control characters in them reach the terminal (a name holding
escape sequences could clear the screen or retitle the window). A cell is therefore a :class:`rich.text.Text`,
which rich never parses, with every character that does not print shown as an escape.
"""

from __future__ import annotations

from rich.text import Text

SNIPPET = 70  # characters of a scanned text a table row shows


def inert(value: str) -> Text:
    return Text(value if value.isprintable() else snippet(value, limit=None))


def snippet(text: str, limit: int | None = SNIPPET) -> str:
    """One printable line: control and invisible characters shown as escapes, so a table cannot be spoofed."""
    flat = " ".join(text.split())
    cut = flat if limit is None else flat[:limit]
    shown = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in cut)
    return shown + ("…" if limit is not None and len(flat) > limit else "")

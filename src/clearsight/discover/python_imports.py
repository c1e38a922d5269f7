"""The import statements of a Python source, read from its text without parsing the whole module.

Why: most Python files discovery has to look at matter only for what they import (scikit-learn's own modules
import scikit-learn, a service imports its SDKs), and building the syntax tree of a whole module to find a
handful of statements was most of discovery's cost. One regular expression steps over comments and string
literals, where the words ``import`` and ``from`` mean nothing; at each keyword left over, the statement's own
text is cut out and parsed alone, so every node is the one ``ast.parse`` gives for the whole file. A test
compares the two on thousands of real modules and on hypothesis-made sources.

It also reads what ``ast.parse`` refuses (Python 2 code, a template with a placeholder, a notebook cell that is
not all Python): the statements that do parse are real imports even when the module around them is not.
"""

from __future__ import annotations

import ast
import re

# Comments and the four kinds of string literal, then the two keywords. A string prefix (r, b, f, u) never
# changes where a literal ends: a backslash escapes the next character, newline included, in every kind. A
# literal left open (in a file that does not parse) runs to the end of its line, or of the file for a triple
# quote, so no scan starts again inside text an earlier one covered. Possessive quantifiers never give back.
_COMMENT_OR_STRING = (
    r"#[^\n]*+"
    r"|'''[^'\\]*+(?:(?:\\.|'(?!''))[^'\\]*+)*+(?:''')?"
    r'|"""[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+(?:""")?'
    r"|'[^'\\\n]*+(?:\\.[^'\\\n]*+)*+'?"
    r'|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"?'
)
# Everything up to the next keyword outside comments and strings, in one match: an "f" or "i" that is inside a
# word or starts no keyword is passed over like any other character, so the loop below runs once per keyword,
# not once per comment and string (test modules hold thousands).
_TO_KEYWORD = re.compile(rf"(?:[^#'\"fi]++|{_COMMENT_OR_STRING}|\B[fi]|f(?!rom\b)|i(?!mport\b))*+", re.DOTALL)
# One statement from its keyword: up to a newline, ``;`` or a comment, with backslash continuations; a
# parenthesised name list may span lines and hold comments. ``from.a import b`` needs no space. Every part
# takes only the characters an import can hold, so a scan stops at the first one it cannot (the next
# parenthesis at the latest).
_GAP = r"(?:[ \t\f]|\\\n)"
_REST = r"(?:[^\n;#\\]++|\\\n)*+"
_NAMES = r"\((?:[\w \t\f\n,\\]++|#[^\n]*+)*+\)"
_STATEMENT = re.compile(
    rf"import{_GAP}+{_REST}"
    rf"|from(?:{_GAP}|\.)*(?:\w+(?:{_GAP}*\.{_GAP}*\w+)*{_GAP}*)?\bimport\b{_GAP}*(?:{_NAMES}|{_REST})"
)
# What a ``from`` that starts no import statement (``raise E from exc``, ``yield from g``) runs on to: skipped
# whole, since no statement starts inside it, so a line of ``from.from.from`` is not scanned once per word.
_FROM_RUN = re.compile(r"from(?:[\w. \t\f]++|\\\n)*+")
_CONTINUED = re.compile(r"(?:\\\n)+$")
# In a valid module every character outside strings and comments that is not ASCII belongs to an identifier
# (keywords and operators are ASCII), so lexing a copy that reads each of them as "x" finds the same
# statements; regular expressions do not know Python's identifier characters (combining marks, U+00B7).
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def ascii_stand_in(text: str) -> str:
    """``text`` with every character that is not ASCII read as "x" (a byte-order mark as a space): the same
    statements, words and boundaries for patterns that know only ASCII identifiers."""
    return text if text.isascii() else _NOT_ASCII.sub("x", text.replace("\ufeff", " "))

Import = ast.Import | ast.ImportFrom


def import_statements(source: str) -> list[Import]:
    """Every import statement of ``source`` in source order, with the line numbers of the whole file."""
    text = source.replace("\r\n", "\n").replace("\r", "\n") if "\r" in source else source
    lexed = ascii_stand_in(text)
    cut: list[tuple[str, int]] = []  # each statement's text and its first line in the file
    line, counted = 1, 0
    end = len(lexed)
    at = _next_keyword(lexed, 0)
    while at < end:
        start = at  # "import" or "from", at a word's start, outside comments and strings
        statement = _STATEMENT.match(lexed, start)
        if statement is None:
            run = _FROM_RUN.match(lexed, start)
            at = run.end() if run is not None else start + len("import")
            at = _next_keyword(lexed, at)
            continue
        at = _next_keyword(lexed, statement.end())  # what did not parse is not read again
        line += text.count("\n", counted, start)
        counted = start
        # a continuation before a blank line, a comment or ";" ends the statement; alone it would not parse
        cut.append((_CONTINUED.sub("", text[start:statement.end()]), line))
    return _parsed(cut)


def _next_keyword(lexed: str, at: int) -> int:
    """Where the next ``import`` or ``from`` outside comments and strings starts (the end of the text if none)."""
    skipped = _TO_KEYWORD.match(lexed, at)
    return skipped.end() if skipped is not None else len(lexed)  # the pattern also matches nothing


def _parsed(cut: list[tuple[str, int]]) -> list[Import]:
    """The statements that parse, each as alone, placed at its line: all in one parse when they can be (one
    call per statement cost more than the statements themselves), else one by one. A ``__future__`` import
    is parsed alone, since in one module with the others it would not come first."""
    nodes: list[Import | None] = [None] * len(cut)
    batch = [at for at, (written, _) in enumerate(cut) if "__future__" not in written]
    if len(batch) > 1:
        # each statement on its own line of the file, blank lines between: the parser numbers them as the whole
        # module would, where moving every node afterwards (ast.increment_lineno) cost a fifth of the reading.
        # Statements sharing a line (``import a; import b``) are stacked instead and moved.
        pieces: list[str] = []
        row = 1
        for at in batch:
            written, line = cut[at]
            gap = line - row if line >= row else -1
            if gap < 0:
                break
            pieces.append("\n" * gap + written)
            row = line + written.count("\n") + 1
        padded = len(pieces) == len(batch)
        text = "\n".join(pieces) if padded else "\n".join(cut[at][0] for at in batch)
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            body = []
        if len(body) == len(batch):
            placed: list[tuple[int, Import]] = []
            row = 1
            for statement, at in zip(body, batch, strict=True):
                written, line = cut[at]
                if statement.lineno != (line if padded else row) or not isinstance(statement, Import):
                    break
                placed.append((at, statement if padded else ast.increment_lineno(statement, line - row)))
                row += written.count("\n") + 1
            else:
                for at, statement in placed:
                    nodes[at] = statement
    found: list[Import] = []
    for (written, line), node in zip(cut, nodes, strict=True):
        if node is None:
            try:
                body = ast.parse(written).body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            single = body[0] if len(body) == 1 else None
            if not isinstance(single, Import):
                continue
            node = ast.increment_lineno(single, line - 1)
        found.append(node)
    return found

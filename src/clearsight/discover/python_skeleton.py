"""A module's text with the statements that cannot matter replaced by ``pass``, so that less of it is parsed.

Why: a file that loads a pickle or names a model has to be parsed to know the call is code, and parsing whole
big modules (test suites, mostly) was the largest cost left in discovery. The Python detector walks only
statements that hold one of its words on their lines (:class:`~clearsight.discover.detectors.python_code`'s
``_Lines``); a statement without one can be left out of the parse as well. Each such statement (with its
decorators, its ``else``/``except``/``finally`` clauses and its body) becomes one ``pass`` at its own
indentation and blank lines, so every statement that is kept keeps its line and column numbers, and its
syntax tree is the one the whole module gives. Statements with a word are kept; in compound ones, the same
is done to their bodies. A ``match`` statement with a word is kept whole (its body must be ``case`` blocks).

Module-level simple statements that hold "=" are kept whatever their words: the detector reads every
module-level assignment of a string (``MODEL = "gpt-4o"`` is used later as ``model=MODEL``).

The text is cut along Python's logical lines, which takes knowing where strings, comments and brackets are:
one regular expression steps over them, on a copy with every character that is not ASCII read as "x" (the same
strings, comments and brackets; see :func:`~clearsight.discover.python_imports.ascii_stand_in`): the kept lines
are the text's own. Only the easy texts are cut: no carriage return, no tab or
form feed in any statement's indentation, brackets that balance, blocks at most 100 deep (Python's limit)
and, on Python 3.12 and later, f-strings whose replacement fields the pattern sees closed (3.12 lets a field
hold strings in the f-string's own quotes); anything else gives None and the caller parses the whole
module. A cut that does not parse (a module that is not Python) also falls back.
"""

from __future__ import annotations

import re
import sys

from clearsight.discover.python_imports import ascii_stand_in

# Comments, the four kinds of string literal (a prefix never changes where one ends; one left open runs to the
# end of its line, or of the text for a triple quote), brackets, line continuations and newlines.
_TOKENS = (
    r"#[^\n]*+"
    r"|'''[^'\\]*+(?:(?:\\.|'(?!''))[^'\\]*+)*+(?:''')?"
    r'|"""[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+(?:""")?'
    r"|'[^'\\\n]*+(?:\\.[^'\\\n]*+)*+'?"
    r'|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"?'
    r"|[()\[\]{}\n]|\\\n"
)
_TOKEN = re.compile(_TOKENS, re.DOTALL)
# The same tokens, each after the run of characters that cannot start one, skipped in one step: the engine
# otherwise tried every alternative at every character of the text (0.16 -> 0.10 s over the 8 MB of a big tree's
# cut modules). The run takes a backslash that ends no line, as the plain scan passes over one; every character
# it stops at starts a token, and at the end of the text the group is empty: no start is retried, so it stays
# linear.
_PLAIN = r"[^#'\"()\[\]{}\n\\]*+"
_NEXT_TOKEN = re.compile(rf"{_PLAIN}(?:\\(?!\n){_PLAIN})*+(" + _TOKENS + r"|\Z)", re.DOTALL)
# From Python 3.12 (PEP 701) a replacement field of an f-string may hold strings in the same quotes
# (``f"{d["k"]}"``), which the pattern above ends too early; such texts are declined (see _fields_closed).
_NESTED_QUOTES = sys.version_info >= (3, 12)
_F_PREFIX = re.compile(r"(?<!\w)[rR]?[fF][rR]?$")
_MAX_DEPTH = 100  # Python's own limit on indentation levels
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")
_CLAUSE = re.compile(r"(?:else|elif|except|finally)\b")
_MATCH = re.compile(r"match\b")


class _Statement:
    """One logical line that holds code: its first and last physical line (1-based) and indentation."""

    __slots__ = ("first", "indent", "last", "text")

    def __init__(self, first: int, last: int, indent: int, text: str) -> None:
        self.first = first
        self.last = last
        self.indent = indent
        self.text = text  # the first physical line without its indentation


def logical_lines(source: str) -> list[tuple[int, int]] | None:
    """(first, last) physical line of every logical line, blank and comment-only ones included; None when
    brackets do not balance."""
    spans: list[tuple[int, int]] = []
    depth = 0
    line = start = 1
    for token in _NEXT_TOKEN.findall(source):
        if not token:
            continue
        head = token[0]
        if head == "\n":
            if depth == 0:
                spans.append((start, line))
                start = line + 1
            line += 1
        elif head in _OPEN:
            depth += 1
        elif head in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif head == "\\":
            line += 1
        elif head != "#":
            line += token.count("\n")
    if depth or (_NESTED_QUOTES and not _fields_closed(source)):
        return None
    if start <= line:
        spans.append((start, line))
    return spans


def _fields_closed(source: str) -> bool:
    """Whether every f-string the pattern found closes its replacement fields: where one is left open, Python
    3.12 reads on past the quote the pattern stopped at (valid 3.11 code never leaves one open)."""
    for match in _TOKEN.finditer(source):
        token = match.group()
        if token[0] not in "'\"" or not _F_PREFIX.search(source, max(0, match.start() - 3), match.start()):
            continue
        if not _closed(token):
            return False
    return True


def _closed(token: str) -> bool:
    """Whether an f-string's fields all close: outside a field "{{" and "}}" are literal braces, inside one
    every brace counts (a nested field of a format spec: ``{x:>{w}}``). A brace in a string inside a field
    is counted too, which can only decline a text that was fine."""
    depth = at = 0
    while at < len(token):
        char = token[at]
        if char in "{}" and depth == 0 and token.startswith(char, at + 1):
            at += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
        at += 1
    return depth == 0


def statements_of(source: str) -> list[_Statement] | None:
    """The logical lines that hold code, for :func:`skeleton`; None when the text is not one this module cuts.
    Finding them is most of a cut's cost, so a caller cutting one text twice finds them once."""
    if "\r" in source:
        return None
    spans = logical_lines(ascii_stand_in(source))
    if spans is None:
        return None
    physical = source.split("\n")
    statements: list[_Statement] = []
    for first, last in spans:
        line = physical[first - 1]
        code = line.lstrip(" ")
        if not code or code[0] == "#":
            continue
        if code[0] in "\t\f\\":
            return None  # indentation Python measures in its own way, or a continuation with nothing before it
        statements.append(_Statement(first, last, len(line) - len(code), code))
    if statements and statements[0].indent != 0:
        return None
    return statements


def skeleton(source: str, marks: list[int], statements: list[_Statement] | None = None) -> str | None:
    """``source`` with every statement none of whose lines holds a word replaced by ``pass``.

    ``marks[k]`` counts the lines among the first ``k`` (1-based) that hold a word, so a statement on lines
    ``a..b`` holds one when ``marks[b] > marks[a - 1]``. ``statements``: :func:`statements_of` the source, if
    known. None when the text is not one this module cuts.
    """
    if statements is None:
        statements = statements_of(source)
        if statements is None:
            return None
    if not statements:
        return source
    out = source.split("\n")
    end = _block(statements, 0, out, marks, depth=0)
    return "\n".join(out) if end == len(statements) else None


def _block(statements: list[_Statement], at: int, out: list[str], marks: list[int], *, depth: int) -> int:
    """Cut the statements of the block that starts at ``statements[at]`` (``depth`` blocks deep); the index
    after the block (where a statement's indentation is not the block's), or -1 when the lines do not make
    blocks or nest deeper than Python allows."""
    if depth > _MAX_DEPTH:
        return -1
    top = depth == 0
    indent = statements[at].indent
    count = len(statements)
    passed = False  # the statement before this one in the block was cut: this one's lines are only blanked
    while at < count and statements[at].indent == indent:
        start = at
        while statements[at].text[0] == "@":  # decorators belong to the definition that follows
            at += 1
            if at == count or statements[at].indent != indent:
                return -1
        header = statements[at]
        at += 1
        bodies: list[tuple[int, int]] = []
        at = _body(statements, at, indent, bodies)
        while at < count and statements[at].indent == indent and _CLAUSE.match(statements[at].text):
            at = _body(statements, at + 1, indent, bodies)
        first, last = statements[start].first, statements[at - 1].last
        if marks[last] > marks[first - 1]:
            passed = False
            if bodies and _MATCH.match(header.text):
                continue  # a match statement's body must stay case blocks
            for begin, finish in bodies:
                if _block(statements, begin, out, marks, depth=depth + 1) != finish:
                    return -1
            continue
        if top and not bodies and any("=" in out[number - 1] for number in range(first, last + 1)):
            passed = False
            continue  # a module-level assignment the detector reads whatever its words
        out[first - 1] = "" if passed else " " * indent + "pass"
        for number in range(first, last):
            out[number] = ""
        passed = True
    return at


def _body(statements: list[_Statement], at: int, indent: int, bodies: list[tuple[int, int]]) -> int:
    """Record the indented block (if any) that starts at ``at``; the index after it."""
    begin = at
    while at < len(statements) and statements[at].indent > indent:
        at += 1
    if at > begin:
        bodies.append((begin, at))
    return at

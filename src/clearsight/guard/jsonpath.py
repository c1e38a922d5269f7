"""The small JSON path dialect guard policies use to point at model inputs, outputs and prompt text.

Policies only need to name a place in a request or response body, so the dialect is deliberately tiny and
parsed once when the policy loads: ``$``, ``.name``, ``['name']``, ``[index]`` (negative counts from the
end), ``[*]`` (every item of a list or value of an object) and one filter, ``[?(@.key=='value')]`` or
``!=`` (the items whose field equals, or differs from, a string) — so a chat route can screen the users'
messages and not the application's own system prompt. No recursion and no expressions, so evaluating a path
costs a handful of dictionary look-ups on the request path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Filter:
    """``[?(@.key=='value')]``: the children that are objects whose ``key`` equals (or not) ``value``."""

    key: str
    value: str
    equal: bool = True

    def keeps(self, item: Any) -> bool:
        return isinstance(item, dict) and (item.get(self.key) == self.value) == self.equal


Step = str | int | Filter | None  # None means "every child" ([*])

_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)|\[(?P<index>-?\d+)\]|\[\*\]|\.\*|\['(?P<quoted>[^']*)'\]"""
    r"""|\[\?\(@\.(?P<fkey>[A-Za-z_][A-Za-z0-9_\-]*)\s*(?P<op>==|!=)\s*(?:'(?P<fq1>[^']*)'|"(?P<fq2>[^"]*)")\)\]"""
)


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]
    _plain: bool = field(init=False, repr=False, compare=False)
    _name: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every request walks these paths twice or more: the common case skips the general walk's generators,
        # and the commonest ('$.features', '$.score') is one dictionary look-up
        object.__setattr__(self, "_plain", all(type(step) is str or type(step) is int for step in self.steps))
        one = self.steps[0] if len(self.steps) == 1 else None
        object.__setattr__(self, "_name", one if type(one) is str else None)

    def find(self, document: Any) -> list[Any]:
        """Every value the path reaches (empty when it reaches nothing)."""
        return [value for _, _, value in _walk(document, self.steps)]

    def first(self, document: Any) -> tuple[bool, Any]:
        name = self._name
        if name is not None:
            return (True, document[name]) if isinstance(document, dict) and name in document else (False, None)
        if self._plain:  # names and indices only: at most one value, found by direct look-ups
            found = _follow(document, self.steps)
            return (False, None) if found is None else (True, found[2])
        for _, _, value in _walk(document, self.steps):
            return True, value
        return False, None

    def update(self, document: Any, change: Callable[[Any], Any]) -> int:
        """Replace every value the path reaches by ``change(value)`` in place; returns how many changed."""
        if not self.steps:
            raise ValueError("the root '$' itself cannot be replaced")
        name = self._name
        if name is not None:
            if not (isinstance(document, dict) and name in document):
                return 0
            document[name] = change(document[name])
            return 1
        if self._plain:
            found = _follow(document, self.steps)
            if found is None:
                return 0
            found[0][found[1]] = change(found[2])
            return 1
        count = 0
        for parent, key, value in list(_walk(document, self.steps)):
            parent[key] = change(value)
            count += 1
        return count

    def __str__(self) -> str:
        return self.text


def parse_path(text: str) -> JsonPath:
    """Parse ``text``; raises ``ValueError`` with the position of the first thing it does not understand."""
    source = text.strip()
    if not source.startswith("$"):
        raise ValueError(f"a JSON path starts with '$', e.g. '$.features' (got {text!r})")
    steps: list[Step] = []
    position = 1
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ValueError(f"cannot read JSON path {text!r} at character {position + 1}: "
                             "use .name, ['name'], [0], [*] or [?(@.key=='value')]")
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("quoted") is not None:
            steps.append(match.group("quoted"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        elif match.group("fkey") is not None:
            value = match.group("fq1") if match.group("fq1") is not None else match.group("fq2")
            steps.append(Filter(match.group("fkey"), value, match.group("op") == "=="))
        else:
            steps.append(None)
        position = match.end()
    return JsonPath(text=source, steps=tuple(steps))


def _follow(node: Any, steps: tuple[Step, ...]) -> tuple[Any, Any, Any] | None:
    """(parent, key, value) at the end of a path of names and indices, or None; the same as :func:`_walk`."""
    parent: Any = None
    key: Any = None
    for step in steps:
        if isinstance(step, int):
            if not (isinstance(node, list) and -len(node) <= step < len(node)):
                return None
            parent, key, node = node, step % len(node), node[step]
        elif isinstance(node, dict) and step in node:
            parent, key, node = node, step, node[step]
        else:
            return None
    return parent, key, node


def _walk(node: Any, steps: tuple[Step, ...]) -> Iterator[tuple[Any, Any, Any]]:
    """(parent, key, value) for every value reached; the root has parent None."""
    frontier: list[tuple[Any, Any, Any]] = [(None, None, node)]
    for step in steps:
        nxt: list[tuple[Any, Any, Any]] = []
        for _, _, value in frontier:
            if step is None:
                if isinstance(value, list):
                    nxt.extend((value, i, item) for i, item in enumerate(value))
                elif isinstance(value, dict):
                    nxt.extend((value, k, item) for k, item in value.items())
            elif isinstance(step, Filter):
                if isinstance(value, list):
                    nxt.extend((value, i, item) for i, item in enumerate(value) if step.keeps(item))
                elif isinstance(value, dict):
                    nxt.extend((value, k, item) for k, item in value.items() if step.keeps(item))
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    nxt.append((value, step % len(value), value[step]))
            elif isinstance(value, dict) and step in value:
                nxt.append((value, step, value[step]))
        frontier = nxt
        if not frontier:
            return
    yield from frontier

"""Read a YAML document into a pydantic model and explain every problem with file, line, field and a hint.

The document is composed once into a node tree that remembers line numbers and built into plain data from
that tree, so a pydantic error path such as ``systems.0.traits.exposure`` can be pointed at its line.
Duplicate keys are errors, never silently last-one-wins. The inventory and the guard policy share this.

Every YAML the project reads goes through the safe loader and the nesting check here (catalogues, manifests,
configs): they live in this small module so that reading a guard policy does not import the frameworks'
catalogues.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from clearsight.core.errors import InputError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

# pydantic is imported where a model is validated, not here: discovery's workers read YAML with parse_yaml and
# never validate a model, and importing pydantic was a third of what they import before their first file
M = TypeVar("M", bound="BaseModel")
MAX_EXPANDED_VALUES = 200_000  # what any document may grow to through aliases...
EXPANSION_RATIO = 20  # ...and a big one to this many times its written values (an inventory sharing `traits: *std`)

# libyaml's loader is ten times faster; the pure-Python one is the fallback. Both are safe loaders.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_YAML_NESTING = 500
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


class YamlTooDeepError(yaml.YAMLError):
    """Nested deeper than :data:`MAX_YAML_NESTING`: refused before libyaml could crash the interpreter."""


def check_nesting(text: str) -> None:
    """Raise :class:`YamlTooDeepError` for flow collections nested past :data:`MAX_YAML_NESTING` levels.

    libyaml builds nodes by C recursion, so ~100,000 nested ``[`` (100 KB) end the process with a segmentation
    fault that no ``except`` can catch. Only flow brackets nest that cheaply (a block level costs a line of
    growing indentation), so their depth is counted over the raw text; brackets inside quotes count too, which
    can only over-estimate.
    """
    if text.count("[") + text.count("{") <= MAX_YAML_NESTING:
        return
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > MAX_YAML_NESTING:
            raise YamlTooDeepError(f"collections nested deeper than {MAX_YAML_NESTING} levels")


def parse_yaml(text: str, *, refuse_alias_bombs: bool = False) -> Any:
    """Parse YAML with the safe loader (libyaml when present); too deep a document is a ``yaml.YAMLError``, and
    so is one whose aliases expand it past :data:`MAX_EXPANDED_VALUES` when ``refuse_alias_bombs``.

    Aliases share one object, so an alias bomb parses small, but a caller walking the result walks each
    reference: a 42 KB ``environment.yml`` of aliased lists made discovery take 68 s and 2.9 GB. Callers that
    walk everything they get ask for the check (a text with an anchor is then composed first and measured);
    one that never follows an alias it does not need (the MCP detector) reads the rest of such a file.
    """
    check_nesting(text)
    if not refuse_alias_bombs or "&" not in text or "*" not in text:  # no anchor or no alias: nothing expands
        return yaml.load(text, Loader=SAFE_LOADER)
    node = yaml.compose(text, Loader=SAFE_LOADER)
    if node is None:
        return None
    _refuse_alias_bombs(node)
    return yaml.constructor.SafeConstructor().construct_document(node)


def read_text_file(file: Path, *, max_bytes: int, what: str) -> str:
    """The file's UTF-8 text, or an :class:`InputError` saying why not (size checked before reading)."""
    shown = str(file)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise InputError(f"file is {size} bytes; {what} is at most {max_bytes}", path=shown)
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("file is not UTF-8 text", path=shown) from exc
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=shown) from exc


def load_model(text: str, model: type[M], shown: str, *, empty_hint: str, top_level: str) -> tuple[yaml.Node, M]:
    """Parse, reject duplicate keys and validate; every failure is an :class:`InputError` with a line."""
    try:
        node, data = _parse(text, shown)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", path=shown, line=line) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=shown) from exc
    except RecursionError as exc:  # block collections nested thousands deep
        raise InputError("invalid YAML: nested too deeply to read", path=shown) from exc
    if node is None or data is None:
        raise InputError("the file is empty", path=shown, hint=empty_hint)
    if not isinstance(data, dict):
        raise InputError(f"the top level must be a mapping with {top_level}", path=shown, line=1)
    from pydantic import ValidationError

    try:
        return node, model.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, node, shown, model) from exc


def suggest(value: str, known: set[str], command: str) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    return (f"did you mean '{close[0]}'? " if close else "") + f"'{command}' lists them"


# --------------------------------------------------------------------------- node tree helpers

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(SAFE_LOADER):  # type: ignore[misc]
    """The safe loader, remembering each plain scalar's resolved tag.

    Resolving runs PyYAML's regular expressions in Python for every scalar, and a big inventory repeats the
    same few hundred values (trait names, levels, statuses) hundreds of thousands of times. A plain scalar's
    tag depends on its text alone (safe loaders have no path resolvers), so a per-document memo is exact.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        resolved: str = super().resolve(kind, value, implicit)
        return resolved


def _parse(text: str, shown: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (with line marks) and the plain data built from it.

    Building plain strings, lists and dicts ourselves is several times faster than PyYAML's constructor
    on big inventories; every other scalar (numbers, booleans, dates) still goes through the safe one.
    Duplicate keys are caught while building: a mapping that built fewer keys than it has, one with
    non-string keys, or one with merge keys (built by PyYAML) is checked by key text, with all below it.
    """
    check_nesting(text)
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None, None
    _refuse_alias_bombs(node)
    constructor = yaml.constructor.SafeConstructor()
    built: dict[int, Any] = {}  # aliases share one object, so "billion laughs" files stay small

    def build(n: yaml.Node) -> Any:
        if isinstance(n, yaml.ScalarNode):
            if n.tag == _STR_TAG:
                return n.value
            try:
                return constructor.construct_object(n, deep=True)
            except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date such as 2026-02-30
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{n.value}' is not a valid value ({exc})", n.start_mark
                ) from exc
        if id(n) in built:
            return built[id(n)]
        value: Any
        if isinstance(n, yaml.SequenceNode):
            value = [build(item) for item in n.value]
        elif isinstance(n, yaml.MappingNode) and not any(k.tag == _MERGE_TAG for k, _ in n.value):
            value = {}
            plain = True
            for k, v in n.value:
                key = build(k)
                if not isinstance(key, str | int | float | bool | None):
                    raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value",
                                                            k.start_mark)
                plain = plain and isinstance(key, str)
                value[key] = build(v)
            if not plain or len(value) != len(n.value):
                _reject_duplicate_keys(n, shown)
        else:
            value = constructor.construct_object(n, deep=True)
            if isinstance(n, yaml.MappingNode):
                _reject_duplicate_keys(n, shown)
        built[id(n)] = value
        return value

    return node, build(node)


def _refuse_alias_bombs(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past :data:`MAX_EXPANDED_VALUES` (or, for a big document,
    :data:`EXPANSION_RATIO` times its written values), and one whose alias sits inside its own anchor.

    Building shares one object per aliased node, but validation walks every reference: a "billion laughs"
    policy of a few hundred bytes made pydantic build gigabytes. Counted per distinct node, so the count
    itself stays linear; a document without aliases is never refused here (its size is capped by the file's).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(n: yaml.Node) -> int:
        known = sizes.get(id(n))
        if known is not None:
            return known
        if id(n) in open_nodes:  # `&a [*a]`: an alias inside its own anchor is infinite
            raise yaml.constructor.ConstructorError(None, None, "an alias refers to the collection that holds it",
                                                    n.start_mark)
        open_nodes.add(id(n))
        total = 1
        if isinstance(n, yaml.SequenceNode):
            total += sum(size(item) for item in n.value)
        elif isinstance(n, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in n.value)
        sizes[id(n)] = total
        open_nodes.discard(id(n))
        return total

    expanded = size(root)
    allowed = max(MAX_EXPANDED_VALUES, EXPANSION_RATIO * len(sizes))
    if expanded > allowed:
        raise yaml.constructor.ConstructorError(
            None, None, f"aliases expand this document to {expanded:,} values (at most {allowed:,} here)",
            root.start_mark)


def _reject_duplicate_keys(root: yaml.Node, shown: str) -> None:
    """Raise for the first mapping under ``root`` that repeats a key (compared as written)."""
    seen_nodes: set[int] = set()  # aliases point at shared nodes: visit each once
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                if name in keys:
                    raise InputError(f"key '{name}' appears twice in the same mapping", path=shown,
                                     line=key.start_mark.line + 1)
                keys.add(name)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(key node, value node) for a mapping key or a sequence index."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None, None


def line_of(node: yaml.Node, path: tuple[str | int, ...]) -> int | None:
    """Line of the deepest node on ``path`` that exists (1-based)."""
    current: yaml.Node = node
    line = current.start_mark.line + 1
    for part in path:
        key, value = _child(current, part)
        if value is None or key is None:
            break
        line = key.start_mark.line + 1
        current = value
    return line


def explain(exc: ValidationError, node: yaml.Node, shown: str, root: type[BaseModel]) -> InputError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    field = _dotted(loc)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    kind = first["type"]
    hint: str | None = None
    if kind == "extra_forbidden":
        parent_loc = loc[:-1]
        message = f"unknown key '{loc[-1]}'"
        allowed = _allowed_keys(root, parent_loc)
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = (f"did you mean '{close[0]}'? " if close else "") + "allowed: " + ", ".join(allowed)
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = first["msg"]
    return InputError(message + more, path=shown, line=line_of(node, loc), field=field, hint=hint)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model at ``loc`` under ``root``."""
    model: type[BaseModel] = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        inner = _model_of(field.annotation)
        if inner is None:
            return []
        model = inner
    return sorted(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None

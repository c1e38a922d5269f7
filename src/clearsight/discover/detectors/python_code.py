"""Python source by AST: AI imports, model and dataset identifiers, and risky model loading.

Only the syntax tree counts, so commented-out code and strings that merely mention a package never match. A file
that can yield nothing but imports has them read by :mod:`~clearsight.discover.python_imports` (the same nodes,
without parsing the module); other files have only the statements that can matter parsed (see
:mod:`~clearsight.discover.python_skeleton`); a file whose statements that matter do not parse yields only its
imports. Evidence strings are short and never contain a value that looks like a credential.

What is reported:

- ``import x`` / ``from x import y`` of a package in the AI catalogue → the package's kind (provider, sdk, …).
- Model identifiers: ``from_pretrained("org/x")``, ``SentenceTransformer("x")``, ``pipeline(..., model="org/x")``,
  ``model=``/``model_name=``/``model_id=`` keyword arguments (a literal, or a module-level variable holding one;
  f-strings are ignored), and module-level ``*MODEL* = "gpt-4o"`` assignments → kind ``model``.
- ``load_dataset("org/x")`` (and hub downloads with ``repo_type="dataset"``) → kind ``dataset``.
- Risky loading → kind ``model``, confidence high, evidence starting with ``risky load:``: ``torch.load`` without
  ``weights_only=True``, ``trust_remote_code=True``, ``from_pretrained`` without ``revision=``, pickle / joblib /
  dill / cloudpickle loads, ``pandas.read_pickle``, ``np.load(..., allow_pickle=True)``.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import accumulate, count
from operator import add
from typing import TYPE_CHECKING, Literal

from clearsight.discover.catalog import import_names, lookup_import
from clearsight.discover.folding import nfkc
from clearsight.discover.interface import Confidence, FunctionDetector, NameFilter, Observation, SourceFile
from clearsight.discover.python_imports import ascii_stand_in, import_statements
from clearsight.discover.python_skeleton import skeleton, statements_of
from clearsight.discover.python_source import parse_python
from clearsight.discover.relpaths import suffix
from clearsight.discover.text_gates import Gates, register_folded_later, register_pattern

if TYPE_CHECKING:
    from clearsight.core.system import ComponentKind

DETECTOR_ID = "python-code"
RISK_PREFIX = "risky load: "

# Hosted and open model families, so a bare `model="..."` in any call is believed without other context.
_KNOWN_MODEL = re.compile(
    r"^(?:gpt-?\d|gpt-4o|chatgpt|o[1345](?:-|$)|text-embedding-|text-davinci|davinci|babbage|whisper|dall-e|tts-1"
    r"|claude|gemini|gemma|palm|text-bison|chat-bison|textembedding-gecko|llama|meta-llama|codellama|mistral"
    r"|mixtral|codestral|ministral|pixtral|open-mistral|command(?:-|$)|embed-(?:english|multilingual)|rerank-"
    r"|qwen|deepseek|phi-?\d|falcon|bert-|roberta|distilbert|t5-|flan-|bge-|e5-|all-minilm|all-mpnet|nomic-"
    r"|jina|grok|sonar|titan|amazon\.|anthropic\.|meta\.|cohere\.|ai21|jamba|stable-?diffusion|sdxl|starcoder"
    r"|vicuna|zephyr|yi-|internlm|granite|nemotron|dbrx|olmo|smollm|whisper)",
    re.IGNORECASE,
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_PLAUSIBLE = re.compile(r"^[\w.\-/:@]{1,200}$")
_SECRET_PREFIX = re.compile(r"^(?:sk-|sk_|rk_|pk_|hf_|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|AIza)")
_OPAQUE = re.compile(r"^[A-Za-z0-9_\-+=]{32,}$")

_MODEL_KWARGS = frozenset({"model", "model_name", "model_id", "model_name_or_path", "pretrained_model_name_or_path"})
_MODEL_CONSTRUCTORS = frozenset({"SentenceTransformer", "CrossEncoder"})
_HUB_DOWNLOADS = frozenset({"hf_hub_download", "snapshot_download"})
_PICKLE_LOADS = frozenset({
    "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads", "cPickle.load",
    "cPickle.loads", "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load",
    "sklearn.externals.joblib.load", "pandas.read_pickle",
})
# Names so conventional that an unimported use still means the library (notebooks that import in another cell).
_CONVENTIONAL = {"np": "numpy", "pd": "pandas"}


def looks_like_secret(value: str) -> bool:
    """True for strings shaped like API keys or tokens: such values are never reported or printed."""
    if _SECRET_PREFIX.match(value):
        return True
    if not _OPAQUE.match(value):
        return False
    # Tokens are one long random run; hyphenated names (``distilbert-base-uncased-finetuned-sst-2-english``) are not.
    return any(len(part) >= 20 and any(c.isdigit() for c in part) and any(c.isalpha() for c in part)
               for part in re.split(r"[-_]", value))


def is_known_model_name(value: str) -> bool:
    """A hosted or open model name (``gpt-4o-mini``, ``claude-3-5-sonnet``) or a hub ID (``org/name``)."""
    return bool(_KNOWN_MODEL.match(value) or _HUB_ID.match(value))


def plausible_identifier(value: str) -> bool:
    return bool(_PLAUSIBLE.match(value)) and not looks_like_secret(value)


def short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class PythonContext:
    """What earlier code established: import aliases and module-level string constants (shared across cells)."""

    aliases: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    has_ai_import: bool = False
    handles: dict[str, str] = field(default_factory=dict)  # `with open("m.pkl") as fh` / `fh = open(...)`: fh -> path


def python_observations(source: str, rel: str, *, context: PythonContext | None = None,
                        detector: str = DETECTOR_ID) -> list[Observation]:
    """Observations in one Python source text (a file or a notebook cell); ``[]`` if it does not parse."""
    ctx = context if context is not None else PythonContext()
    pruned = _pruned_tree(source, ctx)
    tree, lines, prepared = pruned if pruned is not None else (parse_python(source), None, None)
    if tree is None:
        return import_observations(source, rel, context=context, detector=detector)
    visitor = _Visitor(rel, detector, ctx)
    try:
        visitor.run(tree, source, lines, prepared)
    except RecursionError:
        return []
    return _unique(visitor.found)


_Prepared = tuple[list[ast.Import | ast.ImportFrom], tuple[str, ...]]


def _pruned_tree(source: str, ctx: PythonContext) -> tuple[ast.Module, _Lines, _Prepared | None] | None:
    """The syntax tree of the statements the visitor can act on (see :mod:`~clearsight.discover.python_skeleton`),
    or None when the whole module has to be parsed.

    The statements kept are those holding ``import`` or a name of the walk (:class:`_Lines`); the names bound
    to ``open`` and to risky loaders are known only from the tree, so when they add names the cut is made
    again with them. Where the module itself does not parse but the statements kept do, what they
    hold is reported: like the import reader, this believes the code that is Python.
    """
    if "\r" in source:
        return None
    lines = _Lines(source)
    names = (*_CALL_NAMES, *_risky_names(ctx.aliases.items()), *ctx.handles)
    marks = lines.marks(_IMPORT_WORDS, names)
    statements = statements_of(source) if marks is not None else None
    text = skeleton(source, marks, statements) if marks is not None and statements is not None else None
    tree = parse_python(text) if text is not None else None
    if tree is None:
        return None
    imports = _collect(tree, _IMPORT_WORDS, lines)[0]
    handles = _opened_names(tree, lines)
    more_names = {*_risky_names(_bindings(imports)), *handles}.difference(names)
    if not more_names:
        return tree, lines, (imports, handles)
    marks = lines.marks(_IMPORT_WORDS, (*names, *sorted(more_names)))
    wider = skeleton(source, marks, statements) if marks is not None else None
    if wider is None:
        return None
    if wider == text:
        return tree, lines, (imports, handles)
    tree = parse_python(wider)
    return (tree, lines, None) if tree is not None else None


def _bindings(imports: list[ast.Import | ast.ImportFrom]) -> list[tuple[str, str]]:
    """Every (name, what it stands for) an import binds, as the visitor records it; a name bound twice is
    listed twice, since which binding the walk sees last depends on the order it visits them."""
    bound: list[tuple[str, str]] = []
    for node in imports:
        if isinstance(node, ast.Import):
            bound.extend((alias.asname, alias.name) for alias in node.names if alias.asname)
        elif node.module and not node.level:
            bound.extend((alias.asname or alias.name, f"{node.module}.{alias.name}") for alias in node.names)
    return bound


def _risky_names(aliases: Iterable[tuple[str, str]]) -> list[str]:
    return [name for name, full in aliases if full in _RISKY_CALLS]


def import_observations(source: str, rel: str, *, context: PythonContext | None = None,
                        detector: str = DETECTOR_ID) -> list[Observation]:
    """The observations of ``source``'s import statements, read without parsing the module
    (:mod:`~clearsight.discover.python_source`'s cost): all a file can yield when :func:`possible` says
    "imports", and all that is believed of a file that does not parse."""
    visitor = _Visitor(rel, detector, context if context is not None else PythonContext())
    for statement in import_statements(source):
        visitor._import(statement)
    return _unique(visitor.found)


def _unique(found: list[Observation]) -> list[Observation]:
    seen: set[tuple[str, str, int | None, str]] = set()
    unique: list[Observation] = []
    for obs in found:
        key = (obs.kind, obs.name, obs.line, obs.evidence)
        if key not in seen:
            seen.add(key)
            unique.append(obs)
    return unique


class _Visitor:
    def __init__(self, rel: str, detector: str, ctx: PythonContext) -> None:
        self.rel = rel
        self.detector = detector
        self.ctx = ctx
        self.found: list[Observation] = []

    def add(self, kind: ComponentKind, name: str, node: ast.AST, evidence: str,
            confidence: Confidence = "high") -> None:
        self.found.append(Observation(kind=kind, name=name, rel=self.rel, line=getattr(node, "lineno", None),
                                      detector=self.detector, evidence=evidence, confidence=confidence))

    def run(self, tree: ast.Module, source: str | None = None, lines: _Lines | None = None,
            prepared: _Prepared | None = None) -> None:
        """Imports first (anywhere in the tree), so aliases and "this file uses AI" are known before the calls;
        then module constants; then calls, assignments and ``with`` blocks in source order.

        With the ``source``, statements whose lines cannot matter are not walked (:class:`_Lines`): a big test
        module that loads one pickle is mostly statements without a word this visitor acts on. ``prepared``
        holds the tree's imports and the names it binds to ``open``, when :func:`_pruned_tree` found them.
        """
        if lines is None:
            lines = _Lines(source) if source is not None and source.isascii() else None
        handles: tuple[str, ...] = ()
        if lines is None:
            imports, nodes = _collect(tree)  # nothing to prune by: one walk serves both lists
        elif prepared is not None:
            (imports, handles), nodes = prepared, []
        else:
            imports, nodes = _collect(tree, _IMPORT_WORDS, lines)[0], []
            handles = _opened_names(tree, lines)
        self._imports(imports)
        for stmt in tree.body:
            self._module_constant(stmt)
        if lines is not None:  # the words depend on the aliases the imports just bound
            nodes = _collect(tree, (), lines, (*_CALL_NAMES, *self._risky_aliases(), *handles, *self.ctx.handles))[1]
        for node in nodes:
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self._bind_handle(target.id, node.value)
            else:
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        self._bind_handle(item.optional_vars.id, item.context_expr)


    # ------------------------------------------------------------------------------------------- imports

    def _imports(self, statements: list[_Import]) -> None:
        """Bind aliases in ``ast.walk`` order (outer statements first), report in source order: the order
        :func:`import_observations` reads them in without a tree."""
        spans: list[tuple[int, int, list[Observation]]] = []
        for statement in statements:
            before = len(self.found)
            self._import(statement)
            if len(self.found) > before:
                spans.append((statement.lineno, statement.col_offset, self.found[before:]))
                del self.found[before:]
        spans.sort(key=lambda span: (span[0], span[1]))
        for _, _, found in spans:
            self.found.extend(found)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.ctx.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.ctx.aliases[top] = top
                package = lookup_import(alias.name)
                if package is not None:
                    text = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                    self.ctx.has_ai_import = True
                    self.add(package.kind, package.name, node, short(text), package.confidence)
            return
        if node.level or not node.module:
            return  # relative imports are the project's own code
        reported: set[str] = set()
        for alias in node.names:
            if alias.name != "*":
                self.ctx.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            package = lookup_import(f"{node.module}.{alias.name}") or lookup_import(node.module)
            if package is not None and package.name not in reported:
                reported.add(package.name)
                names = ", ".join(a.name for a in node.names)
                self.ctx.has_ai_import = True
                self.add(package.kind, package.name, node, short(f"from {node.module} import {names}"),
                         package.confidence)

    # ----------------------------------------------------------------------------------------- constants

    def _module_constant(self, stmt: ast.stmt) -> None:
        targets: list[ast.expr]
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            return
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.ctx.constants[target.id] = value.value
                text = value.value
                if ("model" in target.id.lower() and is_known_model_name(text) and plausible_identifier(text)):
                    self.add("model", text, stmt, short(f'{target.id} = "{text}"'))
            else:
                self.ctx.constants.pop(target.id, None)

    def _string(self, node: ast.expr | None) -> tuple[str, str] | None:
        """(value, how it was written) for a literal or a module-level constant; None otherwise (f-strings)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, f'"{short(node.value)}"'
        if isinstance(node, ast.Name) and node.id in self.ctx.constants:
            value = self.ctx.constants[node.id]
            return value, f'{node.id} -> "{short(value)}"'
        return None

    # --------------------------------------------------------------------------------------------- calls

    def _resolve(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.ctx.aliases.get(node.id) or _CONVENTIONAL.get(node.id, node.id)
        return ".".join([base, *reversed(parts)])

    def _risky_aliases(self) -> list[str]:
        """Names that call a risky loader without saying so (``from pickle import loads as fetch``)."""
        return _risky_names(self.ctx.aliases.items())

    def _bind_handle(self, name: str, value: ast.expr) -> None:
        """Remember which file a handle was opened on, so ``pickle.load(fh)`` names the file it unpickles."""
        path: tuple[str, str] | None = None
        if isinstance(value, ast.Call) and value.args:
            func = value.func
            opener = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if opener == "open":
                path = self._string(value.args[0])
        if path is not None and plausible_identifier(path[0]):
            self.ctx.handles[name] = path[0]
        else:
            self.ctx.handles.pop(name, None)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        resolved = self._resolve(func) or last
        kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        first = node.args[0] if node.args else None
        model_name: str | None = None

        if last == "from_pretrained":
            model_name = self._explicit_model(node, first or kwargs.get("pretrained_model_name_or_path"),
                                              "from_pretrained")
            written = self._string(first or kwargs.get("pretrained_model_name_or_path"))
            local = written is not None and _is_local_path(written[0])
            if "revision" not in kwargs and not local:
                self.add("model", model_name or resolved, node,
                         RISK_PREFIX + "from_pretrained without revision= (unpinned hub revision)")
        elif last in _MODEL_CONSTRUCTORS:
            model_name = self._explicit_model(node, first or kwargs.get("model_name_or_path"), last)
        elif last == "load_dataset":
            found = self._string(first or kwargs.get("path"))
            if found and plausible_identifier(found[0]):
                self.add("dataset", found[0], node, f"load_dataset({found[1]})")
        elif last in _HUB_DOWNLOADS:
            found = self._string(kwargs.get("repo_id") or first)
            repo_type = self._string(kwargs.get("repo_type"))
            if found and plausible_identifier(found[0]):
                kind: ComponentKind = "dataset" if repo_type and repo_type[0] == "dataset" else "model"
                self.add(kind, found[0], node, f"{last}({found[1]})")

        for key in sorted(_MODEL_KWARGS & kwargs.keys()):
            if last == "from_pretrained" and key == "pretrained_model_name_or_path":
                continue
            found = self._string(kwargs[key])
            if not found or not plausible_identifier(found[0]):
                continue
            confidence: Confidence | None
            if last == "pipeline" or is_known_model_name(found[0]):
                confidence = "high"
            elif self.ctx.has_ai_import:
                confidence = "medium"
            else:
                confidence = None  # `Car(model="Civic")`: not AI without other evidence
            if confidence:
                model_name = model_name or found[0]
                self.add("model", found[0], node, f"{key}={found[1]}", confidence)

        self._risks(node, resolved, kwargs, first, model_name)

    def _explicit_model(self, node: ast.Call, arg: ast.expr | None, call: str) -> str | None:
        found = self._string(arg)
        if not found or not plausible_identifier(found[0]):
            return None
        self.add("model", found[0], node, f"{call}({found[1]})")
        return found[0]

    def _risks(self, node: ast.Call, resolved: str, kwargs: dict[str, ast.expr], first: ast.expr | None,
               model_name: str | None) -> None:
        target = self._string(first)
        if target is None and isinstance(first, ast.Name) and first.id in self.ctx.handles:
            target = (self.ctx.handles[first.id], first.id)
        loaded = target[0] if target and plausible_identifier(target[0]) else resolved
        remote = kwargs.get("trust_remote_code")
        if isinstance(remote, ast.Constant) and remote.value is True:
            self.add("model", model_name or loaded, node,
                     RISK_PREFIX + "trust_remote_code=True (runs code from the model repository)")
        if resolved == "torch.load":
            safe = kwargs.get("weights_only")
            if not (isinstance(safe, ast.Constant) and safe.value is True):
                self.add("model", loaded, node, RISK_PREFIX + "torch.load without weights_only=True (unpickles)")
        elif resolved in _PICKLE_LOADS:
            self.add("model", loaded, node, RISK_PREFIX + f"{resolved} (arbitrary code on unpickling)",
                     self._generic_load_confidence(resolved, target, first))
        elif resolved == "numpy.load":
            allow = kwargs.get("allow_pickle")
            if isinstance(allow, ast.Constant) and allow.value is True:
                self.add("model", loaded, node, RISK_PREFIX + "numpy.load with allow_pickle=True")

    def _generic_load_confidence(self, resolved: str, target: tuple[str, str] | None, first: ast.expr | None
                                 ) -> Confidence:
        """``pickle.loads(payload)`` in a module with no AI import unpickles bytes of unknown origin (caches,
        messages between processes): a risk to list, but no evidence of AI on its own (dask's ``bag/`` was a
        "system" for it). Anything that reads a file (``load``, ``read_pickle``) keeps its weight, as does a
        payload whose expression names a model or a model file anywhere (``Key="models/churn.pkl"``)."""
        if self.ctx.has_ai_import or target is not None or not resolved.endswith(".loads") or first is None:
            return "high"
        for node in ast.walk(first):
            text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else \
                node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
            if _MODELISH.search(text):
                return "high"
        return "low"


# a payload expression that mentions a model or a model file is a model being loaded
_MODELISH = re.compile(r"model|\.(?:pkl|pickle|joblib|pt|pth|bin|ckpt|sav|h5)\b", re.IGNORECASE)

_Import = ast.Import | ast.ImportFrom
_Visited = ast.Call | ast.Assign | ast.With
_Spanned = ast.stmt | ast.expr  # nodes with lines of their own, skipped with their insides when none is marked
_RISKY_CALLS = frozenset({*_PICKLE_LOADS, "torch.load", "numpy.load"})
# A statement can matter to the visitor only if one of its lines holds "import" or one of these names: the last
# name of every call the visitor reports (risky loaders end in "load", "loads", "Unpickler" or "read_pickle"),
# the keywords it reads and ``open``.
_IMPORT_WORDS = ("import",)
_CALL_NAMES = ("from_pretrained", *sorted(_MODEL_CONSTRUCTORS), "load_dataset", *sorted(_HUB_DOWNLOADS),
               *sorted(_MODEL_KWARGS), "trust_remote_code", "load", "loads", "Unpickler", "read_pickle", "open")


class _Lines:
    """Which lines of a source hold which words, to skip statements that cannot matter.

    Why this is exact: every node the visitor acts on writes one of the words or names on one of its own lines
    — an import says ``import``; a reported call names its function (``from_pretrained``, ``loads``…), has a
    ``model``/``model_name``… keyword or ``trust_remote_code``, or is called through an alias of a risky loader
    (those aliases are names too); a handle is bound by a line that calls ``open`` and forgotten by a line
    that names it. Words are searched for anywhere, names only as whole identifiers: the visitor compares
    identifiers, so ``payload``, ``model_selection`` and ``reopen`` are no reason to keep a statement (as
    substrings "load", "model" and "open" kept a fifth of every big test module). A statement none of
    whose lines holds a word or a name holds none of those nodes, nor does an expression. Lines holding a
    character that is not ASCII are always marked: Python folds identifiers (NFKC), text search does not.
    A lone carriage return ends a line for Python, so it counts as one here. With more than ``MAX_WORDS``
    words (thousands of names bound to ``open``) one scan per word would cost more than the walk saves.
    """

    MAX_WORDS = 64

    def __init__(self, source: str) -> None:
        self.source = source.replace("\r\n", "\n").replace("\r", "\n") if "\r" in source else source
        # where each line starts: the lengths before it plus one newline each, summed in C (a find per line
        # was a tenth of a big tree's cuts)
        lines = self.source.split("\n")
        self._starts = list(map(add, accumulate(map(len, lines[:-1]), initial=0), count()))
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
        # lines holding a character that is not ASCII: always marked, since Python folds identifiers (NFKC) and
        # a word may be written there in letters a text search does not see ("ｌｏａｄ" is ``load``)
        self._foreign: list[int] = []
        if not self.source.isascii():
            search, starts = _NOT_ASCII.search, self._starts
            match = search(self.source)
            while match is not None:
                line = bisect_right(starts, match.start())
                self._foreign.append(line)
                match = search(self.source, starts[line]) if line < len(starts) else None

    def marks(self, words: tuple[str, ...], names: tuple[str, ...] = ()) -> list[int] | None:
        """Running count of lines holding a word (anywhere) or a name (as a whole identifier):
        ``marks[end] - marks[start - 1]`` > 0 when lines start..end (1-based) hold one."""
        key = (words, names)
        found = self._cache.get(key)
        if found is not None:
            return found
        if len(set(words)) + len(set(names)) > self.MAX_WORDS:
            return None  # walk everything
        hit = bytearray(len(self._starts) + 1)
        source, starts = self.source, self._starts
        for line in self._foreign:
            hit[line] = 1
        for word in set(words):
            at = source.find(word)
            while at >= 0:
                line = bisect_right(starts, at)  # 1-based line of offset ``at``
                hit[line] = 1
                at = source.find(word, starts[line] if line < len(starts) else len(source))
        size = len(source)
        for name in set(names):
            at = source.find(name)
            while at >= 0:
                end = at + len(name)
                if (at and source[at - 1] in _WORD_CHARS) or (end < size and source[end] in _WORD_CHARS):
                    at = source.find(name, at + 1)  # inside a longer identifier
                    continue
                line = bisect_right(starts, at)
                hit[line] = 1
                at = source.find(name, starts[line] if line < len(starts) else size)
        counts = list(accumulate(hit))
        self._cache[key] = counts
        return counts


# What continues an ASCII identifier; a character that is not ASCII marks its line anyway (see _Lines).
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _first_line(statement: ast.stmt) -> int:
    """A decorated definition starts at its first decorator, though ``lineno`` is the ``def`` line."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and statement.decorator_list:
        return min(statement.lineno, *(d.lineno for d in statement.decorator_list))
    return statement.lineno


def _opened_names(tree: ast.Module, lines: _Lines) -> tuple[str, ...]:
    """Names assigned an ``open(...)`` anywhere (``fh = open(p)``, ``with open(p) as fh``)."""
    names: list[str] = []
    for node in _collect(tree, (), lines, ("open",))[1]:
        if isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.With):
            names.extend(i.optional_vars.id for i in node.items if isinstance(i.optional_vars, ast.Name))
    return tuple(names)


def _collect(tree: ast.Module, words: tuple[str, ...] = (), lines: _Lines | None = None,
             names: tuple[str, ...] = (),
             ) -> tuple[list[ast.Import | ast.ImportFrom], list[ast.Call | ast.Assign | ast.With]]:
    """One iterative walk (deep trees cannot exhaust the stack): imports in breadth-first order, as ``ast.walk``
    yields them, and calls, assignments and ``with`` blocks depth-first in source order. With ``lines``,
    statements none of whose lines holds one of ``words`` or ``names`` (see :meth:`_Lines.marks`) are skipped
    with everything inside them.

    Breadth-first order within one depth is depth-first order, so sorting the imports by (depth, position)
    reproduces ``ast.walk`` without a second pass over the tree.
    """
    marks = lines.marks(words, names) if lines is not None else None
    imports: list[tuple[int, int, ast.Import | ast.ImportFrom]] = []
    nodes: list[ast.Call | ast.Assign | ast.With] = []
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    position = 0
    while stack:
        node, depth = stack.pop()
        position += 1
        if isinstance(node, _Visited):
            nodes.append(node)
        elif isinstance(node, _Import):
            imports.append((depth, position, node))
        children: list[tuple[ast.AST, int]] = []
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                if marks is None or not isinstance(value, ast.expr) or marks[
                        value.end_lineno or value.lineno] > marks[value.lineno - 1]:
                    children.append((value, depth + 1))
            elif isinstance(value, list):
                if marks is not None:
                    children.extend((item, depth + 1) for item in value if isinstance(item, ast.AST) and (
                        not isinstance(item, _Spanned)
                        or marks[item.end_lineno or item.lineno] > marks[
                            (_first_line(item) if isinstance(item, ast.stmt) else item.lineno) - 1]))
                else:
                    children.extend((item, depth + 1) for item in value if isinstance(item, ast.AST))
        children.reverse()
        stack.extend(children)
    imports.sort(key=lambda entry: (entry[0], entry[1]))
    return [node for _, _, node in imports], nodes


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
# A name holding "model" given a string, as a keyword argument or an assignment (``model="x"``, ``(MODEL) = 'x'``,
# ``MODEL = FALLBACK = ...``), or a keyword the visitor reads given a bare name (``model=MODEL``, see
# _GIVEN_NAME); line continuations and parentheses may come between. Read on folded text with newlines made
# "\n" and other characters ASCII (see ``possible``). Each
# "model" word is found once (``finditer`` does not overlap) and its tail is matched with quantifiers that never
# give back. A comment after the "=" counts as a binding without being read past: the comment may hold "model="
# again, and reading each such word's tail through the same comments made the check quadratic (20,000 lines of
# "model=" and "#" took 14 s).
_MODEL_WORD = re.compile(r"model\w*+")
_VALUE_GAP = r"[\s\\(]*+"
# what may follow a name in a chained target (``MODEL = cfg.name = "x"``, ``MODEL = settings["m"] = "x"``):
# attributes, then a subscript read up to the line's next "=" (so a nested one costs no backtracking)
_TARGET_TAIL = r"(?:[^\S\n]*+\.[^\S\n]*+[a-z_]\w*+)*+(?:\[[^\n=]*+)?"
_ASSIGNED = re.compile(
    rf"[\s)]*+=(?!=){_VALUE_GAP}(?:[rubf]{{0,2}}[\"'#]|[a-z_]\w*+{_TARGET_TAIL}[\s)]*+=(?!=))")
# A bare name given to a keyword the visitor reads (``model=MODEL``: the name may be a constant); group 1 is it.
_GIVEN_NAME = re.compile(rf"[\s)]*+=(?!=){_VALUE_GAP}([a-z_]\w*+)[^\S\n]*+(?:[,)\n;#\\]|$)")
_NOT_CONSTANTS = frozenset({"None", "True", "False"})  # as written: a constant may be called NONE
# ``MODEL: Annotated[str, Doc(a=1)] = "x"`` (an annotation may hold "=" and span lines): only a module-level
# statement makes a constant, so a name at the start of a line (or after ";") followed by ":" is enough.
_ANNOTATED = re.compile(r"[^\S\n]*+\)*+[^\S\n]*+:(?!=)")
_LOOK = 200  # characters read back to a line's start; a longer line before the name is assumed a statement


def _binds_model(folded: str, written: str | None = None) -> bool:
    """Whether a name holding "model" may be given a string the visitor reports: a module-level name assigned
    a string (``MODEL = "x"``, through a chain or an annotation), or a keyword it reads (``model=``,
    ``model_name=``…) given a string or a name that may be a constant. An attribute (``self.model = x``) is
    neither, nor is another keyword or a name given a name (``operation_model=operation_model``, which
    awscli and botocore write thousands of times) -- except a name that starts its line or follows ";": a
    module-level chain the patterns cannot read (``MODEL = a, *b = "x"``, ``MODEL = OTHER \\``) starts like
    that, and still counts. ``written``: the text as written, when its offsets are the folded text's (ASCII
    without carriage returns), to tell ``model=None`` from a constant called ``NONE``."""
    for word in _MODEL_WORD.finditer(folded):
        if _ASSIGNED.match(folded, word.end()):
            return True
        start = word.start()
        while start and (folded[start - 1].isalnum() or folded[start - 1] == "_"):
            start -= 1
        left = start
        while left and folded[left - 1] in " \t(":
            left -= 1
        if left and folded[left - 1] == ".":
            continue  # an attribute: no keyword, and no module constant (the visitor keeps names only)
        if folded[start:word.end()] in _MODEL_KWARGS or left == 0 or folded[left - 1] in "\n;":
            given = _GIVEN_NAME.match(folded, word.end())
            if given is not None and (written is None or written[given.start(1):given.end(1)] not in _NOT_CONSTANTS):
                return True
        if _ANNOTATED.match(folded, word.end()):
            line_start = folded.rfind("\n", max(0, start - _LOOK), start) + 1
            if line_start == 0 and start > _LOOK:
                return True  # not read back: each "model:" of one long line read it again (quadratic)
            before = folded[line_start:start]
            if not before.strip("(") or ";" in before:
                return True
    return False


_CallNeed = tuple[frozenset[str], frozenset[str]]
_KEYWORD_NEEDS = ("trust_remote_code", "allow_pickle")


@cache
def _call_needs() -> tuple[_CallNeed, ...]:
    """For every call this detector reports: (one of these, all of these) identifiers the source must hold.

    A call's name is resolved through the file's imports, so every part of a resolved name is written in the
    file, except that a first part may be written as its conventional short name (``pd`` for ``pandas``).
    """
    return tuple(need for need, _ in _shaped_needs())


@cache
def _shaped_needs() -> tuple[tuple[_CallNeed, re.Pattern[str]], ...]:
    """Each of :func:`_call_needs` with the shape its last word takes in a file that holds such a call.

    A call's last word is written right before its parentheses (``pickle.loads(``), or is renamed on import
    (``from pickle import loads as fetch``), after which the call is written under the new name; a reported
    keyword (``trust_remote_code``) is written before its "=". A file that names the words of a call only
    elsewhere (``import pickle`` and ``json.loads(...)``, "load" in a docstring) cannot hold that call.
    """
    short_names = {full: alias for alias, full in _CONVENTIONAL.items()}
    shaped: list[tuple[_CallNeed, re.Pattern[str]]] = []
    for dotted in sorted({*_PICKLE_LOADS, "torch.load"}):
        first, *rest = dotted.lower().split(".")
        need = (frozenset({first, short_names.get(first, first)}), frozenset(rest))
        shaped.append((need, _shape(rest[-1], keyword=False)))
    for name in ("from_pretrained", "load_dataset", *_KEYWORD_NEEDS, *sorted(_MODEL_CONSTRUCTORS),
                 *sorted(_HUB_DOWNLOADS)):
        shaped.append(((frozenset({name.lower()}), frozenset()), _shape(name.lower(), keyword=name in _KEYWORD_NEEDS)))
    return tuple(shaped)


def _shape(word: str, *, keyword: bool) -> re.Pattern[str]:
    """``word`` as a whole identifier in a call's shape (see :func:`_shaped_needs`), on folded text.

    Between the word and its "(" or "=" may come white space, continuations and closing parentheses
    (``(pickle.loads)(data)``). A comment there (``pickle.loads  # why`` on a line of its own inside brackets)
    is taken as a possible call without reading past it: a comment can hold the word again, and following
    each occurrence through the same run of comment lines would make the search quadratic. Every other gap is
    read once, so the search is linear.

    A reported keyword is only ever reported given ``True`` (``allow_pickle=False`` is not), so "=" must be
    followed by it, or by a comment or a continuation before it. A renaming import names the new name (on a
    later line too, inside parentheses) and then ends the name's entry (``loads as fetch,``, ``)``, the line's
    end): English prose ("load as category") does not.
    """
    if keyword:
        after = r"(?:=(?!=)[\s\\(]*+(?:true(?![a-z0-9_])|#)|#)"
    else:
        after = r"(?:\(|#|as(?![a-z0-9_])[\s\\]*+(?:#|[a-z_][a-z0-9_]*+[^\S\n]*+(?:[,)\n;#\\]|$)))"
    # the word's left edge is asked after the word (a lookbehind over it): a pattern that starts with the word
    # itself is searched for by its first letters, one that starts with a lookbehind at every position
    word = re.escape(word)
    return re.compile(rf"{word}(?<![a-z0-9_]{word})[\s\\)]*+{after}")


_DOCTEST = re.compile(r"[^\S\n]*+(>>>)")
_MAX_NOT_CODE = 200  # matches in comments and doctests looked past before a file is parsed anyway


def _shaped_in_code(shape: re.Pattern[str], folded: str) -> bool:
    """Whether ``shape`` matches somewhere that may be code: not after a comment's "#" nor on a doctest line
    (``>>> pickle.loads(b)``), when no quote or "{" comes before it on its line.

    Without a quote before the match, a "#" before it starts a comment if the line starts in code, and is
    text of a string if the line starts inside one (a triple-quoted string, a continued one), which then
    lasts past the match too: either way the match is no call. A line of code cannot start with ">>>" (no
    operator is written so), so such a line is inside a string or makes its statement fail to parse, which
    never yields a call either. An f-string's fields are code inside a string (``f'''# {pickle.loads(b)}'''``,
    found by a review): a "{" before the match counts as a quote, and a line that starts inside a field
    cannot hold "#" or ">>>" before code in it (Python 3.11 refuses a "#" there; 3.12 reads it as a comment).
    Each line is looked at once, however many matches it holds, and after :data:`_MAX_NOT_CODE` matches
    that are not code the file is taken to hold a call: a module of commented-out calls is parsed, as before.
    """
    line_end = -1  # the end of the last match's line
    open_at = 0  # where that line's first quote or "{" is (its end if it has none)
    not_code_before = -1  # where a comment's "#" or a doctest's ">>>" starts before that (-1: neither)
    for seen, match in enumerate(shape.finditer(folded)):
        start = match.start()
        if start > line_end:
            line_start = folded.rfind("\n", 0, start) + 1
            line_end = folded.find("\n", start)
            line_end = len(folded) if line_end < 0 else line_end
            open_at = min((at for at in (folded.find(c, line_start, line_end) for c in "'\"{") if at >= 0),
                          default=line_end)
            doctest = _DOCTEST.match(folded, line_start, open_at)
            not_code_before = doctest.start(1) if doctest else folded.find("#", line_start, open_at)
        if start > open_at or not 0 <= not_code_before < start or seen == _MAX_NOT_CODE:
            return True
    return False


@cache
def _call_words() -> frozenset[str]:
    return frozenset(word for first, rest in _call_needs() for word in first | rest)


@cache
def _inside() -> dict[str, tuple[str, ...]]:
    """For each call word, the other call words written inside it ("load" in "load_dataset"): where one of
    those is missing from a text, so is the word, and the text need not be searched for it."""
    words = _call_words()
    return {word: tuple(sorted(other for other in words if other != word and other in word)) for word in words}


@cache
def _call_gates() -> tuple[str, ...]:
    """Words one of which every reported call needs: a word each call must have (one of its rest, or its only
    first part), cut down to the shortest call word inside it. Most texts hold none of these few."""
    inside = _inside()
    gates: set[str] = set()
    for first, rest in _call_needs():
        needed = rest or (first if len(first) == 1 else frozenset())
        if not needed:  # no single word is needed: one of the first parts is
            gates.update(first)
            continue
        gates.add(min((shortest for word in needed for shortest in (*inside[word], word)), key=len))
    return tuple(sorted(gates))


def _some_call_written(contains: Callable[[str], bool]) -> bool:
    """Whether, as substrings, some reported call's words are all in the folded text (``contains(word)`` says
    whether one is): one of its first parts and all the rest (see :func:`_call_needs`). Each word is asked about
    at most once, and not at all when a shorter call word inside it is missing; most texts lack "load", which
    settles most calls with one question."""
    if not any(map(contains, _call_gates())):
        return False
    known: dict[str, bool] = {}
    inside = _inside()

    def written(word: str) -> bool:
        found = known.get(word)
        if found is None:
            found = known[word] = all(written(part) for part in inside[word]) and contains(word)
        return found

    return any(all(written(word) for word in rest) and any(written(word) for word in first)
               for first, rest in _call_needs())


Possible = Literal["nothing", "imports", "anything"]


def might_observe(source: str) -> bool:
    """False only when the file cannot yield an observation, so it need not be read any further."""
    return possible(source) != "nothing"


@cache
def _gate_words() -> frozenset[str]:
    """Lower-case words one of which every observation needs in the folded text: "model", a call's gate word, or
    the first part of a catalogued import (see :func:`possible`)."""
    return frozenset(("model", *_call_gates(), *_first_parts()))


@cache
def _first_parts() -> frozenset[str]:
    return frozenset(parts[0] for parts in import_names())


@cache
def _asked_words() -> tuple[str, ...]:
    """Every word :func:`possible` asks about, for the file's shared word search, but those of one or two letters:
    "ai", "pd" and "ts" are in nearly every text ("main", "update", "tests"), so the pass's answer settles
    nothing, and finding them was a tenth of the pass. They are asked of the folded text when it comes to that;
    the first parts among them are answered by the import-name pattern (:func:`_short_gate_words`)."""
    words = {*_gate_words(), *_call_words(), *(part for parts in import_names() for part in parts)}
    return tuple(sorted(word for word in words if len(word) > _SHORT))


_SHORT = 2


@cache
def _short_gate_words() -> frozenset[str]:
    """The gate words the pass does not look for: catalogued imports' first parts only (a test checks), which the
    import-name pattern finds where they are written as identifiers."""
    return frozenset(word for word in _gate_words() if len(word) <= _SHORT)


register_folded_later(_asked_words)
# A catalogued import's first part written as an identifier of its own (as ``_IDENTIFIER`` would list it in the
# folded text: after anything but a letter or "_", before anything but a letter, digit or "_"). Substrings are
# not enough: "ts" (TorchServe) and "ray" are in most files ("tests", "array").
register_pattern("python.import-name", r"(?i)(?:^|[^a-z_])(?:"
                 + "|".join(map(re.escape, sorted(_first_parts(), key=lambda w: (-len(w), w)))) + r")(?:[^a-z0-9_]|$)",
                 example="import torch\n", folded=True)


def possible(source: str, gates: Gates | None = None) -> Possible:
    """What the file can yield at most: nothing, only imports (read without the syntax tree, see
    :func:`import_observations`), or anything, which takes the tree.

    Parsing and walking the tree is most of discovery's cost, and most files in a big tree mention no AI
    package. Every observation needs something written in the file: a catalogue import (all its dotted parts,
    the first in an import statement), the parts of a reported call (:func:`_call_needs`), or a keyword or
    constant whose name holds "model" given a string or a name; without the last two only imports can be
    reported. The check works on NFKC-folded lower case, as Python folds identifiers, so it can only let
    extra files through; substring checks come before splitting the text into identifiers, which is the slow
    part. Tests run the full detector on every file this rejects or sends to the import reader and expect
    the same observations. ``gates`` (the file's shared word search) can settle "nothing" without folding.
    """
    found = gates.folded_found() if gates is not None else None
    if found is not None and found[0].isdisjoint(_gate_words()) and (
            gates is None or not _short_gate_words() or not gates.may_match("python.import-name")):
        return "nothing"  # no gate word the pass looks for, nor one of the others as an identifier
    folded_once: list[str] = []

    def fold() -> str:
        """The text as the checks read it; made only when a check needs more than the shared search."""
        if not folded_once:
            folded = nfkc(source).lower()
            if "\r" in folded:  # Python ends a line at "\r\n" and at a lone "\r"; the patterns here know "\n"
                folded = folded.replace("\r\n", "\n").replace("\r", "\n")
            # outside strings only identifiers hold such characters: "x" keeps them one
            folded_once.append(ascii_stand_in(folded))
        return folded_once[0]

    if found is None:
        contains = fold().__contains__
    else:
        present, registered = found

        def contains(word: str) -> bool:
            return word in present if word in registered else word in fold()

    if contains("model") and _binds_model(fold(), source if source.isascii() and "\r" not in source else None):
        return "anything"
    known: dict[str, bool] = {}

    def named(word: str) -> bool:
        answer = known.get(word)
        if answer is None:
            answer = known[word] = contains(word) and _names(fold(), word)
        return answer

    if _some_call_written(contains) and any(
            any(map(named, first)) and all(map(named, rest)) and _shaped_in_code(shape, fold())
            for (first, rest), shape in _shaped_needs()):
        return "anything"
    if not any(map(contains, _first_parts())) if gates is None else not gates.may_match("python.import-name"):
        return "nothing"
    # the lines of the keyword, folded on their own: an import statement says "import" in ASCII (Python has no
    # other spelling of a keyword), and folding the whole text for them was most of the time spent on files that
    # name a package but do not import it ("torch" in a comment); the module names on them fold as Python folds
    lines = _import_lines(fold() if folded_once or "\r" in source else source)
    imported = set(_IDENTIFIER.findall(ascii_stand_in(nfkc(" ".join(lines)).lower())))
    # the first part is in an import statement already; only ``azure.ai.inference`` and the like need more
    if any(parts[0] in imported and all(map(named, parts[1:])) for parts in import_names()):
        return "imports"
    return "nothing"


_HEAD = frozenset("abcdefghijklmnopqrstuvwxyz_")
_TAIL = _HEAD | frozenset("0123456789")


def _names(folded: str, word: str) -> bool:
    """Whether ``word`` is written as an identifier of its own: True wherever ``_IDENTIFIER.findall`` would
    list it (and in a few more places, such as after a digit), without splitting the whole text."""
    at = folded.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or folded[at - 1] not in _HEAD) and (end == len(folded) or folded[end] not in _TAIL):
            return True
        at = folded.find(word, at + 1)
    return False


def _import_lines(text: str) -> list[str]:
    """Every line holding "import", with backslash continuations joined: an import's first dotted part is
    written on the line of its ``import`` keyword (``from x import (`` included), so "together" in a docstring
    is not `import together`."""
    if "\\\n" in text:
        text = text.replace("\\\n", " ")
    lines: list[str] = []
    at = text.find("import")
    while at >= 0:
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        lines.append(text[text.rfind("\n", 0, at) + 1:end])
        at = text.find("import", end)
    return lines


def _is_local_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or "\\" in value or value.count("/") > 1


def _wants(rel: str) -> bool:
    return suffix(rel).lower() in (".py", ".pyw")


def _detect(file: SourceFile) -> list[Observation]:
    if file.text is None:
        return []
    reach = possible(file.text, file.gates)
    if reach == "nothing":
        return []
    if reach == "imports":
        return import_observations(file.text, file.rel)
    return python_observations(file.text, file.rel)


def with_evidence_prefix(observations: list[Observation], prefix: str) -> list[Observation]:
    return [replace(obs, evidence=prefix + obs.evidence) for obs in observations]


PYTHON_CODE = FunctionDetector(
    id=DETECTOR_ID,
    description="Python source (AST): AI SDK imports, model and dataset IDs, risky model loading",
    wants_fn=_wants,
    detect_fn=_detect,
    names=NameFilter.of(".py", ".pyw"),
)

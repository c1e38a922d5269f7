"""Which callables a pickle may import: a default-deny policy with an allowlist, a denylist and user extensions.

``classify(module, name)`` answers ``"safe"`` (allowlisted), ``"dangerous"`` (denylisted: the file is
malicious) or ``"unknown"`` (reported as suspicious). The built-in rules live in ``data/pickle_policy.yaml``
(its header explains the choices); a user policy file in the same format extends them::

    allow:
      mycompany.models.*: "*"          # a package and its submodules, every class name
      mycompany.utils: {names: "*", functions: true}   # every (non-risky) name, functions included
      mycompany.features: [Scaler]     # exact names in one module
      mycompany.build: ["*", make_model]               # every class name plus one function
    deny:
      numpy: [fromfile]

Rule precedence: the most specific rule wins (exact name > whole module > ``pkg.*`` prefix, longer first); at
equal specificity the user's rule beats the built-in one and deny beats allow. A wildcard *allow* never covers
dotted names (attribute walks), dunder names or names that are dangerous anywhere (``system``, ``eval``,
``load``, ``ZipFile``...); a wildcard allow -- built-in or the user's -- covers class names only
(``StandardScaler``, ``_BinMapper``, Cython's ``__pyx_unpickle_<Class>``): functions such as
``sklearn.tree.export_graphviz`` (a file writer) need an exact entry, and ``["*", func]`` gives both in one
entry. A user rule opts its wildcard into functions explicitly with ``{names: "*", functions: true}``.
A dotted name that walks into a denied module (``sklearn.base`` + ``os.system``) or through a
dunder attribute is dangerous whatever the allowlist says. Python 2 module names are judged under their
Python 3 names as well, and the worse answer counts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from clearsight.core.errors import InputError

__all__ = ["DEFAULT_POLICY_NAME", "RulePolicy", "default_policy", "load_policy"]

Action = Literal["allow", "deny"]
Verdict = Literal["safe", "dangerous", "unknown"]

DEFAULT_POLICY_NAME: Final = "default"
_DATA: Final = "pickle_policy.yaml"

_MODULE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\.\*)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")

# Names a wildcard allow never covers: they are dangerous whichever module re-exports them.
_RISKY_NAMES: Final = frozenset(
    {
        "system",
        "popen",
        "spawn",
        "spawnl",
        "spawnv",
        "spawnve",
        "execl",
        "execle",
        "execlp",
        "execv",
        "execve",
        "execvp",
        "fork",
        "forkpty",
        "kill",
        "killpg",
        "Popen",
        "run",
        "call",
        "check_call",
        "check_output",
        "getoutput",
        "getstatusoutput",
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "import_module",
        "reload",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "load",
        "loads",
        "load_module",
        "exec_module",
        "run_path",
        "run_module",
        "remove",
        "unlink",
        "rmtree",
        "rmdir",
        "makedirs",
        "mkdir",
        "rename",
        "replace",
        "chmod",
        "chown",
        "putenv",
        "environ",
        "urlopen",
        "urlretrieve",
        "attrgetter",
        "itemgetter",
        "methodcaller",
        "start_new_thread",
        "create_connection",
        "socket",
        # classes that open, create or truncate files, or run code, when constructed or called (a module
        # under a wildcard may re-export them: `from zipfile import ZipFile`)
        "ZipFile",
        "PyZipFile",
        "TarFile",
        "FileIO",
        "BufferedWriter",
        "BufferedRandom",
        "TextIOWrapper",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
        "TemporaryDirectory",
        "Thread",
        "Timer",
        "Process",
        "Pool",
        "ThreadPool",
        "ThreadPoolExecutor",
        "ProcessPoolExecutor",
        "HDFStore",
        "ExcelWriter",
        "Memory",
        "Parallel",
    }
)

_RANK: Final = {"safe": 0, "unknown": 1, "dangerous": 2}


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    module: str  # without the trailing ".*"
    prefix: bool  # "module.*": the module and every submodule
    names: frozenset[str] | None  # None: every name ("*")
    user: bool  # from the user's policy file (beats a built-in rule of equal specificity)
    origin: str  # "file:line", for explanations
    functions: bool = False  # a wildcard allow also covers function names (explicit `functions: true` only)


class RulePolicy:
    """A policy built from allow/deny rules; satisfies :class:`~clearsight.controls.artifacts.interface.Policy`."""

    def __init__(self, name: str, rules: list[Rule]) -> None:
        self.name = name
        self.rules = tuple(rules)
        self._exact: dict[tuple[str, str], list[Rule]] = {}
        self._module: dict[str, list[Rule]] = {}
        self._prefix: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.names is None:
                (self._prefix if rule.prefix else self._module).setdefault(rule.module, []).append(rule)
            elif rule.prefix:
                for n in rule.names:  # "pkg.*: [Name]": that name in pkg and every submodule
                    self._prefix.setdefault(rule.module, []).append(
                        Rule(rule.action, rule.module, True, frozenset({n}), rule.user, rule.origin, rule.functions)
                    )
            else:
                for n in rule.names:
                    self._exact.setdefault((rule.module, n), []).append(rule)
        self._cache: dict[tuple[str, str], Verdict] = {}
        self._exact_modules = frozenset(m for m, _ in self._exact)
        self._depth = max((r.module.count(".") + 1 for r in rules), default=1)

    def __repr__(self) -> str:
        return f"RulePolicy({self.name!r}, {len(self.rules)} rules)"

    # ------------------------------------------------------------------ public

    def classify(self, module: str, name: str) -> str:
        key = (module, name)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._classify(module, name)
            if len(self._cache) < 100_000:
                self._cache[key] = verdict
        return verdict

    def explain(self, module: str, name: str) -> str:
        """Why ``classify`` answers what it does, in one sentence (for finding details)."""
        verdict = self.classify(module, name)
        rule = self._decide(module, name)
        mapped = _py3_name(module, name)
        if rule is None and mapped != (module, name):
            rule = self._decide(*mapped)
        if verdict == "dangerous" and (rule is None or rule.action != "deny"):
            return f"{module}.{name} walks into a denied module or through a dunder attribute"
        if rule is None:
            return f"{module}.{name} is on neither list of policy '{self.name}'"
        shown_name = name if rule.names is not None and name in rule.names else mapped[1]
        names = '"*"' if rule.names is None else f"[{shown_name}]"
        pattern = f"{rule.module}{'.*' if rule.prefix else ''}: {names}"
        return f"{'denied' if rule.action == 'deny' else 'allowed'} by `{pattern}` ({rule.origin})"

    # ------------------------------------------------------------------ internals

    def _classify(self, module: str, name: str) -> Verdict:
        verdict = self._one(module, name)
        mapped = _py3_name(module, name)
        if mapped != (module, name):
            other = self._one(*mapped)
            if "dangerous" in (verdict, other):
                return "dangerous"
            if other == "safe":
                return "safe"  # a Python 2 alias of an allowed Python 3 name
        return verdict

    def _one(self, module: str, name: str) -> Verdict:
        rule = self._decide(module, name)
        if rule is not None and rule.action == "deny":
            return "dangerous"
        if "." in name and self._walks_into_danger(module, name):
            return "dangerous"
        if rule is not None:
            return "safe"
        return "unknown"

    def _walks_into_danger(self, module: str, name: str) -> bool:
        parts = name.split(".")
        if any(p.startswith("__") and p.endswith("__") for p in parts):
            return True
        # `somemodule` + `os.system`: a module that imported os exposes it as an attribute; `sklearn` +
        # `tree.export_graphviz` or `numpy` + `ndarray.tofile`: the walk reaches a denied name of the module's
        # own package. Module spans are bounded by the deepest rule, so a long walk costs linear time.
        depth = self._depth + 1
        for cut in range(1, min(len(parts), depth + 1)):
            if self._denies(f"{module}.{'.'.join(parts[:cut])}", parts, cut):
                return True
        for start in range(len(parts) - 1):
            for cut in range(start + 1, min(len(parts), start + depth + 1)):
                if self._denies(".".join(parts[start:cut]), parts, cut):
                    return True
        return False

    def _denies(self, module: str, parts: list[str], cut: int) -> bool:
        """Whether ``module`` + ``parts[cut:]`` (an attribute walk) hits a deny rule."""
        if cut == len(parts) - 1:
            name = parts[-1]
        elif module in self._exact_modules:
            name = ".".join(parts[cut:])
        else:
            name = "<walk>.<walk>"  # any dotted name: only module-wide and prefix rules can apply
        rule = self._decide(module, name)
        return rule is not None and rule.action == "deny"

    def _decide(self, module: str, name: str) -> Rule | None:
        """The rule that decides (module, name), or None when no rule applies."""
        rules = self._exact.get((module, name))
        if rules:
            return _pick(rules)
        wildcard_ok = (
            "." not in name and not (name.startswith("__") and name.endswith("__")) and name not in _RISKY_NAMES
        )
        # A wildcard allow covers classes only: functions (writers such as export_graphviz, print, ...) need an
        # exact entry, unless a user rule opted in with `functions: true` (then every non-risky name).
        class_ok = wildcard_ok and _class_like(name)

        def covers(r: Rule) -> bool:
            return r.action == "deny" or (wildcard_ok if r.functions else class_ok)

        rules = self._module.get(module)
        if rules:
            usable = [r for r in rules if covers(r)]
            if usable:
                return _pick(usable)
        if self._prefix:
            current = module
            while True:
                rules = self._prefix.get(current)
                if rules:
                    usable = [
                        r for r in rules if (r.names is None or name in r.names) and (r.names is not None or covers(r))
                    ]
                    if usable:
                        return _pick(usable)
                cut = current.rfind(".")
                if cut < 0:
                    break
                current = current[:cut]
        return None


_PYX_UNPICKLE: Final = "__pyx_unpickle_"


def _class_like(name: str) -> bool:
    """A class name (``StandardScaler``, ``_BinMapper``) or Cython's per-class ``__pyx_unpickle_<Class>``."""
    if name.startswith(_PYX_UNPICKLE):
        name = name[len(_PYX_UNPICKLE) :]
    bare = name.lstrip("_")
    return bool(bare) and bare[0].isupper()


def _pick(rules: list[Rule]) -> Rule:
    """Equal specificity: the user's rules beat built-in ones; deny beats allow."""
    best = max(rules, key=lambda r: (r.user, r.action == "deny"))
    return best


@lru_cache(maxsize=4096)
def _py3_name(module: str, name: str) -> tuple[str, str]:
    """The name a Python 3 unpickler loads for a Python 2 (protocol < 3) module/name pair."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        mapped: tuple[str, str] = _compat_pickle.NAME_MAPPING[(module, name)]
        return mapped
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


# ---------------------------------------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def _untagged_loader() -> Any:
    """PyYAML's safe loader without implicit tags: rules are read from the nodes' text alone, and resolving a
    tag for every scalar (a regular expression each, in Python) took a third of the default policy's load,
    which every model scan pays at start-up."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    tags: dict[type, str] = {yaml.ScalarNode: base.DEFAULT_SCALAR_TAG, yaml.SequenceNode: base.DEFAULT_SEQUENCE_TAG,
                             yaml.MappingNode: base.DEFAULT_MAPPING_TAG}

    class Untagged(base):  # type: ignore[misc]
        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            return tags[kind]

    return Untagged


def _parse_rules(text: str, shown: str, *, user: bool) -> list[Rule]:
    """Rules from a policy file's text; InputError with file and line for anything malformed."""
    import yaml

    try:
        root = yaml.compose(text, Loader=_untagged_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"not valid YAML: {problem}", path=shown, line=line) from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            "a policy file must be a mapping with `allow:` and/or `deny:`", path=shown, line=root.start_mark.line + 1
        )
    rules: list[Rule] = []
    seen_sections: set[str] = set()
    for key, value in root.value:
        section = str(key.value)
        line = key.start_mark.line + 1
        if section in ("description", "name", "version"):
            continue
        if section not in ("allow", "deny"):
            raise InputError(f"unknown key '{section}' (expected `allow` or `deny`)", path=shown, line=line)
        if section in seen_sections:
            raise InputError(f"`{section}` appears twice", path=shown, line=line)
        seen_sections.add(section)
        if isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
            continue
        if not isinstance(value, yaml.MappingNode):
            raise InputError(
                f'`{section}` must map modules to a list of names or "*"',
                path=shown,
                line=value.start_mark.line + 1,
                field=section,
            )
        seen_modules: set[str] = set()
        for mkey, names_node in value.value:
            module = str(mkey.value)
            mline = mkey.start_mark.line + 1
            if not isinstance(mkey, yaml.ScalarNode) or not _MODULE_KEY.match(module):
                raise InputError(
                    f"'{module}' is not a module name (use `pkg.mod`, or `pkg.*` for a package and its submodules)",
                    path=shown,
                    line=mline,
                    field=section,
                )
            if module in seen_modules:
                raise InputError(f"module '{module}' appears twice", path=shown, line=mline, field=section)
            seen_modules.add(module)
            wildcard, names, functions = _entry(names_node, shown, f"{section}.{module}", section)
            prefix = module.endswith(".*")
            for chosen in ([None] if wildcard else []) + ([names] if names else []):
                rules.append(
                    Rule(
                        "allow" if section == "allow" else "deny",
                        module[:-2] if prefix else module,
                        prefix,
                        chosen,
                        user,
                        f"{shown}:{mline}",
                        functions and chosen is None,
                    )
                )
    return rules


def _entry(node: Any, shown: str, field: str, section: str) -> tuple[bool, frozenset[str] | None, bool]:
    """(wildcard, exact names, functions) of one module's entry: a names value, or the mapping form
    ``{names: <names value>, functions: true}`` that lets the wildcard cover functions too (allow only)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return (*_names(node, shown, field), False)
    line = node.start_mark.line + 1
    names_node = None
    functions = False
    for key, value in node.value:
        k = str(key.value)
        kline = key.start_mark.line + 1
        if k == "names":
            names_node = value
        elif k == "functions":
            if not isinstance(value, yaml.ScalarNode) or value.value not in ("true", "false", "True", "False"):
                raise InputError("`functions` must be true or false", path=shown, line=kline, field=field)
            functions = value.value in ("true", "True")
        else:
            raise InputError(
                f"unknown key '{k}' (expected `names` and optionally `functions`)", path=shown, line=kline, field=field
            )
    if names_node is None:
        raise InputError('the mapping form needs `names:` (a list of names or "*")', path=shown, line=line, field=field)
    wildcard, names = _names(names_node, shown, field)
    if functions and (section != "allow" or not wildcard):
        raise InputError(
            '`functions: true` only applies to an allow entry whose names include "*"',
            path=shown,
            line=line,
            field=field,
        )
    return wildcard, names, functions


def _names(node: Any, shown: str, field: str) -> tuple[bool, frozenset[str] | None]:
    """(whether "*" is given, the exact names given); `["*", f, g]` is the wildcard plus exact names."""
    import yaml

    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        if node.value == "*":
            return True, None
        raise InputError(f"expected a list of names or \"*\", found '{node.value}'", path=shown, line=line, field=field)
    if not isinstance(node, yaml.SequenceNode):
        raise InputError('expected a list of names or "*"', path=shown, line=line, field=field)
    names: set[str] = set()
    wildcard = False
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode):
            raise InputError("each name must be a plain string", path=shown, line=item.start_mark.line + 1, field=field)
        value = str(item.value)
        if value == "*":
            wildcard = True
            continue
        if not _NAME.match(value):
            raise InputError(f"'{value}' is not a Python name", path=shown, line=item.start_mark.line + 1, field=field)
        names.add(value)
    if not names and not wildcard:
        raise InputError("the list of names is empty", path=shown, line=line, field=field)
    return wildcard, frozenset(names) if names else None


@lru_cache(maxsize=1)
def _default_rules() -> tuple[Rule, ...]:
    text = resources.files("clearsight.controls.artifacts").joinpath("data", _DATA).read_text(encoding="utf-8")
    return tuple(_parse_rules(text, f"<built-in {_DATA}>", user=False))


def default_policy() -> RulePolicy:
    """The built-in policy (named ``"default"``)."""
    return RulePolicy(DEFAULT_POLICY_NAME, list(_default_rules()))


def load_policy(path: str | os.PathLike[str] | None) -> RulePolicy:
    """The default policy extended by the user's policy file at ``path`` (None: the default policy alone).

    The returned policy's ``name`` is the path as given. Raises :class:`InputError` (with file and line) for a
    missing, unreadable or malformed file.

    Wildcards in the user's file follow the same rule as the built-in ones: ``module: "*"`` allows the names
    that look like classes only (``Net``, ``_Scaler``), never functions -- a pickle calls what it imports
    with arguments of its choosing, and ``builtins: "*"`` must not make ``print`` or a file writer safe. To
    allow functions, opt in explicitly: list them (``module: ["*", build_model]`` -- every class plus
    ``build_model``) or write ``module: {names: "*", functions: true}`` for every non-risky name. Risky names
    (``system``, ``eval``, ``load``, ...), dotted and dunder names still need an exact entry either way.
    """
    if path is None:
        return default_policy()
    shown = os.fspath(path)
    try:
        text = Path(shown).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("policy file not found", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the policy file ({exc})", path=shown) from None
    user_rules = _parse_rules(text, shown, user=True)
    return RulePolicy(shown, [*_default_rules(), *user_rules])

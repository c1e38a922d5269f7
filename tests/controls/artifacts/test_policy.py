"""The default-deny import policy and user policy files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.controls.artifacts.interface import Policy
from clearsight.controls.artifacts.policy import default_policy, load_policy
from clearsight.core.errors import InputError

SAFE = [
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "FloatStorage"),
    ("torch", "bfloat16"),
    ("torch.storage", "UntypedStorage"),
    ("torch.nn.modules.linear", "Linear"),
    ("collections", "OrderedDict"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("__builtin__", "set"),  # protocol 0-2 spelling of builtins
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("datetime", "datetime"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.tree._tree", "Tree"),
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.pipeline", "Pipeline"),
    ("xgboost.sklearn", "XGBClassifier"),
    ("xgboost.core", "Booster"),
    ("lightgbm.sklearn", "LGBMClassifier"),
    ("catboost.core", "CatBoostClassifier"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("pandas.core.frame", "DataFrame"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("types", "SimpleNamespace"),
    ("torch.serialization", "_get_layout"),
]

DANGEROUS = [
    ("os", "system"),
    ("posix", "system"),
    ("nt", "system"),
    ("os.path", "join"),
    ("subprocess", "Popen"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "compile"),
    ("builtins", "getattr"),
    ("builtins", "setattr"),
    ("builtins", "delattr"),
    ("builtins", "open"),
    ("builtins", "__import__"),
    ("builtins", "input"),
    ("builtins", "breakpoint"),
    ("builtins", "globals"),
    ("builtins", "vars"),
    ("__builtin__", "eval"),
    ("__builtin__", "getattr"),
    ("runpy", "run_path"),
    ("importlib", "import_module"),
    ("importlib.machinery", "SourceFileLoader"),
    ("pip._internal", "main"),
    ("webbrowser", "open"),
    ("socket", "create_connection"),
    ("ctypes", "CDLL"),
    ("marshal", "loads"),
    ("types", "CodeType"),
    ("types", "FunctionType"),
    ("types", "MethodType"),
    ("pty", "spawn"),
    ("shutil", "rmtree"),
    ("sys", "modules"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("operator", "itemgetter"),
    ("_operator", "attrgetter"),
    ("code", "InteractiveInterpreter"),
    ("codeop", "compile_command"),
    ("pickle", "loads"),
    ("_pickle", "loads"),
    ("cPickle", "loads"),
    ("dill", "loads"),
    ("cloudpickle", "loads"),
    ("torch", "load"),
    ("torch.serialization", "load"),
    ("torch.storage", "_load_from_bytes"),
    ("numpy", "load"),
    ("numpy.lib.npyio", "load"),
    ("asyncio.subprocess", "create_subprocess_shell"),
    ("multiprocessing.util", "spawnv_passfds"),
    ("signal", "signal"),
    ("threading", "Thread"),
    ("sklearn.utils._testing", "assert_run_python_script_without_output"),
    ("joblib", "load"),
    ("yaml", "unsafe_load"),
    ("timeit", "timeit"),
]

UNKNOWN = [
    ("__main__", "MyModel"),
    ("functools", "partial"),  # judged by what it wraps
    ("functools", "reduce"),
    ("operator", "add"),
    ("builtins", "type"),
    ("builtins", "print"),
    ("sklearn.utils.validation", "check_array"),  # sklearn.utils is not an estimator package
    ("sklearn.datasets._base", "load_iris"),
    ("somepackage", "something"),
]


@pytest.mark.parametrize(("module", "name"), SAFE)
def test_allowlisted(module: str, name: str) -> None:
    assert default_policy().classify(module, name) == "safe"


@pytest.mark.parametrize(("module", "name"), DANGEROUS)
def test_denylisted(module: str, name: str) -> None:
    assert default_policy().classify(module, name) == "dangerous"


@pytest.mark.parametrize(("module", "name"), UNKNOWN)
def test_unknown(module: str, name: str) -> None:
    assert default_policy().classify(module, name) == "unknown"


def test_policy_protocol_and_name() -> None:
    policy: Policy = default_policy()
    assert policy.name == "default"
    assert load_policy(None).name == "default"


@pytest.mark.parametrize(
    ("module", "name", "verdict"),
    [
        ("sklearn.base", "os.system", "dangerous"),  # attribute walk into an imported module
        ("sklearn.base", "BaseEstimator.__init__.__globals__", "dangerous"),
        ("collections", "OrderedDict.__class__", "dangerous"),
        ("sklearn.linear_model", "LogisticRegression.fit", "unknown"),  # wildcards never cover dotted names
        ("sklearn.preprocessing._data", "load", "unknown"),  # nor names dangerous anywhere
        ("sklearn.preprocessing._data", "__builtins__", "unknown"),
        ("sklearn.preprocessing._data", "StandardScaler", "safe"),
        ("numpy.random._pickle", "__randomstate_ctor", "safe"),  # leading underscores alone are not a dunder
    ],
)
def test_dotted_dunder_and_risky_names(module: str, name: str, verdict: str) -> None:
    assert default_policy().classify(module, name) == verdict


def test_explain_names_the_deciding_rule() -> None:
    policy = default_policy()
    assert "posix" in policy.explain("posix", "system") and "denied" in policy.explain("posix", "system")
    assert "allowed" in policy.explain("torch._utils", "_rebuild_tensor_v2")
    assert "neither" in policy.explain("__main__", "Foo")
    assert "dunder" in policy.explain("sklearn.base", "os.system")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_policy_extends_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        allow:
          mycorp.models.*: "*"
          mycorp.features: [Scaler, Encoder]
          functools: [partial]
        deny:
          collections: [Counter]
          numpy: "*"
        """.replace("\n        ", "\n"),
    )
    policy = load_policy(path)
    assert policy.name == str(path)
    assert policy.classify("mycorp.models.net", "Net") == "safe"
    assert policy.classify("mycorp.models", "Net") == "safe"
    assert policy.classify("mycorp.features", "Scaler") == "safe"
    assert policy.classify("mycorp.features", "Other") == "unknown"
    assert policy.classify("functools", "partial") == "safe"
    assert policy.classify("collections", "Counter") == "dangerous"
    assert policy.classify("collections", "OrderedDict") == "safe"
    assert policy.classify("posix", "system") == "dangerous"  # the default still applies
    # A module-wide user deny does not beat the default's exact allow (more specific), but covers the rest.
    assert policy.classify("numpy", "ndarray") == "safe"
    assert policy.classify("numpy", "anything") == "dangerous"
    assert policy.classify("mycorp.models", "os.system") == "dangerous"


def test_user_wildcards_do_not_unlock_default_denies(tmp_path: Path) -> None:
    # Functions under a user wildcard need the explicit opt-in (`functions: true`); see
    # test_user_wildcards_are_class_only_without_opt_in for the plain "*".
    policy = load_policy(
        write(tmp_path, 'allow:\n  builtins: {names: "*", functions: true}\n  os.*: {names: "*", functions: true}\n')
    )
    assert policy.classify("builtins", "print") == "safe"
    assert policy.classify("builtins", "eval") == "dangerous"
    assert policy.classify("os", "system") == "dangerous"
    assert policy.classify("os", "getcwd") == "safe"  # same `os.*` rule in both: the user wins, for safe names


def test_user_wildcards_are_class_only_without_opt_in(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, 'allow:\n  builtins: "*"\n  mycorp.*: "*"\n'))
    assert policy.classify("builtins", "print") == "unknown"  # a function: not covered by a plain wildcard
    assert policy.classify("builtins", "eval") == "dangerous"
    assert policy.classify("mycorp.nets", "Net") == "safe"
    assert policy.classify("mycorp.nets", "build_model") == "unknown"
    listed = load_policy(write(tmp_path, 'allow:\n  builtins: ["*", print]\n'))
    assert listed.classify("builtins", "print") == "safe"
    assert listed.classify("builtins", "len") == "unknown"
    opted = load_policy(write(tmp_path, 'allow:\n  mycorp.*: {names: "*", functions: true}\n'))
    assert opted.classify("mycorp.nets", "build_model") == "safe"
    assert opted.classify("mycorp.nets", "system") == "unknown"  # risky names still need an exact entry
    assert "functions: true" in (load_policy.__doc__ or "")


@pytest.mark.parametrize(
    "text",
    [
        'deny:\n  mod: {names: "*", functions: true}\n',
        "allow:\n  mod: {names: [f], functions: true}\n",
        'allow:\n  mod: {names: "*", functions: maybe}\n',
        'allow:\n  mod: {names: "*", other: 1}\n',
        "allow:\n  mod: {functions: true}\n",
    ],
)
def test_bad_functions_opt_in_raises_input_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError):
        load_policy(write(tmp_path, text))


def test_an_exact_user_allow_overrides_an_exact_default_deny(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "allow:\n  torch.storage: [_load_from_bytes]\n"))
    assert policy.classify("torch.storage", "_load_from_bytes") == "safe"
    assert default_policy().classify("torch.storage", "_load_from_bytes") == "dangerous"


def test_empty_user_policy_is_the_default(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "# nothing\n"))
    assert policy.classify("posix", "system") == "dangerous"
    assert policy.classify("__main__", "X") == "unknown"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("allow: [a, b\n", 2, "YAML"),
        ("- allow\n", 1, "mapping"),
        ("allow:\n  os: [system]\npermit:\n  x: '*'\n", 3, "unknown key"),
        ("allow: 3\n", 1, "must map"),
        ("allow:\n  os/path: [join]\n", 2, "module name"),
        ("allow:\n  os.*.x: [join]\n", 2, "module name"),
        ("allow:\n  mod: 3\n", 2, "list of names"),
        ("allow:\n  mod: [ok, 'not a name']\n", 2, "Python name"),
        ("allow:\n  mod: []\n", 2, "empty"),
        ("allow:\n  mod: [a]\n  mod: [b]\n", 3, "twice"),
        ("allow:\n  mod: [{a: 1}]\n", 2, "plain string"),
        ("allow: {}\nallow: {}\n", 2, "twice"),
    ],
)
def test_bad_policy_files_raise_input_error_with_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_policy(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line
    assert words in error.diagnostic()


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_policy(tmp_path / "nope.yaml")


# ---- regression: wildcard allows cover classes only; file writers are denied


@pytest.mark.parametrize(
    ("module", "name", "verdict"),
    [
        # (sklearn.tree.export_graphviz, (fitted_tree, "/home/victim/.ssh/authorized_keys")) truncates the file
        ("sklearn.tree", "export_graphviz", "dangerous"),
        ("sklearn.tree._export", "export_graphviz", "dangerous"),
        ("sklearn", "tree.export_graphviz", "dangerous"),  # attribute walk from the package
        ("sklearn.datasets._svmlight_format_io", "dump_svmlight_file", "dangerous"),
        ("scipy.sparse", "save_npz", "dangerous"),
        ("scipy.sparse._matrix_io", "save_npz", "dangerous"),
        ("scipy.io", "savemat", "dangerous"),
        ("numpy", "save", "dangerous"),
        ("numpy", "savez", "dangerous"),
        ("numpy", "savetxt", "dangerous"),
        ("numpy", "memmap", "dangerous"),
        ("numpy", "ndarray.tofile", "dangerous"),
        ("numpy.core.multiarray", "tofile", "dangerous"),
        ("pandas.core.frame", "DataFrame.to_csv", "dangerous"),
        ("pandas.core.generic", "NDFrame.to_pickle", "dangerous"),
        ("joblib", "dump", "dangerous"),
        ("joblib.numpy_pickle", "dump", "dangerous"),
        ("torch", "save", "dangerous"),
        ("torch.serialization", "save", "dangerous"),
        # functions under a wildcard are no longer covered: unknown (suspicious), not safe
        ("sklearn.tree._export", "export_text", "unknown"),  # returns text, writes nothing: not denied
        ("sklearn.tree", "plot_tree", "unknown"),
        ("sklearn.preprocessing._data", "scale", "unknown"),
        ("torch.nn.modules.module", "_addindent", "unknown"),
        ("scipy.sparse", "random", "unknown"),
        # classes under a wildcard, and functions listed by exact name, stay allowed
        ("sklearn.tree._classes", "DecisionTreeClassifier", "safe"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper", "safe"),
        ("sklearn._loss._loss", "__pyx_unpickle_CyHalfSquaredError", "safe"),
        ("sklearn.neighbors._kd_tree", "newObj", "safe"),
        ("sklearn.metrics._dist_metrics", "newObj", "safe"),
        ("sklearn.metrics._classification", "accuracy_score", "safe"),
        ("scipy.sparse._csr", "csr_matrix", "safe"),
        ("scipy.sparse._coo", "coo_array", "safe"),
        ("numpy.random._pickle", "__generator_ctor", "safe"),
        ("torch.nn.modules.linear", "Linear", "safe"),
        ("torch.optim.adam", "Adam", "safe"),
    ],
)
def test_wildcard_allows_cover_classes_only(module: str, name: str, verdict: str) -> None:
    assert default_policy().classify(module, name) == verdict, default_policy().explain(module, name)


def test_wildcard_plus_exact_names_in_one_entry(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, 'allow:\n  mycorp.*: ["*", build_model]\n'))
    assert policy.classify("mycorp.nets", "Net") == "safe"
    assert policy.classify("mycorp.nets", "build_model") == "safe"
    assert policy.classify("mycorp.nets", "system") == "unknown"  # risky names still need an exact entry
    with pytest.raises(InputError):
        load_policy(write(tmp_path, "allow:\n  mycorp: []\n"))


def test_builtin_wildcards_are_documented_as_class_only() -> None:
    from importlib import resources

    text = resources.files("clearsight.controls.artifacts").joinpath("data", "pickle_policy.yaml").read_text()
    assert "WILDCARD ALLOWS COVER CLASSES ONLY" in text
    assert "functions: true" in text


def test_long_attribute_walks_are_judged() -> None:
    policy = default_policy()
    assert policy.classify("posixpath", "path." + "os.path." * 5000 + "os.system") == "dangerous"
    assert policy.classify("collections", "a." * 30000 + "b") == "unknown"


@pytest.mark.parametrize("name", ["ZipFile", "TemporaryDirectory", "Thread", "Process", "Parallel", "Memory"])
def test_wildcards_do_not_cover_reexported_file_or_process_classes(name: str) -> None:
    assert default_policy().classify("sklearn.ensemble._forest", name) == "unknown"

from __future__ import annotations

from pathlib import Path

from clearsight.discover.detectors.manifests import MANIFEST_DETECTORS, parse_requirement
from clearsight.discover.interface import Observation, SourceFile


def scan(tmp_path: Path, rel: str, content: str) -> list[Observation]:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    file = SourceFile(path=path, rel=rel, root=tmp_path, size=len(content), text=content)
    found: list[Observation] = []
    wanted = [d for d in MANIFEST_DETECTORS if d.wants(rel)]
    assert wanted, f"no detector wants {rel}"
    for detector in wanted:
        observations = detector.detect(file)
        assert all(o.detector == detector.id for o in observations)
        found += observations
    return found


def by_name(found: list[Observation]) -> dict[str, Observation]:
    return {o.name: o for o in found}


def test_detectors_have_ids_and_descriptions() -> None:
    ids = [d.id for d in MANIFEST_DETECTORS]
    assert len(ids) == len(set(ids))
    assert all(d.id.startswith("manifest.") and d.description for d in MANIFEST_DETECTORS)


def test_parse_requirement() -> None:
    assert parse_requirement("openai==1.30.0") == ("openai", "1.30.0", "==1.30.0")
    assert parse_requirement("ray[serve]>=2.9 ; python_version >= '3.10'") == ("ray", None, ">=2.9")
    assert parse_requirement("-r base.txt") is None
    assert parse_requirement("torch @ https://download.pytorch.org/x.whl") == ("torch", None, "@ URL")


def test_requirements(tmp_path: Path) -> None:
    text = (
        "# AI deps\n"                                  # 1
        "-r base.txt\n"                                # 2
        "--index-url https://pypi.example/simple\n"    # 3
        "openai==1.30.0  # pinned\n"                   # 4
        "langchain-openai>=0.1\n"                      # 5
        "ray[serve]==2.9.0; python_version>='3.10'\n"  # 6
        "requests==2.31\n"                             # 7
        "torch \\\n"                                   # 8
        "    ==2.3.0\n"                                # 9
        "# anthropic==0.1\n"                           # 10
    )
    found = by_name(scan(tmp_path, "svc/requirements-dev.txt", text))
    assert set(found) == {"openai", "langchain", "ray-serve", "pytorch"}
    assert (found["openai"].kind, found["openai"].version, found["openai"].line) == ("provider", "1.30.0", 4)
    langchain = found["langchain"]
    assert (langchain.kind, langchain.version, langchain.line) == ("agent_framework", None, 5)
    assert (found["ray-serve"].kind, found["ray-serve"].version, found["ray-serve"].line) == ("serving", "2.9.0", 6)
    assert (found["pytorch"].version, found["pytorch"].line) == ("2.3.0", 8)
    assert "langchain-openai>=0.1" in found["langchain"].evidence


def test_requirements_in_and_wants() -> None:
    wants = MANIFEST_DETECTORS[0].wants
    assert wants("requirements.in") and wants("requirements/dev.txt") and wants("dev-requirements.txt")
    assert not wants("MANIFEST.in") and not wants("notes.txt")


def test_pyproject_pep621_and_poetry(tmp_path: Path) -> None:
    text = (
        '[project]\n'                                          # 1
        'name = "openai-demo"\n'                               # 2
        'description = "uses openai"\n'                        # 3
        'dependencies = [\n'                                   # 4
        '  "openai==1.2.0",\n'                                 # 5
        '  "numpy",\n'                                         # 6
        ']\n'                                                  # 7
        '[project.optional-dependencies]\n'                    # 8
        'ml = ["scikit-learn>=1.4", "xgboost==2.0.3"]\n'       # 9
        '[tool.poetry.dependencies]\n'                         # 10
        'python = "^3.11"\n'                                   # 11
        'anthropic = "0.25.0"\n'                               # 12
        'transformers = {version = "^4.40", extras = ["torch"]}\n'  # 13
        '[tool.poetry.group.dev.dependencies]\n'               # 14
        'chromadb = "*"\n'                                     # 15
    )
    found = by_name(scan(tmp_path, "pyproject.toml", text))
    assert set(found) == {"openai", "scikit-learn", "xgboost", "anthropic", "transformers", "chromadb"}
    assert (found["openai"].line, found["openai"].version) == (5, "1.2.0")
    assert (found["scikit-learn"].line, found["scikit-learn"].version) == (9, None)
    assert (found["xgboost"].line, found["xgboost"].version) == (9, "2.0.3")
    assert (found["anthropic"].line, found["anthropic"].version, found["anthropic"].kind) == (12, "0.25.0", "provider")
    assert (found["transformers"].line, found["transformers"].version) == (13, None)
    assert (found["chromadb"].line, found["chromadb"].kind) == (15, "vector_store")


def test_pipfile_setup_cfg_setup_py(tmp_path: Path) -> None:
    pipfile = ('[packages]\nrequests = "*"\nopenai = "==1.3.0"\n\n[dev-packages]\npytest = "*"\n'
               'mlflow = {version = "*"}\n')
    found = by_name(scan(tmp_path, "Pipfile", pipfile))
    assert (found["openai"].line, found["openai"].version) == (3, "1.3.0")
    assert (found["mlflow"].line, found["mlflow"].kind) == (7, "pipeline")

    cfg = "[metadata]\nname = x\n\n[options]\ninstall_requires =\n    requests\n    cohere==5.0.0\n"
    found = by_name(scan(tmp_path, "setup.cfg", cfg))
    assert (found["cohere"].line, found["cohere"].version) == (7, "5.0.0")

    setup = ("from setuptools import setup\nDEPS = ['groq']\nsetup(\n    name='x',\n"
             "    install_requires=[\n        'lightgbm==4.3.0',\n        'requests',\n    ],\n)\n")
    found = by_name(scan(tmp_path, "setup.py", setup))
    assert set(found) == {"lightgbm"}  # only the literal install_requires list, not other variables
    assert (found["lightgbm"].line, found["lightgbm"].version) == (6, "4.3.0")


def test_conda_environment(tmp_path: Path) -> None:
    text = ("name: ml\nchannels: [pytorch, conda-forge]\ndependencies:\n  - python=3.11\n  - pytorch::pytorch=2.2.0\n"
            "  - numpy\n  - pip\n  - pip:\n    - sentence-transformers==2.7.0\n    - peft\n")
    found = by_name(scan(tmp_path, "environment.yml", text))
    assert set(found) == {"pytorch", "sentence-transformers", "peft"}
    assert (found["pytorch"].line, found["pytorch"].version) == (5, "2.2.0")
    assert (found["sentence-transformers"].line, found["sentence-transformers"].version) == (9, "2.7.0")
    assert found["peft"].line == 10


def test_package_json(tmp_path: Path) -> None:
    text = ('{\n  "name": "web",\n  "dependencies": {\n    "openai": "^4.50.0",\n    "react": "18.2.0"\n  },\n'
            '  "devDependencies": {\n    "@anthropic-ai/sdk": "0.20.1"\n  }\n}\n')
    found = by_name(scan(tmp_path, "web/package.json", text))
    assert set(found) == {"openai", "anthropic"}
    assert (found["openai"].line, found["openai"].version) == (4, None)
    assert (found["anthropic"].line, found["anthropic"].version) == (8, "0.20.1")


def test_lock_files_are_medium_confidence(tmp_path: Path) -> None:
    poetry = ('[[package]]\nname = "requests"\nversion = "2.31.0"\n\n[[package]]\nname = "openai"\n'
              'version = "1.30.1"\n')
    (found,) = scan(tmp_path, "poetry.lock", poetry)
    assert (found.name, found.version, found.line, found.confidence) == ("openai", "1.30.1", 6, "medium")

    pipfile_lock = '{\n  "default": {\n    "groq": {\n      "version": "==0.9.0"\n    }\n  },\n  "develop": {}\n}\n'
    (found,) = scan(tmp_path, "Pipfile.lock", pipfile_lock)
    assert (found.name, found.version, found.line, found.confidence) == ("groq", "0.9.0", 3, "medium")

    npm_lock = ('{\n  "lockfileVersion": 3,\n  "packages": {\n    "": {"name": "web"},\n'
                '    "node_modules/openai": {\n      "version": "4.52.0"\n    },\n'
                '    "node_modules/x/node_modules/openai": {"version": "4.52.0"}\n  }\n}\n')
    (found,) = scan(tmp_path, "package-lock.json", npm_lock)
    assert (found.name, found.version, found.line, found.confidence) == ("openai", "4.52.0", 5, "medium")


def test_broken_manifests_return_nothing(tmp_path: Path) -> None:
    assert scan(tmp_path, "pyproject.toml", "[project\n") == []
    assert scan(tmp_path, "package.json", "{not json") == []
    assert scan(tmp_path, "setup.py", "def (:\n") == []
    assert scan(tmp_path, "environment.yml", "a: [\n") == []


def test_blank_lines_before_sections_keep_lines_right_and_scans_linear(tmp_path: Path) -> None:
    # ``^\s*`` over the whole text ran across every following blank line from every line start (quadratic), and
    # reported the first blank line instead of the header's
    blank = "\n" * 100_000
    found = scan(tmp_path, "pyproject.toml", f'{blank}[project]\nname = "x"\n{blank}dependencies = [\n  "openai",\n]\n')
    assert [(o.name, o.line) for o in found] == [("openai", 200_004)]
    lock = f'version = 1\n{blank}[[package]]\nname = "openai"\nversion = "1.0.0"\n'
    assert [(o.name, o.line) for o in scan(tmp_path, "uv.lock", lock)] == [("openai", 100_003)]


def test_entries_get_their_own_lines_in_their_own_sections(tmp_path: Path) -> None:
    """Each entry is searched for ahead of the last one found, within its section (before, from the section's
    start every time: a manifest of 20,000 catalogued entries took minutes, found by a review). A name written
    twice gets each line once, and a name in two sections gets the line in each."""
    conda = "name: x\ndependencies:\n  - openai=1.1\n  - openai=1.10\n  - openai=1.1.5\n"
    assert [o.line for o in scan(tmp_path, "environment.yml", conda)] == [3, 4, 5]
    pyproject = ('[project]\nname = "x"\ndependencies = ["openai>=1", "torch"]\n\n'
                 '[project.optional-dependencies]\ngpu = [\n  "torch==2.2.0",\n]\n')
    assert [(o.name, o.line) for o in scan(tmp_path, "pyproject.toml", pyproject)] == [
        ("openai", 3), ("pytorch", 3), ("pytorch", 7)]
    package = ('{\n  "devDependencies": {\n    "openai": "4.0.0"\n  },\n'
               '  "dependencies": {\n    "openai": "^4.50.0"\n  }\n}\n')
    assert [(o.evidence.split(" in ")[1], o.line) for o in scan(tmp_path, "package.json", package)] == [
        ("package.json dependencies", 6), ("package.json devDependencies", 3)]


def test_an_alias_bomb_of_an_environment_file_is_refused_not_walked(tmp_path: Path) -> None:
    """Found by a review: 42 KB of aliased pip lists made the conda detector build 9 million requirements
    (68 s, 2.9 GB); the YAML reader now refuses aliases that expand a document past its cap."""
    pips = "p: &p [" + ", ".join(["openai"] * 3000) + "]\ne: &e {pip: *p}\ndependencies:\n" + "  - *e\n" * 3000
    assert scan(tmp_path, "environment.yml", pips) == []

from __future__ import annotations

from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.discover.grouping import _unit_by_path, claim, group, is_marker, merge, unit_of, unit_roots
from clearsight.discover.interface import Observation


def ob(rel: str, kind: str = "provider", name: str = "openai", line: int = 1, confidence: str = "high",
       version: str | None = None) -> Observation:
    return Observation(kind=kind, name=name, rel=rel, line=line, detector="test", evidence="e",  # type: ignore[arg-type]
                       confidence=confidence, version=version)  # type: ignore[arg-type]


def test_units_follow_project_markers() -> None:
    rels = ["service/requirements.txt", "service/app/main.py", "bot/pyproject.toml", "bot/src/bot.py",
            "notebooks/explore.ipynb", "README.md", "requirements-dev.txt"]
    units = unit_roots(rels)
    assert units == {"service", "bot", "."}
    assert unit_of("service/app/main.py", units) == "service"
    assert unit_of("bot/src/bot.py", units) == "bot"
    assert unit_of("notebooks/explore.ipynb", units) == "notebooks"  # no marker: its top-level folder
    assert unit_of("train.py", units) == "."


_PATHS = st.lists(st.sampled_from(["a", "b", "a/b", "", ".", "..", "setup.py", "x.py", "requirements.txt"]),
                  min_size=1, max_size=5).map("/".join)


@settings(max_examples=400, deadline=None)
@given(_PATHS, st.sets(_PATHS.map(lambda rel: str(PurePosixPath(rel))), max_size=4))
def test_units_by_string_are_the_units_by_path(rel: str, units: set[str]) -> None:
    assert unit_of(rel, units) == _unit_by_path(rel, units)
    assert is_marker(rel) == (PurePosixPath(rel).name in {"setup.py", "requirements.txt"})


def test_merge_keeps_every_location_and_the_best_confidence() -> None:
    (component,) = merge([ob("a.py", line=3, confidence="low"), ob("b.py", line=9, version="1.2"),
                          ob("a.py", line=3)])
    assert [(loc.path, loc.line) for loc in component.locations] == [("a.py", 3), ("b.py", 9)]
    assert component.confidence == "high" and component.version == "1.2"


def test_only_units_that_use_ai_become_systems() -> None:
    observations = [ob("bot/bot.py"), ob("bot/bot.py", kind="personal_data", name="contact", line=7),
                    ob("etl/load.py", kind="data_store", name="postgresql")]
    systems = group(observations, ["bot/requirements.txt", "etl/requirements.txt"], root_name="repo")
    assert [s.root for s in systems] == ["bot"]
    assert {c.kind for c in systems[0].components} == {"provider", "personal_data"}
    assert not systems[0].declared


def test_low_confidence_findings_alone_do_not_make_a_system() -> None:
    risky = ob("bag/core.py", kind="model", name="pickle.loads", confidence="low")
    assert group([risky], ["bag/setup.py"], root_name="repo") == []
    systems = group([risky, ob("bag/core.py", kind="sdk", name="pytorch")], ["bag/setup.py"], root_name="repo")
    assert {c.name for c in systems[0].components} == {"pickle.loads", "pytorch"}  # listed beside real evidence


def test_declared_folders_claim_units_deepest_first_and_dot_claims_only_itself() -> None:
    declared = {"fraud": [".", "service", "training"], "platform": ["service/sub"]}
    assert claim("service", declared) == "fraud"
    assert claim("service/api", declared) == "fraud"
    assert claim("service/sub/x", declared) == "platform"
    assert claim(".", declared) == "fraud"
    assert claim("support-chatbot", declared) is None  # "." does not swallow undeclared projects

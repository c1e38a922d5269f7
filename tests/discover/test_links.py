"""Personal data in a folder without AI belongs to the systems whose files lead into that folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from clearsight.discover.grouping import group
from clearsight.discover.interface import Observation
from clearsight.discover.run import discover

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection"


def _ob(kind: str, name: str, rel: str) -> Observation:
    return Observation(kind=kind, name=name, rel=rel, line=1, detector="test", evidence="test")  # type: ignore[arg-type]


SCHEMA = _ob("personal_data", "financial", "db/schema.sql")
STORE = _ob("data_store", "postgresql", "db/schema.sql")
AI = _ob("provider", "openai", "app/bot.py")


Summary = dict[str, tuple[set[str], list[str]]]


def _systems(texts: dict[str, str], declared: dict[str, list[str]] | None = None) -> Summary:
    rels = [*texts, "app/requirements.txt", "db/schema.sql"]
    found = group([SCHEMA, STORE, AI], rels, root_name="repo", declared=declared, texts=texts)
    return {s.id: ({f"{c.kind}:{c.name}" for c in s.components}, [u.reference for u in s.reads]) for s in found}


def test_a_relative_path_from_the_file_lends_the_folder_its_data() -> None:
    systems = _systems({"app/bot.py": 'SCHEMA = open("../db/schema.sql").read()\n'})
    assert systems == {"app": ({"provider:openai", "personal_data:financial", "data_store:postgresql"},
                               ["../db/schema.sql"])}


def test_a_path_from_the_root_counts_too() -> None:
    components, reads = _systems({"app/config.yaml": "tables: db/schema.sql\n"})["app"]
    assert "personal_data:financial" in components and reads == ["db/schema.sql"]


def test_no_path_no_link() -> None:
    for text in ('open("metadata/db/x")\n', 'open("/db/schema.sql")\n', "nothing here\n"):
        components, reads = _systems({"app/bot.py": text})["app"]
        assert components == {"provider:openai"} and reads == [], text


def test_documentation_that_mentions_the_folder_is_not_use() -> None:
    components, reads = _systems({"app/README.md": "The schema lives in db/schema.sql.\n"})["app"]
    assert components == {"provider:openai"} and reads == []


def test_a_declared_system_gets_the_data_of_folders_it_reads() -> None:
    systems = _systems({"app/bot.py": 'open("db/schema.sql")\n'}, declared={"support-bot": ["app"]})
    assert systems["support-bot"][0] == {"provider:openai", "personal_data:financial", "data_store:postgresql"}
    assert "db" not in systems  # the data folder is no system of its own


def test_the_fraud_example_without_its_inventory(tmp_path: Path) -> None:
    repo = tmp_path / "fraud"
    shutil.copytree(EXAMPLE, repo)
    (repo / "clearsight.yaml").unlink()
    report = discover([repo])
    by_root = {s.root: s for s in report.systems}
    training = by_root["training"]
    assert {c.name for c in training.components if c.kind == "personal_data"} >= {"financial", "contact"}
    assert [(u.folder, u.location.path) for u in training.reads] == [("data", "training/config.yaml")]
    for root in ("service", "support-chatbot", "model"):
        assert not any(c.kind == "personal_data" for c in by_root[root].components), root
    assert "data" not in by_root

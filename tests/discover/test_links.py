"""Personal data in a folder without AI belongs to the systems whose files lead into that folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.discover.grouping import group
from clearsight.discover.interface import Observation
from clearsight.discover.links import find_reads
from clearsight.discover.run import discover
from clearsight.discover.text_gates import any_of
from clearsight.discover.walk import TextsOnDisk

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


WRITTEN = st.lists(st.sampled_from([
    "db/", "../db/schema.sql", "dbx/", "x_db/", "d\u00e9p\u00f4t/", "data ", "open(", '"', "\n", "#", "\xe9",
    "/", "metadata/", ".", "db", "schema.sql",
]), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(files=st.lists(st.tuples(st.sampled_from(["app/a.py", "app/b.yaml", "app/c.py", "app/README.md"]),
                                WRITTEN, st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff"])),
                      min_size=1, max_size=4, unique_by=lambda f: f[0]))
def test_texts_on_disk_lead_where_the_same_texts_in_memory_lead(files: list[tuple[str, str, bytes]]) -> None:
    """Files on disk are first asked as bytes for the folders' names (one pass for all names): the links
    found must be those found in the decoded texts, with a byte-order mark or bytes that are not UTF-8."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        for rel, text, prefix in files:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(prefix + text.encode())
        rels = [rel for rel, _, _ in files]
        on_disk = TextsOnDisk(root, rels)
        in_memory = {rel: on_disk[rel] for rel in rels}
        units = {rel: "app" for rel in rels}
        for folders in (["db"], ["db", "d\u00e9p\u00f4t"], ["metadata"]):
            assert find_reads(on_disk, units, ["app"], folders) == find_reads(in_memory, units, ["app"], folders)


def test_one_pass_for_several_words_answers_as_searching_each() -> None:
    words = [b"db/", b"d\xc3\xa9p\xc3\xb4t/", b"a.b/", b"(x)/"]
    holds = any_of(words)
    for data in (b"", b"x db/", b"db", b"a.b/", b"axb/", b"(x)/y", b"\xff d\xc3\xa9p\xc3\xb4t/", b"dep/"):
        assert holds(data) == any(w in data for w in words), data


def test_a_file_on_disk_with_a_byte_order_mark_still_leads_into_the_folder(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.py").write_bytes(b"\xef\xbb\xbf\xff x = open('../d\xc3\xa9p\xc3\xb4t/s.sql')\n")
    reads = find_reads(TextsOnDisk(tmp_path, ["app/a.py"]), {"app/a.py": "app"}, ["app"], ["d\u00e9p\u00f4t"])
    assert [(u.folder, u.reference, u.location.line) for u in reads["app"]] == [
        ("d\u00e9p\u00f4t", "../d\u00e9p\u00f4t/s.sql", 1)]

"""Line-aware YAML loading: duplicate keys are errors wherever they hide, and tags resolve as PyYAML's do."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from clearsight.core.errors import InputError
from clearsight.yaml_models import SAFE_LOADER, load_model


class Anything(BaseModel):
    model_config = ConfigDict(extra="allow")


def _load(text: str) -> dict[str, object]:
    return load_model(text, Anything, "f.yaml", empty_hint="", top_level="keys")[1].model_dump()


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: 2\na: 3\n", 3),
    ("outer:\n  inner:\n    x: 1\n    x: 2\n", 4),
    ("base: &b {x: 1}\nuse:\n  <<: *b\n  nested:\n    y: 1\n    y: 2\n", 6),
    ("keys:\n  1: one\n  '1': also one\n", 3),
    ("list:\n  - {k: 1, k: 2}\n", 2),
])
def test_duplicate_keys_are_errors_with_their_line(text: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        _load(text)
    assert "appears twice" in caught.value.message and caught.value.line == line


def test_values_resolve_as_the_safe_loader_resolves_them() -> None:
    text = ("n: 12\nf: 1.5\nyes_word: yes\nt: true\nnull_value: ~\nday: 2026-11-26\nword: high\n"
            "repeat: [high, high, 12, '12', true, 'true']\noctal: 0o17\n")
    assert _load(text) == yaml.load(text, Loader=SAFE_LOADER)
    assert _load(text)["day"] == dt.date(2026, 11, 26)


def _laughs(levels: int, width: int = 9) -> str:
    text = "l0: &l0 [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]\n"
    return text


def test_aliases_that_expand_a_document_past_the_cap_are_refused() -> None:
    """Building shares aliased objects, but pydantic walks every reference: a policy of ~600 bytes made
    validation take over 3 GB. The guard policy and the inventory both load through here."""
    from clearsight.guard.policy import parse_policy

    with pytest.raises(InputError, match=r"aliases expand this document to [\d,]+ values") as caught:
        _load(_laughs(8))
    assert caught.value.path == "f.yaml" and caught.value.line == 1
    with pytest.raises(InputError, match="aliases expand"):
        parse_policy(_laughs(8).replace("l0: &l0 [lol", "x: &l0 ['1/second'").replace("lol", "'1/second'")
                     + "routes:\n  - path: /x\n    limits: *l8\n", "guard.yaml")


def test_modest_reuse_and_big_plain_documents_still_load() -> None:
    assert len(_load(_laughs(3))["l3"]) == 9  # 9**4 values through aliases: allowed
    big = "items:\n" + "".join(f"  - {{id: {i}, name: n{i}}}\n" for i in range(60_000))  # 300k nodes, no alias
    assert len(_load(big)["items"]) == 60_000  # type: ignore[arg-type]


def test_deep_nesting_and_self_reference_are_clear_errors() -> None:
    """libyaml composes by C recursion: 100,000 nested '[' killed the process (segmentation fault)."""
    import subprocess
    import sys

    script = ("from clearsight.guard.policy import parse_policy\nfrom clearsight.core.errors import InputError\n"
              "try:\n    parse_policy('routes: ' + '[' * 100000, 'g.yaml')\n"
              "except InputError as e:\n    print(e.message)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "nested deeper than 500 levels" in run.stdout
    with pytest.raises(InputError, match="alias refers to the collection that holds it"):
        _load("a: &a [1, *a]\n")
    assert _load("a: " + "[" * 400 + "]" * 400 + "\n")["a"]  # deep, but within the limit


def test_a_big_inventory_may_share_a_block_many_times() -> None:
    """A 5,000-system inventory sharing `traits: *std` expands to ~245,000 values: legitimate, and loaded."""
    text = "std: &std {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12, m: 13, n: 14}\n"
    text += "systems:\n" + "".join(f"  - {{id: s{i}, traits: *std}}\n" for i in range(5000))
    assert len(_load(text)["systems"]) == 5000  # type: ignore[arg-type]


def test_parse_yaml_refuses_alias_bombs_and_reads_modest_aliases() -> None:
    """The detectors' YAML reader (discovery reads untrusted files) refuses what the model loader refuses."""
    from clearsight.yaml_models import parse_yaml

    with pytest.raises(yaml.YAMLError, match="aliases expand"):
        parse_yaml(_laughs(8), refuse_alias_bombs=True)
    assert parse_yaml("base: &b {a: 1}\nother: *b\nmerged:\n  <<: *b\n  c: 2\nglob: '*.py & more'\n") == {
        "base": {"a": 1}, "other": {"a": 1}, "merged": {"a": 1, "c": 2}, "glob": "*.py & more"} == parse_yaml(
        "base: &b {a: 1}\nother: *b\nmerged:\n  <<: *b\n  c: 2\nglob: '*.py & more'\n", refuse_alias_bombs=True)

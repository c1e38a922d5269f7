from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearsight.guard.jsonpath import parse_path


def test_names_indices_and_wildcards() -> None:
    doc = {"a": {"b": [1, 2, 3]}, "messages": [{"content": "x"}, {"content": "y"}], "odd-key": 5}
    assert parse_path("$.a.b").find(doc) == [[1, 2, 3]]
    assert parse_path("$.a.b[0]").find(doc) == [1]
    assert parse_path("$.a.b[-1]").find(doc) == [3]
    assert parse_path("$.messages[*].content").find(doc) == ["x", "y"]
    assert parse_path("$['odd-key']").find(doc) == [5]
    assert parse_path("$.a.*").find(doc) == [[1, 2, 3]]
    assert parse_path("$").find(doc) == [doc]


def test_missing_and_wrong_type_reach_nothing() -> None:
    doc = {"a": [1], "s": "text"}
    assert parse_path("$.b").find(doc) == []
    assert parse_path("$.a[5]").find(doc) == []
    assert parse_path("$.s.x").find(doc) == []
    assert parse_path("$.s[0]").find(doc) == []
    assert parse_path("$.a.x").first(doc) == (False, None)


def test_update_changes_every_match_in_place() -> None:
    doc = {"scores": [0.1, 0.9], "p": 0.33}
    assert parse_path("$.scores[*]").update(doc, lambda v: round(v * 2, 1)) == 2
    assert doc["scores"] == [0.2, 1.8]
    assert parse_path("$.p").update(doc, lambda v: 1) == 1
    assert doc["p"] == 1
    with pytest.raises(ValueError, match="root"):
        parse_path("$").update(doc, lambda v: v)


@pytest.mark.parametrize("bad", ["features", "$.", "$..a", "$[x]", "$.a[", "$.a b", "$[?(@.x)]"])
def test_bad_paths_name_the_position(bad: str) -> None:
    with pytest.raises(ValueError, match="JSON path"):
        parse_path(bad)


@given(st.recursive(st.none() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                    max_leaves=20),
       st.lists(st.sampled_from([".a", ".b", "[0]", "[-1]", "[*]", "['x y']"]), max_size=4))
def test_any_document_any_path_never_raises(doc: object, steps: list[str]) -> None:
    path = parse_path("$" + "".join(steps))
    found = path.find(doc)
    assert path.first(doc)[0] == bool(found)


def test_filter_selects_items_by_a_field() -> None:
    chat = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
                         {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}, "not an object"]}
    assert parse_path("$.messages[?(@.role=='user')].content").find(chat) == ["U1", "U2"]
    assert parse_path('$.messages[?(@.role != "system")].content').find(chat) == ["U1", "A", "U2"]
    assert parse_path("$.messages[?(@.role=='tool')].content").find(chat) == []
    path = parse_path("$.messages[?(@.role=='user')].content")
    assert path.update(chat, str.lower) == 2 and chat["messages"][3] == {"role": "user", "content": "u2"}


@pytest.mark.parametrize("bad", ["$.m[?(@.role=='user']", "$.m[?(@.role~'x')]", "$.m[?(role=='x')]"])
def test_malformed_filters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot read JSON path"):
        parse_path(bad)


_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b"]),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "0"]),
                                                                                 inner, max_size=3),
                     max_leaves=12)


@given(_json, st.lists(st.sampled_from(["a", "b", "0"]) | st.integers(-3, 3), min_size=1, max_size=4))
def test_plain_paths_take_a_shortcut_with_the_same_answers(document: object, steps: list[str | int]) -> None:
    """Names and indices are looked up directly (the request path's common case); the general walk decides the
    same values and replaces the same place."""
    import copy

    from clearsight.guard.jsonpath import JsonPath, _walk

    path = JsonPath(text="$", steps=tuple(steps))
    assert path._plain
    walked = [value for _, _, value in _walk(document, path.steps)]
    assert path.first(document) == ((True, walked[0]) if walked else (False, None))
    fast, slow = copy.deepcopy(document), copy.deepcopy(document)
    changed = path.update(fast, lambda value: ["changed", value])
    for parent, key, value in list(_walk(slow, path.steps)):
        parent[key] = ["changed", value]
    assert fast == slow and changed == len(walked)


def test_a_single_name_reads_and_writes_like_the_general_walk() -> None:
    # '$.name' takes a short cut of its own: it must agree with the walk on every kind of document
    path = parse_path("$.p")
    for doc in ({"p": 0.5}, {"p": None}, {"q": 1}, [1, 2], "p", None, 3):
        assert path.first(doc) == next(((True, v) for v in path.find(doc)), (False, None)), doc
    doc = {"p": 2}
    assert path.update(doc, lambda v: v * 3) == 1 and doc == {"p": 6}
    assert path.update([{"p": 1}], lambda v: 0) == 0 and path.update({"q": 1}, lambda v: 0) == 0

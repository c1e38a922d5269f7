"""The small shared pieces detectors rely on: printable observations and bounded key-line searches."""

from __future__ import annotations

import re

from clearsight.discover.interface import KeyLines, Observation, line_at, printable


def _key(name: str) -> re.Pattern[str]:
    return re.compile(r'"' + re.escape(name) + r'"\s*:')


def test_observations_hold_only_text_that_encodes() -> None:
    observation = Observation(kind="mcp_server", name="a\ud800b", rel="x.json", line=1, detector="d",
                              evidence="café \udcff", version="1\ud801")
    assert (observation.name, observation.evidence, observation.version) == ("a\\ud800b", "café \\udcff", "1\\ud801")
    assert Observation(kind="sdk", name="café", rel="x", line=1, detector="d", evidence="e").name == "café"
    assert printable("plain") == "plain"


def test_key_lines_follow_the_text_and_fall_back_for_keys_met_out_of_order() -> None:
    text = '{\n"a": 1,\n"b": {"a": 2},\n"c": 3\n}'
    lines = KeyLines(text)
    assert [lines.line_of(_key(k)) for k in ("a", "b", "a", "c", "b", "zz")] == [2, 3, 3, 4, 3, None]
    assert line_at(text, text.index('"c"')) == 4


def test_key_lines_stop_looking_once_their_budget_is_spent() -> None:
    text = "x" * 1_000_000
    lines = KeyLines(text)
    budget_keys = (KeyLines.PASSES * len(text) + KeyLines.FLOOR) // (2 * len(text)) + 1  # each miss reads it twice
    for _ in range(budget_keys):
        assert lines.line_of(_key("missing")) is None
    assert not lines.wanted()  # a key present from now on gets no line: the bound, not a wrong answer
    assert KeyLines(text + '\n"k": 1').line_of(_key("k")) == 2


def test_line_counter_agrees_with_line_at_in_any_order() -> None:
    """Detectors ask it for each match's line in file order (counting on, linear); any other order is still
    right (counted again from the top)."""
    import random

    from clearsight.discover.interface import LineCounter, line_at

    text = "".join(random.Random(1).choice("ab\n") for _ in range(5_000))
    counter = LineCounter(text)
    offsets = sorted(random.Random(2).sample(range(len(text) + 1), 300))
    assert [counter.line(o) for o in offsets] == [line_at(text, o) for o in offsets]
    shuffled = random.Random(3).sample(offsets, len(offsets))
    assert [counter.line(o) for o in shuffled] == [line_at(text, o) for o in shuffled]

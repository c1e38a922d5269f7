"""Recall and precision of discovery per component kind over the labelled corpus (issue 4's quality bar).

Every corpus repository is scanned on its own; found (kind, name) pairs are compared with the annotation and pooled
over the corpus. Every kind has at least 3 expected items and must reach recall ≥ 0.9 and precision ≥ 0.9. Run
with ``-s`` to see the per-kind table.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from corpus_repos import build_repos

from clearsight.discover.run import discover

THRESHOLD = 0.9
MIN_EXPECTED = 3

Pair = tuple[str, str]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[set[Pair], set[Pair]]]:
    root: Path = tmp_path_factory.mktemp("corpus")
    expected = build_repos(root)
    results: dict[str, tuple[set[Pair], set[Pair]]] = {}
    for name, wanted in expected.items():
        report = discover([root / name])
        results[name] = (wanted, {(c.kind, c.name) for c in report.components})
    return results


def _per_kind(scanned: dict[str, tuple[set[Pair], set[Pair]]]) -> dict[str, tuple[int, int, int]]:
    """kind -> (true positives, expected, found), pooled over all repositories."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for wanted, found in scanned.values():
        for kind, _ in wanted:
            counts[kind][1] += 1
        for kind, _ in found:
            counts[kind][2] += 1
        for kind, _ in wanted & found:
            counts[kind][0] += 1
    return {kind: (c[0], c[1], c[2]) for kind, c in sorted(counts.items())}


def test_corpus_is_labelled_for_every_kind_the_issue_names(scanned: dict[str, tuple[set[Pair], set[Pair]]]) -> None:
    kinds = {kind for wanted, _ in scanned.values() for kind, _ in wanted}
    assert {"provider", "sdk", "model", "model_file", "dataset", "vector_store", "serving", "agent_framework",
            "mcp_server", "data_store", "personal_data", "secret_ref"} <= kinds
    assert len(scanned) >= 9
    thin = {kind: expected for kind, (_, expected, _) in _per_kind(scanned).items() if expected < MIN_EXPECTED}
    assert not thin, f"every kind needs {MIN_EXPECTED}+ labelled items for its recall and precision to be checked"


def test_recall_and_precision_per_kind(scanned: dict[str, tuple[set[Pair], set[Pair]]]) -> None:
    table = _per_kind(scanned)
    print(f"\n{'kind':16} {'expected':>8} {'found':>6} {'tp':>4} {'recall':>7} {'precision':>9}")
    failures: list[str] = []
    for kind, (tp, expected, found) in table.items():
        recall = tp / expected if expected else 1.0
        precision = tp / found if found else 1.0
        print(f"{kind:16} {expected:8d} {found:6d} {tp:4d} {recall:7.2f} {precision:9.2f}")
        if expected >= MIN_EXPECTED and (recall < THRESHOLD or precision < THRESHOLD):
            failures.append(f"{kind}: recall {recall:.2f}, precision {precision:.2f}")
    for name, (wanted, found) in scanned.items():
        for pair in sorted(wanted - found):
            print(f"  missed in {name}: {pair}")
        for pair in sorted(found - wanted):
            print(f"  invented in {name}: {pair}")
    assert not failures, failures


@pytest.mark.parametrize("trap", [
    ("provider", "cohere"),  # only in vendored node_modules and a /* commented-out */ require
    ("model", "x"),  # `openai_model = "x"` without any AI import
    ("model", "Civic"),  # `Car(model="Civic")`
    ("model", "gpt-4-turbo"),  # only in README markdown
    ("agent_framework", "langchain"),  # commented-out import in the chatbot
])
def test_traps_are_not_reported_in_the_chatbot(scanned: dict[str, tuple[set[Pair], set[Pair]]],
                                                trap: Pair) -> None:
    _, found = scanned["chatbot"]
    assert trap not in found


def test_secret_values_never_reach_the_report(tmp_path: Path) -> None:
    build_repos(tmp_path)
    report = discover([tmp_path / "chatbot"])
    assert "sk-replace-me" not in report.model_dump_json()

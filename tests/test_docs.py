"""The documentation stays in step with the code it describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from clearsight.core.system import ComponentKind, SystemTraits

ROOT = Path(__file__).resolve().parents[1]


def test_every_trait_is_documented_with_its_values() -> None:
    text = (ROOT / "docs" / "inventory.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, re.MULTILINE)}
    for name, field in SystemTraits.model_fields.items():
        assert name in rows, f"trait {name} missing from docs/inventory.md"
        for value in _literal_values(field.annotation):
            assert f"`{value}`" in rows[name], f"{name}: value {value} undocumented"


def _literal_values(annotation: object) -> list[str]:
    """Every string of every Literal inside ``annotation`` (through list[...] and Optional)."""
    out: list[str] = []
    for arg in get_args(annotation):
        out.extend([arg] if isinstance(arg, str) else _literal_values(arg))
    return out


def test_every_component_kind_is_documented() -> None:
    text = (ROOT / "docs" / "inventory.md").read_text()
    for kind in get_args(ComponentKind):
        assert f"`{kind}`" in text


def test_readme_holds_the_two_set_up_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert commands[0].startswith("python -m pip install . && clearsight assess examples/fraud-detection")
    assert commands[1] == 'python -m pip install -e ".[test]" && python -m pytest'
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_every_discovery_detector_is_documented_with_its_tests() -> None:
    from clearsight.discover.registry import DETECTORS

    text = (ROOT / "docs" / "discovery.md").read_text()
    rows = re.findall(r"^\| `([\w.-]+)` \| (.+?) \| \[(tests/discover/\w+\.py)\]", text, re.MULTILINE)
    assert [r[0] for r in rows] == [d.id for d in DETECTORS], "docs/discovery.md lists other detectors"
    for (detector_id, description, test_file), detector in zip(rows, DETECTORS, strict=True):
        assert description.replace("\\|", "|") == detector.description.rstrip("."), detector_id
        assert (ROOT / test_file).is_file(), test_file


def test_every_poisoning_signal_is_documented() -> None:
    from clearsight.data.poisoning.registry import SIGNALS

    text = (ROOT / "docs" / "data.md").read_text()
    for signal in SIGNALS:
        assert f"| `{signal.id}` | {'yes' if signal.decisive else 'no'} |" in text, signal.id

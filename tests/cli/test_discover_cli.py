"""``clearsight discover``: the example's undeclared chatbot is shadow AI, in every output format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from clearsight.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_names_the_shadow_system(capsys: pytest.CaptureFixture[str], example_dir: Path) -> None:
    code, out, _ = run(capsys, "discover", str(example_dir))
    assert code == 0
    assert "support-chatbot" in out and "NO (shadow AI)" in out
    assert "card-fraud-detection" in out  # the declared system's folders are claimed by it


def test_json_follows_the_documented_shape(capsys: pytest.CaptureFixture[str], example_dir: Path) -> None:
    code, out, _ = run(capsys, "discover", str(example_dir), "--format", "json")
    report = json.loads(out)
    assert code == 0
    shadow = [s for s in report["systems"] if not s["declared"]]
    assert [s["root"] for s in shadow] == ["support-chatbot"]
    component = next(c for c in report["components"] if c["name"] == "openai")
    assert set(component) >= {"kind", "name", "version", "locations", "evidence", "confidence"}
    assert component["locations"][0]["path"].startswith("support-chatbot/")
    assert isinstance(component["locations"][0]["line"], int)
    assert "skipped" in report


def test_sarif_reports_shadow_ai(capsys: pytest.CaptureFixture[str], example_dir: Path,
                                 sarif_schema: dict[str, object]) -> None:
    code, out, _ = run(capsys, "discover", str(example_dir), "--format", "sarif", "--fail-on-shadow")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft7Validator(sarif_schema).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "shadow-ai"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("support-chatbot/")


def test_without_an_inventory_every_ai_unit_is_undeclared(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "requirements.txt").write_text("anthropic==0.40.0\n")
    (tmp_path / "bot" / "main.py").write_text("# import openai\nimport anthropic\nclient = anthropic.Anthropic()\n")
    code, out, _ = run(capsys, "discover", str(tmp_path), "--format", "json")
    assert code == 0
    report = json.loads(out)
    (system,) = report["systems"]
    assert system["root"] == "bot" and not system["declared"]
    names = {c["name"]: c for c in system["components"]}
    assert "openai" not in names  # commented out
    assert names["anthropic"]["version"] == "0.40.0"


def test_not_a_folder_is_an_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "discover", str(tmp_path / "missing"))
    assert code == 2 and "not a folder" in err


def _non_utf8_tree(tmp_path: Path) -> Path:
    """A tree with a file and a folder whose names are not UTF-8 (Latin-1 bytes), next to ordinary ones."""
    import os

    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("import openai\n")
    try:
        with open(os.fsencode(root) + b"/m\xffx.py", "w") as fh:
            fh.write("import anthropic\n")
        os.mkdir(os.fsencode(root) + b"/d\xfe")
    except OSError:  # a file system that only takes UTF-8 names
        pytest.skip("this file system refuses names that are not UTF-8")
    (Path(os.fsdecode(os.fsencode(root) + b"/d\xfe")) / "a.py").write_text("import cohere\n")
    return root


@pytest.mark.parametrize("fmt", ["json", "table", "sarif", "cyclonedx"])
def test_names_that_are_not_utf8_are_listed_not_fatal(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      fmt: str) -> None:
    # every report format but CycloneDX used to end with an internal error (exit 3) on such a name
    root = _non_utf8_tree(tmp_path)
    out = tmp_path / f"out.{fmt}"
    code, _, err = run(capsys, "discover", str(root), "--format", fmt, "-o", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        report = json.loads(text)
        assert {(s["path"], s["reason"]) for s in report["skipped"]} == {("d\\udcfe", "undecodable"),
                                                                          ("m\\udcffx.py", "undecodable")}
        assert {c["name"] for c in report["components"]} == {"openai"}


def test_a_root_that_is_not_utf8_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import os

    root = _non_utf8_tree(tmp_path)
    code, _, err = run(capsys, "discover", os.fsdecode(os.fsencode(root) + b"/d\xfe"), "--format", "json",
                       "-o", str(tmp_path / "out.json"))
    assert code == 2
    assert "not valid UTF-8" in err and "d\\udcfe" in err


def test_deeply_nested_yaml_is_skipped_not_a_crash(tmp_path: Path) -> None:
    """libyaml recurses in C: a 100 KB environment.yml (or schema, or MCP config) of nested '[' ended the whole
    discovery with a segmentation fault. Run in a child process so a regression cannot take pytest down too."""
    import subprocess
    import sys

    deep = "[" * 100_000
    (tmp_path / "environment.yml").write_text("name: x\ndependencies: " + deep)
    (tmp_path / "api.yaml").write_text("components:\n  schemas:\n    properties: " + deep)
    (tmp_path / "mcp.yaml").write_text("mcpServers: " + deep)
    (tmp_path / "app.py").write_text("import openai\n")
    run = subprocess.run([sys.executable, "-m", "clearsight", "discover", str(tmp_path), "--format", "json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [c["name"] for c in json.loads(run.stdout)["components"]] == ["openai"]


def test_paths_the_os_refuses_are_input_errors_not_crashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a review: a name too long for the file system, and ``~nouser`` in a repositories file, ended
    in "internal error" (exit 3)."""
    long = str(tmp_path / ("a" * 300))
    for args in ((long,), (str(tmp_path), "--inventory", long)):
        code, _, err = run(capsys, "discover", *args)
        assert code == 2 and err.startswith("error:") and "internal error" not in err, err
    repos = tmp_path / "repos.txt"
    repos.write_text("~no-such-user-here/x\n", encoding="utf-8")
    code, _, err = run(capsys, "discover", "--repos-file", str(repos))
    assert code == 2 and "cannot expand the home folder" in err and ":1" in err


def test_roots_of_the_same_name_stay_apart_in_ids_paths_and_fingerprints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a review: two roots called ``proj`` gave two systems ``proj-proj`` with the same paths, their
    systems' locations lacked the root, and SARIF gave both one uri and one fingerprint."""
    for parent in ("a", "b"):
        (tmp_path / parent / "proj").mkdir(parents=True)
        (tmp_path / parent / "proj" / "app.py").write_text("import openai\n", encoding="utf-8")
    roots = [str(tmp_path / "a" / "proj"), str(tmp_path / "b" / "proj"), str(tmp_path / "a" / "proj")]
    code, out, _ = run(capsys, "discover", *roots, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert [(s["id"], s["root"]) for s in report["systems"]] == [
        ("a-proj-proj", "a/proj"), ("b-proj-proj", "b/proj"), ("a-proj-2-proj", "a/proj#2")]
    assert {loc["path"] for s in report["systems"] for c in s["components"] for loc in c["locations"]} == {
        "a/proj/app.py", "b/proj/app.py", "a/proj#2/app.py"}
    code, out, _ = run(capsys, "discover", *roots[:2], "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == [
        "a/proj/app.py", "b/proj/app.py"]
    assert len({r["partialFingerprints"]["clearsightShadowAI/v1"] for r in results}) == 2


def test_a_binary_file_a_text_detector_wanted_is_listed_as_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a review: a Python file holding a NUL byte and a UTF-16 requirements file yielded nothing and
    were not listed; binaries nobody reads as text (shared libraries, model files) still are not."""
    (tmp_path / "app.py").write_bytes(b"import openai\n# \x00\n")
    (tmp_path / "requirements.txt").write_bytes("torch\n".encode("utf-16"))
    (tmp_path / "lib.so").write_bytes(b"\x7fELF\x00\x00")
    code, out, _ = run(capsys, "discover", str(tmp_path), "--format", "json")
    assert code == 0
    assert json.loads(out)["skipped"] == [{"path": "app.py", "reason": "binary"},
                                          {"path": "requirements.txt", "reason": "binary"}]


_IMPORTED = """
import sys
from clearsight.cli.app import main
main(["discover", sys.argv[1], "--format", sys.argv[2], "-o", sys.argv[3]])
print(*(name in sys.modules for name in ("rich.console", "clearsight.report.cyclonedx")))
"""


@pytest.mark.parametrize(("fmt", "imported"), [("json", "False False"), ("sarif", "False False"),
                                                ("cyclonedx", "False True"), ("table", "True False")])
def test_only_the_chosen_format_is_imported(tmp_path: Path, fmt: str, imported: str) -> None:
    """Renderers are imported while the workers scan, competing with them: a JSON run imports no terminal
    library and no CycloneDX code."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("import openai\n")
    out = subprocess.run([sys.executable, "-c", _IMPORTED, str(tmp_path / "src"), fmt, str(tmp_path / "out")],
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == imported.split()
    assert (tmp_path / "out").stat().st_size > 0

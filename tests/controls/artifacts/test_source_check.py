"""Pre-trained model source check on folders built in code (hub cache, local_dir download, plain folders)."""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from clearsight.controls.artifacts.source_check import (
    DEFAULT_ALLOWED,
    check_source,
    classify_licence,
    licence_from_text,
    normalise_licence,
    sniff_pickle,
)
from clearsight.core.errors import InputError
from clearsight.core.severity import Severity

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"

MIT_TEXT = """MIT License

Copyright (c) 2024 Example

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
"""
NC_TEXT = """Attribution-NonCommercial 4.0 International

=======================================================================

Creative Commons Corporation ("Creative Commons") is not a law firm and
does not provide legal services or legal advice.
"""
APACHE_TEXT = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
"""


def _safetensors(path: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    return path


def _pickle(path: Path) -> Path:
    path.write_bytes(pickle.dumps({"weight": [0.1, 0.2]}, protocol=4))  # written, never loaded
    return path


def _torch_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": 1}, protocol=2))
        archive.writestr("archive/data/0", bytes(16))
    return path


def _card(folder: Path, front_matter: str, body: str = "# Model\n") -> None:
    (folder / "README.md").write_text(f"---\n{front_matter}\n---\n{body}")


def _clean_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    _safetensors(folder / "model.safetensors")
    _card(folder, "license: apache-2.0\nlibrary_name: transformers")
    (folder / "model.sig").write_text("{}")
    return folder


def _hub_cache(root: Path, *, refs: bool = True) -> Path:
    repo = root / "models--acme--fraud-bert"
    snapshot = repo / "snapshots" / COMMIT
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    blob = _safetensors(repo / "blobs" / "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    (snapshot / "model.safetensors").symlink_to(Path("../../blobs") / blob.name)
    _card(snapshot, "license: mit")
    if refs:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(COMMIT)
    return repo


def _clean(folder: Path) -> str:
    return "clean"


# ------------------------------------------------------------------------------------------ whole model


def test_clean_signed_pinned_model_passes(tmp_path: Path) -> None:
    repo = _hub_cache(tmp_path)
    (repo / "snapshots" / COMMIT / "model.sig").write_text("{}")
    result = check_source(repo, scan=_clean)
    assert result.status == "pass", [c.reason for c in result.checks]
    assert result.licence == "mit"
    assert result.revision == COMMIT
    assert Path(result.model_dir) == repo / "snapshots" / COMMIT
    assert [c.rule for c in result.checks] == [
        "source.format", "source.licence", "source.revision", "source.signature", "source.scan"
    ]
    assert result.to_findings() == []


def test_overall_is_worst_check_and_findings_carry_rule_ids(tmp_path: Path) -> None:
    model = tmp_path / "plain"
    model.mkdir()
    _pickle(model / "pytorch_model.bin")
    _card(model, "license: cc-by-nc-4.0")
    result = check_source(model, scan=lambda p: "malicious")
    assert result.status == "fail"
    findings = {f.rule: f for f in result.to_findings()}
    assert set(findings) == {"source.format", "source.licence", "source.revision", "source.signature",
                             "source.scan"}
    assert findings["source.scan"].severity is Severity.CRITICAL
    assert findings["source.format"].severity is Severity.HIGH
    assert findings["source.licence"].severity is Severity.HIGH
    assert findings["source.signature"].severity is Severity.LOW
    assert findings["source.format"].location is not None
    assert findings["source.format"].location.path.endswith("pytorch_model.bin")


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model not found"):
        check_source(tmp_path / "nope")


# ------------------------------------------------------------------------------------------ format


def test_pickle_only_weights_fail(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    (model / "model.safetensors").unlink()
    _pickle(model / "pytorch_model.bin")
    _torch_zip(model / "extra.pt")
    check = check_source(model).check("source.format")
    assert check.status == "fail"
    assert check.files == ["extra.pt", "pytorch_model.bin"]


def test_pickle_next_to_safetensors_warns(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    _pickle(model / "pytorch_model.bin")
    check = check_source(model).check("source.format")
    assert check.status == "warn"
    assert check.files == ["pytorch_model.bin"]
    assert check.detail is not None and "model.safetensors" in check.detail


def test_weights_only_formats_pass(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    (model / "model.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    (model / "onnx").mkdir()
    (model / "onnx" / "model.onnx").write_bytes(b"\x08\x07\x12\x04test")
    (model / "vocab.bin").write_bytes(b"\x00\x01raw tensor bytes, not a pickle")
    check = check_source(model).check("source.format")
    assert check.status == "pass"
    assert check.files == ["model.gguf", "model.safetensors", "onnx/model.onnx"]


def test_pickle_disguised_as_safetensors_fails(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    _pickle(model / "model.safetensors")
    check = check_source(model).check("source.format")
    assert check.status == "fail"
    assert "model.safetensors" in check.reason


def test_pickle_by_extension_and_no_weights(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "model.pkl").write_bytes(b"(dp0\n.")  # protocol 0 has no header; the name says pickle
    assert check_source(model).check("source.format").status == "fail"
    (model / "model.pkl").unlink()
    (model / "notes.txt").write_text("hello")
    check = check_source(model).check("source.format")
    assert check.status == "warn" and "no model weights" in check.reason


def test_sniff_pickle(tmp_path: Path) -> None:
    assert sniff_pickle(_pickle(tmp_path / "a.bin")) == "pickle"
    assert sniff_pickle(_torch_zip(tmp_path / "b.pt")) == "torch-zip"
    assert sniff_pickle(_safetensors(tmp_path / "c.safetensors")) is None
    (tmp_path / "d.bin").write_bytes(b"PK\x03\x04broken zip")
    assert sniff_pickle(tmp_path / "d.bin") is None
    (tmp_path / "e.bin").write_bytes(b"")
    assert sniff_pickle(tmp_path / "e.bin") is None


# ------------------------------------------------------------------------------------------ licence


@pytest.mark.parametrize(
    ("front_matter", "status", "licence"),
    [
        ("license: apache-2.0", "pass", "apache-2.0"),
        ("license: MIT", "pass", "mit"),
        ("license: cc-by-nc-4.0", "fail", "cc-by-nc-4.0"),
        ("license: cc-by-nc-sa-4.0", "fail", "cc-by-nc-sa-4.0"),
        ("license: openrail", "warn", "openrail"),
        ("license: llama3.1", "warn", "llama3.1"),
        ("license: gpl-3.0", "warn", "gpl-3.0"),
        ("license: other\nlicense_name: acme-model-licence", "warn", "acme-model-licence"),
        ("license: other\nlicense_name: deepfloyd-if-license", "fail", "deepfloyd-if-license"),
        ("license:\n  - cc-by-nc-4.0\n  - mit", "pass", "mit"),
    ],
)
def test_licence_from_model_card(tmp_path: Path, front_matter: str, status: str, licence: str) -> None:
    model = _clean_model(tmp_path / "m")
    _card(model, front_matter)
    result = check_source(model)
    assert result.check("source.licence").status == status
    assert result.licence == licence


def test_licence_from_licence_file(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    (model / "README.md").write_text("# No front matter here\n")
    (model / "LICENSE").write_text(MIT_TEXT)
    result = check_source(model)
    assert (result.check("source.licence").status, result.licence) == ("pass", "mit")

    (model / "LICENSE").write_text(NC_TEXT)
    result = check_source(model)
    assert (result.check("source.licence").status, result.licence) == ("fail", "cc-by-nc-4.0")

    (model / "LICENSE").write_text("All rights reserved by somebody.")
    check = check_source(model).check("source.licence")
    assert check.status == "warn" and "not recognised" in check.reason


def test_card_disagreeing_with_licence_file_takes_the_worse(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")  # card: apache-2.0
    (model / "LICENSE.txt").write_text(NC_TEXT)
    check = check_source(model).check("source.licence")
    assert check.status == "fail"
    assert check.detail is not None and "LICENSE.txt" in check.detail
    (model / "LICENSE.txt").write_text(APACHE_TEXT)
    assert check_source(model).check("source.licence").status == "pass"


def test_missing_licence_and_broken_front_matter_warn(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    (model / "README.md").unlink()
    check = check_source(model).check("source.licence")
    assert check.status == "warn" and "no licence" in check.reason
    (model / "README.md").write_text("---\nlicense: [unclosed\n---\n")
    check = check_source(model).check("source.licence")
    assert check.status == "warn"
    assert check.detail is not None and "not valid YAML" in check.detail


def test_custom_allowlist(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    _card(model, "license: creativeml-openrail-m")
    assert check_source(model).check("source.licence").status == "warn"
    allowed = DEFAULT_ALLOWED | {"CreativeML-OpenRAIL-M"}
    assert check_source(model, licence_allowlist=allowed).check("source.licence").status == "pass"
    assert check_source(model, licence_allowlist=frozenset()).check("source.licence").status == "warn"


def test_licence_helpers() -> None:
    assert normalise_licence("Apache 2.0") == "apache-2.0"
    assert normalise_licence("  CC BY-NC 4.0 ") == "cc-by-nc-4.0"
    assert classify_licence("BSD-3-Clause")[0] == "pass"
    assert classify_licence("cc-by-nd-4.0")[0] == "fail"
    assert classify_licence("unknown-thing")[0] == "warn"
    assert licence_from_text(APACHE_TEXT) == "apache-2.0"
    assert licence_from_text("LLAMA 2 COMMUNITY LICENSE AGREEMENT") == "llama2"


# ------------------------------------------------------------------------------------------ revision


def test_hub_cache_refs_main_pins_revision(tmp_path: Path) -> None:
    repo = _hub_cache(tmp_path)
    check = check_source(repo).check("source.revision")
    assert check.status == "pass" and "refs/main" in check.reason
    assert check.detail == COMMIT


def test_snapshot_folder_pins_revision(tmp_path: Path) -> None:
    repo = _hub_cache(tmp_path, refs=False)
    result = check_source(repo / "snapshots" / COMMIT)
    assert result.check("source.revision").status == "pass"
    assert result.revision == COMMIT
    single = check_source(repo / "snapshots" / COMMIT / "model.safetensors")
    assert single.revision == COMMIT and single.check("source.format").status == "pass"


def test_local_dir_download_metadata(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    meta = model / ".cache" / "huggingface" / "download"
    meta.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (meta / f"{name}.metadata").write_text(f"{COMMIT}\n\"etag\"\n1712345678.0\n")
    result = check_source(model)
    assert result.check("source.revision").status == "pass"
    assert result.revision == COMMIT
    assert result.check("source.format").files == ["model.safetensors"]  # .cache is not model content

    (meta / "model.safetensors.metadata").write_text(f"{OTHER_COMMIT}\n\"etag\"\n1712345678.0\n")
    check = check_source(model).check("source.revision")
    assert check.status == "warn" and "2 different revisions" in check.reason


def test_git_clone_head(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    (model / ".git" / "refs" / "heads").mkdir(parents=True)
    (model / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (model / ".git" / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    assert check_source(model).revision == COMMIT
    (model / ".git" / "refs" / "heads" / "main").unlink()
    (model / ".git" / "packed-refs").write_text(f"# pack-refs\n{OTHER_COMMIT} refs/heads/main\n")
    assert check_source(model).revision == OTHER_COMMIT


def test_plain_folder_is_not_pinned(tmp_path: Path) -> None:
    check = check_source(_clean_model(tmp_path / "m")).check("source.revision")
    assert check.status == "warn" and "revision not pinned" in check.reason


# ------------------------------------------------------------------------------------------ signature, scan


def test_signature_presence(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    assert check_source(model).check("source.signature").status == "pass"
    (model / "model.sig").unlink()
    assert check_source(model).check("source.signature").status == "warn"
    (model / "release.sigstore.json").write_text("{}")
    assert check_source(model).check("source.signature").files == ["release.sigstore.json"]


@pytest.mark.parametrize(
    ("verdict", "status"),
    [("malicious", "fail"), ("suspicious", "warn"), ("error", "warn"), ("clean", "pass"),
     ("unsupported", "pass"), ("weird", "warn")],
)
def test_scan_verdicts(tmp_path: Path, verdict: str, status: str) -> None:
    model = _clean_model(tmp_path / "m")
    seen: list[Path] = []

    def scan(path: Path) -> str:
        seen.append(path)
        return verdict

    result = check_source(model, scan=scan)
    assert result.check("source.scan").status == status
    assert seen == [model]


def test_scan_missing_or_raising_never_passes(tmp_path: Path) -> None:
    model = _clean_model(tmp_path / "m")
    assert check_source(model).check("source.scan").status == "warn"

    def broken(path: Path) -> str:
        raise RuntimeError("scanner exploded")

    check = check_source(model, scan=broken).check("source.scan")
    assert check.status == "warn" and "scanner exploded" in check.reason


def test_hub_cache_scan_gets_the_snapshot(tmp_path: Path) -> None:
    repo = _hub_cache(tmp_path)
    seen: list[Path] = []

    def scan(path: Path) -> str:
        seen.append(path)
        return "clean"

    check_source(repo, scan=scan)
    assert seen == [repo / "snapshots" / COMMIT]

"""The walker: vendored trees skipped, odd files listed (and binaries still handed over), loops survived."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from clearsight.discover.registry import DetectorError, run_detectors
from clearsight.discover.walk import FileRef, Skipped, TextsOnDisk, _contents, read_file, walk


def _tree(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def _reasons(skipped: list[Skipped]) -> dict[str, str]:
    return {s.rel: s.reason for s in skipped}


def test_vendored_trees_are_skipped_and_listed(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "app/main.py": "import openai\n",
        "node_modules/openai/index.js": "module.exports = {}\n",
        ".git/config": "[core]\n",
        "myenv/pyvenv.cfg": "home = /usr\n",
        "myenv/lib/x.py": "import torch\n",
        "lib/site-packages/torch/__init__.py": "",
        "app/__pycache__/main.cpython-311.pyc": b"\x00\x01",
        "build/lib/x.py": "",
    })
    skipped: list[Skipped] = []
    rels = [f.rel for f in walk([tmp_path], skipped=skipped)]
    assert rels == ["app/main.py"]
    reasons = _reasons(skipped)
    for rel in ("node_modules", ".git", "myenv", "lib/site-packages", "app/__pycache__", "build"):
        assert reasons[rel] == "excluded"


def test_binary_huge_undecodable_listed_and_binaries_still_yielded(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "weights.bin": pickle.dumps({"w": [1.0, 2.0]}, protocol=4),
        "blob.dat": b"abc\x00def" * 10,
        "big.txt": "x" * 5000,
        "latin.txt": "caf\xe9\n".encode("latin-1"),
        "ok.py": "print('hi')\n",
    })
    skipped: list[Skipped] = []
    files = {f.rel: f for f in walk([tmp_path], skipped=skipped, max_text_bytes=4096)}
    reasons = _reasons(skipped)
    assert reasons == {"weights.bin": "binary", "blob.dat": "binary", "big.txt": "huge", "latin.txt": "undecodable"}
    assert files["ok.py"].text == "print('hi')\n"
    assert files["weights.bin"].text is None
    assert files["weights.bin"].head.startswith(b"\x80\x04")
    assert len(files["big.txt"].head) == 4096 and files["big.txt"].text is None
    assert files["latin.txt"].text is None


def test_symlink_loop_does_not_hang_and_outside_links_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    _tree(root, {"pkg/a.py": "import openai\n"})
    _tree(outside, {"secret.py": "import anthropic\n"})
    os.symlink(root / "pkg", root / "pkg" / "loop")  # points at its own directory
    os.symlink(root, root / "pkg" / "up")  # points at the root
    os.symlink("self", root / "self")  # resolves to itself
    os.symlink(outside, root / "escape")
    os.symlink(outside / "secret.py", root / "linked.py")
    os.symlink(root / "pkg" / "a.py", root / "alias.py")
    skipped: list[Skipped] = []
    rels = [f.rel for f in walk([root], skipped=skipped)]
    assert rels == ["pkg/a.py"]
    reasons = _reasons(skipped)
    assert reasons["pkg/loop"] == "symlink-loop"
    assert reasons["pkg/up"] == "symlink-loop"
    assert reasons["self"] == "symlink-loop"
    assert reasons["escape"] == "outside-root"
    assert reasons["linked.py"] == "outside-root"
    assert reasons["alias.py"] == "symlink"


def test_unreadable_file_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, {"locked.py": "import openai\n", "open.py": "x = 1\n"})
    # chmod 0 cannot lock root out (CI runs as root), so the denial is simulated where files are opened.
    real_open = os.open

    def guarded(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file).endswith("locked.py"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    skipped: list[Skipped] = []
    rels = [f.rel for f in walk([tmp_path], skipped=skipped)]
    assert rels == ["open.py"]
    assert _reasons(skipped)["locked.py"] == "unreadable"


def test_fifo_and_missing_root_do_not_crash(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.py": ""})
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
    skipped: list[Skipped] = []
    rels = [f.rel for f in walk([tmp_path, tmp_path / "missing"], skipped=skipped)]
    assert rels == ["a.py"]
    reasons = _reasons(skipped)
    assert reasons["."] == "unreadable"
    if hasattr(os, "mkfifo"):
        assert reasons["pipe"] == "unreadable"


def test_fifos_and_sockets_in_the_tree_are_listed_but_never_opened(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening one has effects: a writer blocked on a FIFO is let through, a device may act on open."""
    import socket

    _tree(tmp_path, {"a.py": ""})
    names = []
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        names.append("pipe")
    if hasattr(socket, "AF_UNIX"):
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(tmp_path / "sock"))
        names.append("sock")
    opened: list[str] = []
    real_open = os.open

    def recording(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.basename(str(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording)
    skipped: list[Skipped] = []
    assert [f.rel for f in walk([tmp_path], skipped=skipped)] == ["a.py"]
    assert opened == ["a.py"]
    assert {s.rel: (s.reason, s.detail) for s in skipped} == {
        name: ("unreadable", "not a regular file") for name in names}


def test_a_file_replaced_after_the_walk_is_read_safely(tmp_path: Path) -> None:
    """Between the walk and the read a file may become a symlink or a FIFO: never followed, never waited on."""
    _tree(tmp_path, {"secret.txt": "outside", "big.py": "x = 1\n" * 5_000, "nul.bin": b"a\0b"})
    (tmp_path / "link.py").symlink_to(tmp_path / "secret.txt")
    names = ["link.py", "big.py", "nul.bin"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.py")
        names.append("pipe.py")
    skipped: list[Skipped] = []
    files = [f for name in names for f in read_file(FileRef(tmp_path / name, tmp_path, name), skipped)]
    assert [(f.rel, f.text is not None) for f in files] == [("big.py", True), ("nul.bin", False)]
    assert files[0].text == "x = 1\n" * 5_000 and files[1].head == b"a\0b"
    why = {s.rel: (s.reason, s.detail) for s in skipped}
    assert why["link.py"] == ("unreadable", "not a regular file")
    assert why["nul.bin"][0] == "binary"
    if hasattr(os, "mkfifo"):
        assert why["pipe.py"] == ("unreadable", "not a regular file")


def test_rel_paths_use_forward_slashes_and_a_file_root_works(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/b/c.py": "", "single.py": "import openai\n"})
    assert [f.rel for f in walk([tmp_path / "a"])] == ["b/c.py"]
    files = list(walk([tmp_path / "single.py"]))
    assert [f.rel for f in files] == ["single.py"]


def test_run_detectors_records_a_failing_detector_and_goes_on(tmp_path: Path) -> None:
    _tree(tmp_path, {"app.py": "import openai\n"})

    class Boom:
        id = "boom"
        description = "always fails"

        def wants(self, rel: str) -> bool:
            return True

        def detect(self, file: object) -> list[object]:
            raise ValueError("kaput")

    from clearsight.discover.registry import DETECTORS

    errors: list[DetectorError] = []
    found = run_detectors(walk([tmp_path]), detectors=[Boom(), *DETECTORS], errors=errors)  # type: ignore[list-item]
    assert [(o.kind, o.name) for o in found] == [("provider", "openai")]
    assert errors == [DetectorError(rel="app.py", detector="boom", error="ValueError: kaput")]


def test_texts_are_read_again_from_disk_on_demand(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.py").write_text("\ufeffimport os\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("gone soon\n", encoding="utf-8")
    texts = TextsOnDisk(tmp_path, [f.rel for f in walk([tmp_path]) if f.text is not None])
    assert sorted(texts) == ["app/a.py", "b.txt"] and len(texts) == 2
    assert texts["app/a.py"] == "import os\n"  # the BOM goes, as in the walk
    (tmp_path / "b.txt").unlink()
    assert texts["b.txt"] == ""  # vanished since the walk: empty, never an error
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("data/customers.csv\n", encoding="utf-8")
    (tmp_path / "b.txt").symlink_to(outside)
    assert texts["b.txt"] == ""  # a symlink put there since the walk is not followed
    with pytest.raises(KeyError):
        texts["app/never-walked.py"]


@pytest.mark.parametrize("said", [0, 50, 99, 101, 5_000])
def test_a_size_that_changed_since_fstat_still_reads_the_whole_file(tmp_path: Path, said: int) -> None:
    """One read is trusted only when it returns exactly the size fstat gave; a file that grew, shrank or came
    back short is read on to its end, up to one byte over the limit."""
    path = tmp_path / "f.py"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _contents(fd, said, limit=1_000) == b"x" * 100
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        # over the limit: read one byte past it and stop; said to be over it, only the first 8 KB are read
        assert _contents(fd, said, limit=60) == (b"x" * 61 if said <= 60 else b"x" * 100)
    finally:
        os.close(fd)


def test_small_and_large_files_read_alike(tmp_path: Path) -> None:
    """Small files are read in one call, large ones probed first: the outcome is the same for text, binary,
    huge and undecodable files on both sides of the one-read size."""
    cases = {
        "small.py": b"import openai\n", "large.py": b"import openai\n" + b"#" * 100_000,
        "small.bin": b"\x00" * 10, "large.bin": b"\x00" + b"a" * 100_000, "late-nul.py": b"a" * 9_000 + b"\x00",
        "small-latin1.py": b"caf\xe9\n", "huge.py": b"a" * 300_000,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    for name, data in cases.items():
        sink: list[Skipped] = []
        ref = FileRef(str(tmp_path / name), tmp_path, name)
        [file] = read_file(ref, sink, max_text_bytes=200_000)
        reason = sink[0].reason if sink else None
        expected = {"small.bin": "binary", "large.bin": "binary", "small-latin1.py": "undecodable",
                    "huge.py": "huge"}.get(name)
        assert reason == expected, name
        assert file.text == (data.decode() if expected is None else None), name
        assert file.head == data[:4096], name

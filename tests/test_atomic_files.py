"""Outputs land where the user pointed, whole: through symlinks, into devices and FIFOs, never over them."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from clearsight.atomic_files import destination, streamed, write_atomically
from clearsight.cli.output import write_outputs


def test_a_symlinked_output_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    """Found by a review: the report was renamed over the link, leaving its target stale."""
    (tmp_path / "real.json").write_text("old", encoding="utf-8")
    (tmp_path / "link.json").symlink_to("real.json")
    write_outputs({tmp_path / "link.json": "new"})
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "real.json").read_text(encoding="utf-8") == "new"
    write_atomically(tmp_path / "link.json", "again")
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "real.json").read_text(encoding="utf-8") == "again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]  # no sibling left behind


def test_a_device_is_written_into_not_replaced(tmp_path: Path) -> None:
    """Found by a review: ``-o /dev/null`` renamed the report over the device (as root, the system's too)."""
    assert destination(Path(os.devnull)) == (Path(os.devnull), False)
    write_outputs({Path(os.devnull): "report"})
    with streamed(Path(os.devnull)) as handle:
        handle.write("report")
    assert Path(os.devnull).is_char_device()
    assert destination(tmp_path / "new.json") == (tmp_path / "new.json", True)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_written_into(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_outputs({fifo: "through the pipe"})
    reader.join(timeout=30)
    assert got == [b"through the pipe"] and fifo.is_fifo()

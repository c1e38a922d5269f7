"""Image folders: read with Pillow into pixel columns; a pixel-trigger backdoor in PNG files is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.core.errors import InputError
from clearsight.data import simulate as sim
from clearsight.data.check import check_data
from clearsight.data.loading import load_table


def write_digits(folder: Path, data: sim.LabelledSet) -> list[str]:
    """One 8x8 grey PNG per image under folder/<digit>/; returns the paths of the poisoned ones."""
    pixels = np.stack([data.columns[f"px{i}"] for i in range(64)], axis=1)
    poisoned = []
    for i, (row, digit) in enumerate(zip(pixels, data.columns["digit"], strict=True)):
        target = folder / str(digit) / f"img{i:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((row.reshape(8, 8) * 15).astype(np.uint8), mode="L").save(target)
        if data.poisoned[i]:
            poisoned.append(f"{digit}/img{i:04d}.png")
    return poisoned


def test_pixel_backdoor_in_png_files_is_found(tmp_path: Path) -> None:
    data = sim.pixel_backdoor(sim.digits(), 0.05)
    poisoned = write_digits(tmp_path / "train", data)
    report = check_data(tmp_path / "train", label="digit")
    assert report.data.format == "images" and report.data.rows == 1797
    assert report.triggers and report.triggers[0].kind == "dirty-label"
    flagged = {r.id for r in report.flagged}
    assert set(poisoned) <= flagged
    assert report.effect is not None and report.effect.attack_success_after is not None
    assert report.effect.attack_success_after <= 0.1


def test_image_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "a" / "one.png")
    Image.new("L", (8, 8)).save(tmp_path / "a" / "two.png")
    Image.new("L", (6, 8)).save(tmp_path / "b" / "odd.png")
    with pytest.raises(InputError, match="first one was") as err:
        load_table(tmp_path, "label")
    assert err.value.path is not None and err.value.path.endswith("odd.png")
    (tmp_path / "b" / "odd.png").unlink()
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(InputError, match="not a readable image"):
        load_table(tmp_path, "label")
    (tmp_path / "b" / "notes.txt").unlink()
    (tmp_path / "b" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden files are ignored
    Image.new("L", (8, 8), 255).save(tmp_path / "b" / "three.png")
    Image.new("L", (8, 8), 255).save(tmp_path / "b" / "four.png")
    table = load_table(tmp_path, "label")
    assert table.rows == 4 and table.id_column == "path"


def test_large_images_are_reduced_and_bombs_refused(tmp_path: Path) -> None:
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for k in range(2):
            Image.new("RGB", (256, 128), (k * 100, 0, 0)).save(tmp_path / cls / f"{k}.png")
    table = load_table(tmp_path, "label")
    assert len(table.feature_names) == 32 * 16 * 3
    Image.new("L", (8000, 8000)).save(tmp_path / "a" / "bomb.png")  # 64 M pixels, over the 40 M guard
    with pytest.raises(InputError, match="not a readable image"):
        load_table(tmp_path, "label")

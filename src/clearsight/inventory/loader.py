"""Read ``clearsight.yaml`` and explain every problem with file, line, field and a hint.

Line-aware parsing and validation live in :mod:`clearsight.yaml_models`; this module adds what only an
inventory needs (known purposes and controls, unique system IDs, roots inside the inventory's folder).
Unknown keys, duplicate keys, unknown purposes and unknown control IDs are errors, never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clearsight.core.base import SourceLocation
from clearsight.core.errors import InputError
from clearsight.core.inventory import Inventory
from clearsight.core.system import AISystem, Attestation
from clearsight.inventory import INVENTORY_NAMES
from clearsight.yaml_models import line_of, load_model, read_text_file, suggest

MAX_INVENTORY_BYTES = 64 * 1024 * 1024



@dataclass(frozen=True)
class LoadedInventory:
    path: Path
    inventory: Inventory
    systems: list[AISystem]


def find_inventory(path: Path) -> Path:
    """The inventory file for a path that is either the file itself or the folder holding it."""
    try:
        path.stat()
    except FileNotFoundError:
        raise InputError("path does not exist", path=str(path)) from None
    except OSError as exc:  # a name too long, a loop of links, no permission: said as such, not as a crash
        raise InputError(f"cannot read this path ({exc.strerror or exc})", path=str(path)) from None
    if path.is_dir():
        for name in INVENTORY_NAMES:
            if (path / name).is_file():
                return path / name
        raise InputError(
            "no clearsight.yaml in this folder", path=str(path),
            hint="create one (see docs/inventory.md) or pass the file's path",
        )
    if not path.is_file():
        raise InputError("not a regular file", path=str(path))
    return path


def load_inventory(
    path: Path, *, known_purposes: set[str], known_controls: set[str]
) -> LoadedInventory:
    """Parse and validate the inventory; raises :class:`InputError` with a one-line diagnostic."""
    file = find_inventory(path)
    shown = str(file)
    text = read_text_file(file, max_bytes=MAX_INVENTORY_BYTES, what="an inventory")
    node, inventory = load_model(text, Inventory, shown, top_level="'organisation' and 'systems'",
                                 empty_hint="start from examples/fraud-detection/clearsight.yaml")

    root_dir = file.parent
    systems: list[AISystem] = []
    seen: dict[str, int] = {}
    for i, decl in enumerate(inventory.systems):
        sys_path: tuple[str | int, ...] = ("systems", i)
        line = line_of(node, sys_path)
        if decl.id in seen:
            raise InputError(f"system id '{decl.id}' is already used on line {seen[decl.id]}", path=shown,
                             line=line, field=f"systems[{i}].id")
        seen[decl.id] = line or 0
        for j, purpose in enumerate(decl.traits.purposes):
            if purpose not in known_purposes:
                raise InputError(
                    f"unknown purpose '{purpose}'", path=shown,
                    line=line_of(node, (*sys_path, "traits", "purposes", j)),
                    field=f"systems[{i}].traits.purposes[{j}]", hint=suggest(purpose, known_purposes,
                                                                             "clearsight catalogue use-cases"),
                )
        attestations: list[Attestation] = []
        for j, att in enumerate(decl.attestations):
            att_line = line_of(node, (*sys_path, "attestations", j))
            if att.control not in known_controls:
                raise InputError(
                    f"unknown control '{att.control}'", path=shown, line=att_line,
                    field=f"systems[{i}].attestations[{j}].control",
                    hint=suggest(att.control, known_controls, "clearsight catalogue controls"),
                )
            attestations.append(att.model_copy(update={"location": SourceLocation(path=shown, line=att_line)}))
        if decl.root is not None:
            _check_root(root_dir, decl.root, shown, line_of(node, (*sys_path, "root")), i)
        for j, extra in enumerate(decl.paths):
            _check_root(root_dir, extra, shown, line_of(node, (*sys_path, "paths", j)), i)
        fields = {k: v for k, v in decl.__dict__.items() if k != "attestations"}
        systems.append(AISystem(
            **fields, attestations=attestations, declared=True, location=SourceLocation(path=shown, line=line),
        ))
    return LoadedInventory(path=file, inventory=inventory, systems=systems)


def _check_root(base: Path, root: str, shown: str, line: int | None, index: int) -> None:
    target = (base / root).resolve()
    if base.resolve() not in (target, *target.parents):
        raise InputError(f"root '{root}' points outside the inventory's folder", path=shown, line=line,
                         field=f"systems[{index}].root")
    if not target.is_dir():
        raise InputError(f"root '{root}' is not a folder", path=shown, line=line, field=f"systems[{index}].root")

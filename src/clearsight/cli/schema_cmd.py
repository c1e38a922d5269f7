"""``clearsight schema {inventory,assessment}``: the JSON Schemas of our two documents."""

from __future__ import annotations

import json
from enum import StrEnum

import typer


class Document(StrEnum):
    inventory = "inventory"
    assessment = "assessment"


def schema(
    document: Document = typer.Argument(..., help="inventory (clearsight.yaml) or assessment (JSON report)."),
) -> None:
    """Print the JSON Schema of the inventory file or of the assessment report."""
    typer.echo(json.dumps(json_schema(document), indent=2))


def json_schema(document: Document) -> dict[str, object]:
    from clearsight.core.assessment import Assessment
    from clearsight.core.inventory import Inventory

    model = Inventory if document is Document.inventory else Assessment
    out = model.model_json_schema(by_alias=True)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = f"urn:clearsight:schema:{document.value}:1"
    return out

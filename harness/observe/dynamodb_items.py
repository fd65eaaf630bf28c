"""How a DynamoDB table's items stand for source rows: a read model (`pk` = "<table>#<key>",
tombstones for deleted rows) or a per-table copy of one source table, keyed by the row's own
primary key column, as DMS's DynamoDB target writes it (a deleted row's item is gone)."""

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.load.schema import KEY_COLUMN
from harness.observe.base import SnapshotRow
from harness.read_model import KEY_ATTRIBUTE, VERSION_ATTRIBUTE, entity_of, is_tombstone

_deserializer = TypeDeserializer()


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item as Python values (numbers as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class ItemLayout:
    copy_of: str | None = None
    """The source table a per-table copy holds; None for a read model."""

    def entity(self, item: dict[str, Any]) -> Entity:
        if self.copy_of is None:
            return entity_of(item[KEY_ATTRIBUTE]["S"])
        return self.copy_of, str(_deserializer.deserialize(item[KEY_COLUMN]))

    def tombstone(self, item: dict[str, Any]) -> bool:
        return self.copy_of is None and is_tombstone(item)

    def snapshot_row(self, item: dict[str, Any]) -> SnapshotRow:
        table, key = self.entity(item)
        version = int(item[VERSION_ATTRIBUTE]["N"])
        if self.tombstone(item):
            return SnapshotRow(table, key, version, "", tombstone=True)
        return SnapshotRow(table, key, version, row_digest(table, deserialize(item)), False)


READ_MODEL = ItemLayout()

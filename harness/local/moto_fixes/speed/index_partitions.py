"""A moto table's items grouped by the partition key of each index queried, kept up to date
from the keys of the items written since the last query.

moto keeps a table's items by the table's own key only, so a query of an index must look
at every item of the table: its cost grows with the table through a run (an event store's
index reader at 75 events/s took most of the DynamoDB server's core after 50,000 events).
Here a table's first query of an index groups its items by that index's partition key once;
each write after records the key of the item it wrote (`touched`: moto's table puts and
deletes, and its updates, which change items in place), and the next query regroups those
items alone. moto replaces a table's items wholesale when it rolls a transaction back: the
groups are then built again. Groups compare values as moto's query does (DynamoType's
equality).
"""

from collections.abc import Hashable
from typing import Any

_KEPT = "_cdcbench_index_partitions"
"""The attribute of a moto table that holds its groups."""

Key = tuple[Any, Any]
"""An item's (hash key, range key or None), as moto keys its table's items."""


class _Grouping:
    """One index's items by the values of its partition key attributes."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.groups: dict[tuple[Hashable, ...], dict[Key, None]] = {}
        self.where: dict[Key, tuple[Hashable, ...]] = {}

    def place(self, key: Key, item: Any | None) -> None:
        """Put the item at `key` (None: there is none now) in its group, out of any other."""
        before = self.where.pop(key, None)
        if before is not None:
            self.groups[before].pop(key, None)
        if item is None:
            return
        values = tuple(item.attrs.get(name) for name in self.names)
        if any(value is None for value in values):  # an item without the index's key is not in the index
            return
        self.groups.setdefault(values, {})[key] = None
        self.where[key] = values


class _TablePartitions:
    def __init__(self, table: Any) -> None:
        self.items = table.items
        """The dict the groups were built from (a rollback puts another in its place)."""
        self.touched: set[Key] = set()
        self.groupings: dict[tuple[str, ...], _Grouping] = {}


def touched(table: Any, key: Key) -> None:
    """Note that the item at `key` of `table` was written (or deleted)."""
    kept = table.__dict__.get(_KEPT)
    if kept is not None:
        kept.touched.add(key)


def members(table: Any, conditions: list[tuple[str, Any]]) -> list[Any]:
    """The items of `table` whose attributes equal each (name, DynamoType) of `conditions`,
    an index's partition key. The caller holds the lock every write takes."""
    kept = table.__dict__.get(_KEPT)
    if kept is None or kept.items is not table.items:
        kept = _TablePartitions(table)
        setattr(table, _KEPT, kept)
    for key in kept.touched:
        item = _item(table, key)
        for grouping in kept.groupings.values():
            grouping.place(key, item)
    kept.touched.clear()
    names = tuple(name for name, _ in conditions)
    grouping = kept.groupings.get(names)
    if grouping is None:
        grouping = kept.groupings[names] = _Grouping(names)
        for key, item in _all(table):
            grouping.place(key, item)
    keys = grouping.groups.get(tuple(value for _, value in conditions), {})
    return [item for key in keys if (item := _item(table, key)) is not None]


def _item(table: Any, key: Key) -> Any | None:
    partition = table.items.get(key[0])
    if partition is None or not table.range_key_attr:
        return partition
    return partition.get(key[1])


def _all(table: Any) -> list[tuple[Key, Any]]:
    if table.range_key_attr:
        return [
            ((hash_key, range_key), item)
            for hash_key, partition in table.items.items()
            for range_key, item in partition.items()
        ]
    return [((hash_key, None), item) for hash_key, item in table.items.items()]

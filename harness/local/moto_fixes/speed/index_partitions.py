"""A moto table's items grouped by the partition key of each index queried, kept up to date
from the keys of the items written since the last query.

moto keeps a table's items by the table's own key only, so a query of an index must look
at every item of the table: its cost grows with the table through a run (an event store's
index reader at 75 events/s took most of the DynamoDB server's core after 50,000 events).
Here a table's first query of an index groups its items by that index's partition key
once, each group in sort key order; each write after records the key of the item it wrote
(`touched`: moto's table puts and deletes, and its updates, which change items in place),
and the next query regroups those items alone. moto replaces a table's items wholesale when
it rolls a transaction back: the groups are then built again. Groups compare values as
moto's query does (DynamoType's equality).
"""

import bisect
import itertools
from collections.abc import Hashable
from typing import Any

_KEPT = "_cdcbench_index_partitions"
"""The attribute of a moto table that holds its groups."""

Key = tuple[Any, Any]
"""An item's (hash key, range key or None), as moto keys its table's items."""
Entry = tuple[tuple[Any, ...], int, Key]
"""An item in its group: where its sort key sorts, when it was placed (unique), its key."""


class _Grouping:
    """One index's items by the values of its partition key attributes, each group in the
    order of the sort key attribute queried (if any), so a query reads from its lower bound."""

    def __init__(self, names: tuple[str, ...], sort_name: str | None) -> None:
        self.names, self.sort_name = names, sort_name
        self.groups: dict[tuple[Hashable, ...], list[Entry]] = {}
        self.where: dict[Key, tuple[tuple[Hashable, ...], Entry]] = {}
        self._made = itertools.count()

    def place(self, key: Key, item: Any | None) -> None:
        """Put the item at `key` (None: there is none now) in its group, out of any other."""
        before = self.where.pop(key, None)
        if before is not None:
            group = self.groups[before[0]]
            del group[bisect.bisect_left(group, before[1])]
        if item is None:
            return
        values = tuple(item.attrs.get(name) for name in self.names)
        if any(value is None for value in values):  # without the index's key: not in it
            return
        entry = (_order(item.attrs.get(self.sort_name)), next(self._made), key)
        bisect.insort(self.groups.setdefault(values, []), entry)
        self.where[key] = (values, entry)

    def read(self, values: tuple[Hashable, ...], lower: Any | None) -> list[Key]:
        """The keys of a group in order, from the first whose sort key is `lower` or above."""
        group = self.groups.get(values, [])
        start = 0 if lower is None else bisect.bisect_left(group, (_order(lower),))
        return [entry[2] for entry in group[start:]]


class _TablePartitions:
    def __init__(self, table: Any) -> None:
        self.items = table.items
        """The dict the groups were built from (a rollback puts another in its place)."""
        self.touched: set[Key] = set()
        self.groupings: dict[tuple[tuple[str, ...], str | None], _Grouping] = {}


def touched(table: Any, key: Key) -> None:
    """Note that the item at `key` of `table` was written (or deleted)."""
    kept = table.__dict__.get(_KEPT)
    if kept is not None:
        kept.touched.add(key)


def members(
    table: Any, conditions: list[tuple[str, Any]], sort_name: str | None, lower: Any | None
) -> list[Any]:
    """The items of `table` whose attributes equal each (name, DynamoType) of `conditions`,
    an index's partition key, in the order of attribute `sort_name`, from the first at or
    above `lower` (a DynamoType; None: from the first). The caller holds the lock every
    write takes."""
    kept = table.__dict__.get(_KEPT)
    if kept is None or kept.items is not table.items:
        kept = _TablePartitions(table)
        setattr(table, _KEPT, kept)
    written, kept.touched = kept.touched, set()
    for key in written:
        item = _item(table, key)
        for grouping in kept.groupings.values():
            grouping.place(key, item)
    names = tuple(name for name, _ in conditions)
    grouping = kept.groupings.get((names, sort_name))
    if grouping is None:
        grouping = kept.groupings[(names, sort_name)] = _Grouping(names, sort_name)
        for key, item in _all(table):
            grouping.place(key, item)
    keys = grouping.read(tuple(value for _, value in conditions), lower)
    return [item for key in keys if (item := _item(table, key)) is not None]


def _order(value: Any | None) -> tuple[Any, ...]:
    """Where a sort key value (a DynamoType, None: absent) sorts: by type, then as moto
    compares values of one type."""
    return () if value is None else (value.type, value.cast_value)


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

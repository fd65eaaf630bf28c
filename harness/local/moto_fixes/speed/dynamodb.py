"""DynamoDB: items are answered in the wire form moto keeps them in, without re-walking them;
index queries weigh only the items their key condition selects; a query's items are copied
once, into its answer; an item's size and plain form are worked out once, not per Query."""

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from harness.local.moto_fixes.corrections.dynamodb import WRITE_LOCK
from harness.local.moto_fixes.guard import BotocoreShape, fix
from harness.local.moto_fixes.speed import index_partitions


@fix(
    "moto.core.serialize.BaseJSONSerializer._serialize_type_structure",
    BotocoreShape("dynamodb", "AttributeValue"),
    BotocoreShape("dynamodbstreams", "AttributeValue"),
)
def wire_form_items() -> None:
    # moto's generic response serializer walks every attribute value of every item member
    # by member, asking each of AttributeValue's ten members under each of its aliases:
    # about 2 ms of the server's core per stream record or scanned item of ten columns, the
    # largest cost of a DynamoDB projection on the local target. moto holds items in their
    # wire form already ({"S": ...}, {"M": {...}}), so those go out as they are; anything
    # else (binary values, which need base64) still takes the walk. The shape is botocore's
    # (moto serializes from botocore's service models).
    from moto.core.serialize import BaseJSONSerializer

    walk = BaseJSONSerializer._serialize_type_structure

    @functools.wraps(walk)
    def serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and _wire_form(value):
            serialized[key] = value
        else:
            walk(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize


_WIRE_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_WIRE_SETS = ("SS", "NS")


def _wire_form(value: Any) -> bool:
    """An AttributeValue already as DynamoDB's JSON puts it, without binary members."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    [(kind, content)] = value.items()
    if kind in _WIRE_SCALARS:
        return isinstance(content, _WIRE_SCALARS[kind])
    if kind in _WIRE_SETS:
        return isinstance(content, list) and all(isinstance(v, str) for v in content)
    if kind == "L":
        return isinstance(content, list) and all(_wire_form(v) for v in content)
    if kind == "M":
        return isinstance(content, dict) and all(_wire_form(v) for v in content.values())
    return False


_chosen = threading.local()
"""The items a query of this thread runs on: (table, items), or unset."""


@fix(
    "moto.dynamodb.models.table.Table.query",
    "moto.dynamodb.models.table.Table.all_items",
    "moto.dynamodb.models.table.Table.put_item",
    "moto.dynamodb.models.table.Table.delete_item",
    "moto.dynamodb.models.DynamoDBBackend.update_item",
)
def index_query_candidates() -> None:
    # moto answers a Query on an index by sorting every item of the table, keeping those of
    # the partition, sorting those, and sizing each of them (for the 1 MB page) before it
    # tries the sort-key condition: every poll of an index costs the whole table, which
    # grows through a run. Here the query runs on the items the key condition selects (the
    # partition's, kept grouped by `index_partitions`, within the sort-key range): moto's
    # own query keeps and orders exactly those, so its answer is the same, except that the
    # 1 MB page now counts only items the condition selects, as DynamoDB does.
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    query, all_items = Table.query, Table.all_items
    put_item, delete_item, update_item = (
        Table.put_item,
        Table.delete_item,
        DynamoDBBackend.update_item,
    )

    @functools.wraps(all_items)
    def items_of_query(self: Any) -> Any:
        chosen = getattr(_chosen, "items", None)
        if chosen is not None and chosen[0] is self:
            return chosen[1]
        return all_items(self)

    @functools.wraps(query)
    def narrowed(self: Any, *args: Any, **kwargs: Any) -> Any:
        items = _selected(self, *args, **kwargs)
        if items is None:
            return query(self, *args, **kwargs)
        _chosen.items = (self, items)
        try:
            return query(self, *args, **kwargs)
        finally:
            _chosen.items = None

    @functools.wraps(put_item)
    def put(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        index_partitions.touched(self, (item.hash_key, item.range_key))
        return item

    @functools.wraps(delete_item)
    def delete(self: Any, hash_value: Any, range_value: Any = None) -> Any:
        try:
            return delete_item(self, hash_value, range_value)
        finally:
            index_partitions.touched(self, (hash_value, range_value))

    @functools.wraps(update_item)
    def update(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:  # an update changes its item in place, and may fail after doing so
            _touched_by_update(self, table_name, key)

    Table.query = narrowed
    Table.all_items = items_of_query
    Table.put_item, Table.delete_item = put, delete
    DynamoDBBackend.update_item = update


def _updated(backend: Any, table_name: str, key: Any) -> tuple[Any, Any, Any] | None:
    """(table, hash value, range value) of the item an UpdateItem named, or None when the
    table or the key is not one moto could have updated."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = backend.get_table(table_name)
        hash_value = DynamoType(key[table.hash_key_attr])
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr else None
    except Exception:  # moto refused the update for it
        return None
    return table, hash_value, range_value


def _touched_by_update(backend: Any, table_name: str, key: Any) -> None:
    """Note the item an UpdateItem named as written."""
    if updated := _updated(backend, table_name, key):
        table, hash_value, range_value = updated
        index_partitions.touched(table, (hash_value, range_value))


def _selected(
    table: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: Any,
    scan_index_forward: bool,
    projection_expressions: Any,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, Any]] | None = None,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
    **filter_kwargs: Any,
) -> list[Any] | None:
    """The items an index query's key condition selects (its arguments bound as moto's
    `Table.query` binds them), or None where moto's own search should run: a table query,
    a legacy QueryFilter, no key condition expression."""
    if not index_name or filter_kwargs or not hash_key_conditions:
        return None
    if range_comparison and not range_key_conditions:
        return None
    sort_key = range_key_conditions[-1][0] if range_key_conditions else None
    lower = range_objs[0] if range_comparison in _FROM_FIRST_VALUE else None
    with WRITE_LOCK:
        candidates = index_partitions.members(table, hash_key_conditions, sort_key, lower)
    if not range_comparison:
        return candidates
    chosen = []
    for item in candidates:
        value = item.attrs.get(sort_key)
        if value and value.compare(range_comparison, range_objs):
            chosen.append(item)
    return chosen


_FROM_FIRST_VALUE = {"EQ", "=", "GE", ">=", "GT", ">", "BETWEEN", "BEGINS_WITH"}
"""Sort key conditions no value below their first meets."""


_answering = threading.local()
"""Set while this thread answers a Query under the write lock."""


@fix("moto.dynamodb.responses.DynamoHandler.query", "moto.dynamodb.models.table.copy")
def query_items_copied_once() -> None:
    # moto's Query deep-copies every item it found (so that a write after it cannot change
    # the answer), then converts the copies into the answer's plain form: two walks of each
    # item, the larger one the copy, which an event store's index reader repeats on every
    # poll of its lookback window (a third of the DynamoDB server's core at 150 events/s).
    # Here the whole Query, the conversion included, runs under the lock every write takes
    # (`corrections.dynamodb.atomic_writes`), so no write can land between finding an item
    # and converting it, and the copy is skipped: the answer is the same. Nothing in
    # moto's Query changes the items it found (an index's projection makes new ones).
    import copy as copy_module

    from moto.dynamodb.models import table
    from moto.dynamodb.responses import DynamoHandler

    query = DynamoHandler.query

    @functools.wraps(query)
    def answered_under_lock(self: Any) -> Any:
        with WRITE_LOCK:
            _answering.now = True
            try:
                return query(self)
            finally:
                _answering.now = False

    class _Copy:
        """`copy` as moto's table module sees it: a Query answered under the lock keeps
        its items; every other copy is made."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy_module, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if getattr(_answering, "now", False):
                return value
            return copy_module.deepcopy(value, memo)

    DynamoHandler.query = answered_under_lock
    table.copy = _Copy()  # type: ignore[assignment]


KEPT_ITEMS = 20_000
"""Items whose size and plain form are kept, the most recently queried: an index reader's
window at the benchmark's rates, about 60 MB of plain forms."""


class _KeptForms:
    """The size and plain form of the items queried most recently, by their attributes'
    identity (an entry holds the attributes, so the identity is not reused while kept).
    Used under the write lock only."""

    def __init__(self, most: int) -> None:
        self._most = most
        self._forms: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def get(self, attrs: Any, form: str, work: Callable[[], Any]) -> Any:
        """`form` of the item with `attrs`, worked out by `work` unless kept."""
        entry = self._forms.get(id(attrs))
        if entry is None:
            entry = self._forms[id(attrs)] = {"attrs": attrs}
            if len(self._forms) > self._most:
                self._forms.popitem(last=False)
        else:
            self._forms.move_to_end(id(attrs))
        if form not in entry:
            entry[form] = work()
        return entry[form]

    def forget(self, attrs: Any) -> None:
        self._forms.pop(id(attrs), None)


@fix(
    "moto.dynamodb.models.dynamo_type.Item.size",
    "moto.dynamodb.responses.dynamo_to_dict",
    "moto.dynamodb.models.DynamoDBBackend.update_item",
)
def item_forms_kept() -> None:
    # A Query answers each item it finds in two forms moto works out again on every call:
    # its size (weighed against the 1 MB page) and its plain form (`dynamo_to_dict`, for
    # the serializer). An event store's index reader finds each event on about ten polls:
    # the two took a quarter of the DynamoDB server's core at 200 events/s. Within a Query
    # answered under the write lock (`query_items_copied_once`: its items are the table's
    # own), both are kept for the last `KEPT_ITEMS` items queried, and dropped when
    # UpdateItem (the only write that changes an item in place: puts replace it, deletes
    # drop it) has run on the item's key, whether it succeeded or not. Other reads work
    # them out as moto does: their items are copies.
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    plain, size, update_item = responses.dynamo_to_dict, Item.size, DynamoDBBackend.update_item
    kept = _KeptForms(KEPT_ITEMS)

    @functools.wraps(size)
    def kept_size(self: Any) -> int:
        if not getattr(_answering, "now", False):
            return size(self)
        return int(kept.get(self.attrs, "size", lambda: size(self)))

    @functools.wraps(plain)
    def kept_plain(obj: Any) -> Any:
        if not getattr(_answering, "now", False):
            return plain(obj)
        if isinstance(obj, LimitedSizeDict):
            return kept.get(obj, "plain", lambda: plain(obj))
        if isinstance(obj, dict):
            return {k: kept_plain(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [kept_plain(v) for v in obj]
        return plain(obj)

    @functools.wraps(update_item)
    def update(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        with WRITE_LOCK:  # no Query between the change and the forgetting
            try:
                return update_item(self, table_name, key, *args, **kwargs)
            finally:
                if updated := _updated(self, table_name, key):
                    table, hash_value, range_value = updated
                    item = table.get_item(hash_value, range_value)
                    if item is not None:
                        kept.forget(item.attrs)

    Item.size = kept_size
    responses.dynamo_to_dict = kept_plain
    DynamoDBBackend.update_item = update

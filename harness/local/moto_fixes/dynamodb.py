"""DynamoDB: each write is atomic, as on AWS; items are answered without re-walking them."""

import functools
import threading
from typing import Any

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def apply() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    # moto's server runs requests in threads and its writes take no lock: two concurrent
    # conditional puts can both pass their condition, and two stream records can get the
    # same sequence number (it is the shard's length when the record is made). A reader
    # of the stream then gets one record again and again. One lock makes every write whole.
    lock = threading.RLock()

    def atomic(write: Any) -> Any:
        @functools.wraps(write)
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return write(self, *args, **kwargs)

        return locked

    for name in _WRITES:
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))

    # moto's generic response serializer walks every attribute value of every item member
    # by member, asking each of AttributeValue's ten members under each of its aliases:
    # about 2 ms of the server's core per stream record or scanned item of ten columns, the
    # largest cost of a DynamoDB projection on the local target. moto holds items in their
    # wire form already ({"S": ...}, {"M": {...}}), so those go out as they are; anything
    # else (binary values, which need base64) still takes the walk.
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

"""DynamoDB: items are answered in the wire form moto keeps them in, without re-walking them."""

import functools
from typing import Any

from harness.local.moto_fixes.guard import BotocoreShape, fix


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

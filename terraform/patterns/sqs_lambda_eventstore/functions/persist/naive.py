"""The article's Lambda (Node.js, aws-sdk v2), ported line for line: each message of the
batch becomes an item {RequestId, Timestamp, Data, Id, Type, Source} of the event table.
(The Node code runs the puts concurrently, with Promise.all; this runs them in turn.)

What it does wrong:
- drops every falsy value of `data` ("ignore null values": JavaScript's truthiness also
  drops 0, 0.0, "" and false), so a price or a quantity of 0 is lost;
- stringifies the rest with JavaScript's toString(): every value is an S, numbers as a
  JavaScript double prints them (precision past 2^53 is lost), a jsonb column's text as is,
  an object as "[object Object]";
- keys items by the event's second-resolution timestamp within its request: two events of
  one transaction in the same second (several rows changed together) overwrite each other,
  only the last put is left;
- swallows errors: a put that fails (throttling, a bad field) is logged and the message is
  deleted all the same, as the handler returns normally. A body that is not JSON throws
  outside the put's catch, as in the Node code: the whole batch fails then, and returns to
  the queue (persisted again, up to the dead-letter queue).

Environment: EVENT_TABLE (the article's table is named `event`).
"""

import json
import math
from decimal import Decimal
from typing import Any

from event_table import dynamodb, table_name


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        message = json.loads(record["body"], parse_constant=_not_json)
        print("MESSAGE: " + json.dumps(message, ensure_ascii=False))

        # Build data object and ignore null values
        data = {}
        for key, value in _js_entries(_js_get(message, "data")):
            if _js_truthy(value):
                data[key] = {"S": _js_string(value)}

        # Build dynamodb item
        item = {
            "TableName": table_name(),
            "Item": {
                "RequestId": {"S": _js_get(message, "requestId")},
                "Timestamp": {"S": _js_get(message, "timestamp")},
                "Data": {"M": data},
                "Id": {"S": _js_get(message, "id")},
                "Type": {"S": _js_get(message, "type")},
                "Source": {"S": _js_get(message, "source")},
            },
        }
        print("ITEM: " + json.dumps(item, ensure_ascii=False))

        # Insert dynamodb item
        try:
            dynamodb().put_item(**item)
            print("Item inserted")
        except Exception as err:
            print(repr(err))


# --- JavaScript's semantics, as far as the handler relies on them -----------------------------


def _not_json(constant: str) -> Any:
    """JSON.parse refuses NaN and Infinity (Python's json takes them)."""
    raise ValueError(f"Unexpected token {constant[0]} in JSON")


def _js_get(value: Any, key: str) -> Any:
    """`value.key` of a parsed JSON value: undefined (None) when absent; null throws."""
    if value is None:
        raise TypeError(f"Cannot read property '{key}' of null")
    return value.get(key) if isinstance(value, dict) else None


def _js_entries(value: Any) -> list[tuple[str, Any]]:
    """(key, value) as `for (let key in value)` visits them: an array's or a string's
    indices, an object's keys, nothing for null, undefined, numbers and booleans."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list | str):
        return [(str(i), v) for i, v in enumerate(value)]
    return []


def _js_truthy(value: Any) -> bool:
    """JavaScript's truthiness: null, false, 0, NaN and "" are falsy; [] and {} are not."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def _js_string(value: Any) -> str:
    """`value.toString()` of a parsed JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # Array.prototype.join: null elements become ""
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return "null" if value is None else str(value)


def _js_number(value: int | float) -> str:
    """Number.prototype.toString() of the double JSON.parse makes of `value` (ECMAScript's
    Number::toString: the shortest digits that read back, Python's repr gives the same;
    plain notation from 1e-7 to below 1e21, exponent notation outside)."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    exact = Decimal(repr(abs(number))).normalize()
    digits = "".join(map(str, exact.as_tuple().digits))
    k = len(digits)
    n = k + int(exact.as_tuple().exponent)  # the value is 0.<digits> x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text

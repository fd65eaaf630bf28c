"""The S3 sink's JsonFormat: each record value as one line, byte for byte as the connector
writes it.

Hand-written because no Python library reproduces what the JVM side does to a value: Kafka
Connect's schemaless JsonConverter turns a JSON object into a `java.util.HashMap` (so keys come
out in hash-bucket order, not document order), integers into `long` and other numbers into
`double`; Jackson then writes that map compactly and doubles as `Double.toString` does
(`1.0E7`, `1.0E-4`). StringConverter hands the value over as a string, which Jackson writes as
a JSON string. Not modelled: the tree bins a HashMap builds for eight or more keys colliding in
one bucket.
"""

import json
import math
from decimal import Decimal
from typing import Any

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter"
CONVERTERS = (JSON_CONVERTER, STRING_CONVERTER)

_LOAD_FACTOR = 0.75
_INITIAL_CAPACITY = 16


def render(value: bytes, converter: str) -> bytes:
    """One output line for a non-null record value (ValueError if JsonConverter cannot parse it)."""
    if converter == STRING_CONVERTER:
        text: Any = value.decode("utf-8", errors="replace")
    else:
        text = json.loads(value, parse_constant=_reject)
    return _write(text).encode("utf-8", errors="surrogatepass") + b"\n"


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _write(value: Any) -> str:
    if isinstance(value, dict):
        members = (f"{_write(k)}:{_write(value[k])}" for k in hashmap_order(list(value)))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str((value + 2**63) % 2**64 - 2**63)  # a Java long, as JsonNode.longValue() gives
    return java_double(value)


def hashmap_order(keys: list[str]) -> list[str]:
    """The iteration order of a `java.util.HashMap` filled with `keys` in this order."""
    capacity = _INITIAL_CAPACITY
    while len(keys) > capacity * _LOAD_FACTOR:
        capacity *= 2

    def bucket(key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(keys, key=bucket)  # stable: a bucket keeps insertion order


def java_string_hash(text: str) -> int:
    """`String.hashCode()` as an unsigned 32-bit number (over UTF-16 code units)."""
    units = text.encode("utf-16-le", errors="surrogatepass")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return h


def java_double(value: float) -> str:
    """`Double.toString(value)`, with the digits JDK 19 and later choose (the shortest that
    round-trip, at least two)."""
    if math.isinf(value):  # Jackson quotes the non-numeric doubles
        return '"Infinity"' if value > 0 else '"-Infinity"'
    sign = "-" if str(value).startswith("-") else ""
    if value == 0:
        return sign + "0.0"
    shortest = Decimal(repr(abs(value))).normalize()
    if len(shortest.as_tuple().digits) == 1:  # Java keeps two digits: the pair nearest the value
        shortest = Decimal(format(abs(value), ".1e")).normalize()
    parts = shortest.as_tuple()
    digits = "".join(map(str, parts.digits))
    exponent = len(digits) + int(parts.exponent) - 1
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            return f"{sign}{whole}.{digits[exponent + 1 :] or '0'}"
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"

"""What Firehose writes to an S3 destination: object keys, record framing and compression.

Object keys follow AWS: `<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>` plus
`.gz` for GZIP or the configured `FileExtension`. A prefix without a `!{timestamp:...}`
expression gets `YYYY/MM/dd/HH/` appended (AWS's rule; moto also inserts a "/" after the
prefix, AWS does not). Times are the arrival time of the oldest record in the object, in UTC
or the destination's `CustomTimeZone`. Records are concatenated with no delimiter unless an
`AppendDelimiterToRecord` processor adds a newline to each.

Features whose output is not produced here (other compressions, Lambda and other
processors, format conversion, dynamic partitioning, S3 backup, other prefix expressions) are
refused at create/update with one line (`unsupported`), rather than delivered in the wrong
form. Pure functions: imported by the engine and by moto's side of the hand-over.
"""

import gzip
import random
import re
import string
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIB = 1024 * 1024
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_S = 300
_COMPRESSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}
_DELIMITER_PROCESSOR = "AppendDelimiterToRecord"
_DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd/HH/}"
_EXPRESSION = re.compile(r"!\{([^}]*)\}")
_JAVA_TOKEN = re.compile(r"'[^']*'|([A-Za-z])\1*|[^A-Za-z']+")
_JAVA_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}
_RANDOM_CHARS = string.ascii_letters + string.digits


def _java_datetime(pattern: str, at: datetime) -> str:
    """Format `at` with the subset of Java DateTimeFormatter patterns prefixes use."""
    out: list[str] = []
    covered = 0
    for token in _JAVA_TOKEN.finditer(pattern):
        text = token.group(0)
        covered += len(text)
        if text.startswith("'"):
            out.append(text[1:-1] or "'")
        elif token.group(1):
            if text not in _JAVA_FIELDS:
                raise ValueError(f"timestamp pattern {text!r} is not emulated locally")
            out.append(at.strftime(_JAVA_FIELDS[text]))
        else:
            out.append(text)
    if covered != len(pattern):
        raise ValueError(f"timestamp pattern {pattern!r} has an unterminated quote")
    return "".join(out)


def evaluate_prefix(prefix: str, at: datetime) -> str:
    """The S3 key prefix AWS evaluates from `prefix` for an object whose oldest record
    arrived `at`."""
    if "!{timestamp:" not in prefix:
        prefix += _DEFAULT_TIME_PREFIX

    def expression(match: re.Match[str]) -> str:
        namespace, _, value = match.group(1).partition(":")
        if namespace == "timestamp":
            return _java_datetime(value, at)
        if match.group(1) == "firehose:random-string":
            return "".join(random.choices(_RANDOM_CHARS, k=11))
        raise ValueError(f"prefix expression {match.group(0)!r} is not emulated locally")

    return _EXPRESSION.sub(expression, prefix)


def object_key(destination: dict[str, Any], stream: str, version: str, arrival: float) -> str:
    """The key of an object whose oldest record arrived at `arrival` (epoch seconds)."""
    zone = ZoneInfo(destination["CustomTimeZone"]) if destination.get("CustomTimeZone") else UTC
    at = datetime.fromtimestamp(arrival, zone)
    extension = destination.get("FileExtension") or _COMPRESSIONS.get(
        destination.get("CompressionFormat") or "UNCOMPRESSED", ""
    )
    return (
        f"{evaluate_prefix(destination.get('Prefix') or '', at)}"
        f"{stream}-{version}-{at.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}{extension}"
    )


def bucket(destination: dict[str, Any]) -> str:
    """The destination bucket's name (from `arn:aws:s3:::<name>`)."""
    return str(destination["BucketARN"]).split(":")[-1]


def _enabled(config: dict[str, Any], name: str) -> bool:
    return bool((config.get(name) or {}).get("Enabled"))


def _processors(destination: dict[str, Any]) -> list[str]:
    """The types of the destination's enabled record processors."""
    if not _enabled(destination, "ProcessingConfiguration"):
        return []
    return [p.get("Type") for p in destination["ProcessingConfiguration"].get("Processors") or []]


def delimiter(destination: dict[str, Any]) -> bytes:
    """What follows each record in an object."""
    return b"\n" if _DELIMITER_PROCESSOR in _processors(destination) else b""


def body(destination: dict[str, Any], records: list[bytes]) -> bytes:
    """An object's content: the records (delimited already), compressed as configured."""
    data = b"".join(records)
    return gzip.compress(data) if destination.get("CompressionFormat") == "GZIP" else data


def hints(destination: dict[str, Any]) -> tuple[int, int]:
    """(buffer size limit in bytes, buffer interval in seconds): BufferingHints SizeInMBs
    (MiB, default 5; counted before compression, as AWS does) and IntervalInSeconds (default
    300; 0 delivers every put at once)."""
    given = destination.get("BufferingHints") or {}
    size_mb = given.get("SizeInMBs")
    interval = given.get("IntervalInSeconds")
    return (
        int(DEFAULT_SIZE_MB if size_mb is None else size_mb) * MIB,
        int(DEFAULT_INTERVAL_S if interval is None else interval),
    )


def unsupported(destination: dict[str, Any]) -> str | None:
    """Why this S3 destination cannot be delivered faithfully here; None if it can."""
    compression = destination.get("CompressionFormat") or "UNCOMPRESSED"
    if compression not in _COMPRESSIONS:
        return f"CompressionFormat {compression} is not emulated locally: use GZIP or UNCOMPRESSED"
    other = [p for p in _processors(destination) if p != _DELIMITER_PROCESSOR]
    if other:
        return f"processor {other[0]} is not emulated locally: only {_DELIMITER_PROCESSOR}"
    for feature in ("DataFormatConversionConfiguration", "DynamicPartitioningConfiguration"):
        if _enabled(destination, feature):
            return f"{feature} is not emulated locally: disable it"
    if destination.get("S3BackupMode") == "Enabled":
        return "S3BackupMode Enabled is not emulated locally: use Disabled"
    zone = destination.get("CustomTimeZone")
    try:
        if zone:
            ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return f"CustomTimeZone {zone!r} is not a known time zone: use an IANA name"
    try:
        evaluate_prefix(destination.get("Prefix") or "", datetime.now(UTC))
    except ValueError as exc:
        return f"Prefix: {exc}"
    return None

"""Firehose: delivery to S3 buffered per stream, as AWS does it.

moto writes one S3 object per PutRecord/PutRecordBatch, at once, so an archive fed
through Firehose would show neither AWS's object sizes nor its delay. Here each delivery
stream with an S3 or ExtendedS3 destination buffers its records in memory and delivers
them as one object when the buffer reaches `BufferingHints.SizeInMBs` (MiB, default 5;
checked before compression, as AWS does) or when `IntervalInSeconds` (default 300; 0
delivers every put at once) has passed since the buffer's first record, whichever comes
first. A timer thread in the moto process delivers on interval; a put that fills the
buffer delivers in its own request. Records are concatenated with no delimiter unless an
`AppendDelimiterToRecord` processor adds a newline to each.

Object keys follow AWS: `<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`
plus `.gz` for GZIP or the configured `FileExtension`. A prefix without a
`!{timestamp:...}` expression gets `YYYY/MM/dd/HH/` appended (AWS's rule; moto also
inserts a "/" after the prefix, AWS does not). Times are the arrival time of the oldest
record in the object, in UTC or the destination's `CustomTimeZone`.

A failed S3 write keeps the records buffered and is retried (AWS retries for up to
24 hours). Deleting a stream delivers what it buffered (AWS makes no promise there). At
server stop buffered records vanish with the rest of moto's in-memory state, its S3
objects included, so nothing is delivered then. Features whose output this module does
not produce (other compressions, Lambda and other processors, format conversion, dynamic
partitioning, S3 backup, other prefix expressions) are refused at create/update with one
line, rather than delivered in the wrong form; other destinations are left to moto.
"""

import gzip
import inspect
import logging
import random
import re
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("harness.local.moto_fixes.firehose")

MIB = 1024 * 1024
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_S = 300
RETRY_S = 5.0
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


def _enabled(config: dict[str, Any], name: str) -> bool:
    return bool((config.get(name) or {}).get("Enabled"))


def _processors(destination: dict[str, Any]) -> list[str]:
    """The types of the destination's enabled record processors."""
    if not _enabled(destination, "ProcessingConfiguration"):
        return []
    return [p.get("Type") for p in destination["ProcessingConfiguration"].get("Processors") or []]


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


@dataclass
class _Buffer:
    """Records a stream holds for its next object."""

    backend: Any
    """The FirehoseBackend (account, partition) the stream belongs to."""
    stream: str
    version: str
    destination: dict[str, Any]
    first_arrival: float
    deadline: float
    """time.monotonic() at which the buffer is delivered whatever its size."""
    records: list[bytes] = field(default_factory=list)
    size: int = 0
    failing: bool = False
    """The last delivery failed: only the timer retries it."""


def _hints(destination: dict[str, Any]) -> tuple[int, int]:
    """(size limit in bytes, interval in seconds)."""
    hints = destination.get("BufferingHints") or {}
    size_mb = hints.get("SizeInMBs")
    interval = hints.get("IntervalInSeconds")
    return (
        int(DEFAULT_SIZE_MB if size_mb is None else size_mb) * MIB,
        int(DEFAULT_INTERVAL_S if interval is None else interval),
    )


class Buffers:
    """Every stream's buffer, and the timer thread that delivers them on interval.

    One lock covers buffering and delivery, so a stream's objects are written in the
    order their records arrived."""

    def __init__(self, write: Callable[[_Buffer], None]) -> None:
        self._write = write
        self._buffers: dict[tuple[str, str, str], _Buffer] = {}
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="firehose-buffers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(
        self,
        backend: Any,
        stream: str,
        version: str,
        destination: dict[str, Any],
        records: list[bytes],
    ) -> None:
        key = (backend.account_id, backend.region_name, stream)
        limit, interval = _hints(destination)
        delimiter = b"\n" if _DELIMITER_PROCESSOR in _processors(destination) else b""
        with self._wake:
            for data in records:
                buffer = self._buffers.get(key)
                if buffer is None:
                    deadline = time.monotonic() + interval
                    buffer = _Buffer(backend, stream, version, destination, time.time(), deadline)
                    self._buffers[key] = buffer
                    self._wake.notify()
                buffer.records.append(data + delimiter)
                buffer.size += len(data) + len(delimiter)
                if buffer.size >= limit and not buffer.failing:
                    self._deliver(key)
            buffer = self._buffers.get(key)
            if interval == 0 and buffer is not None and not buffer.failing:
                self._deliver(key)

    def flush(self, backend: Any, stream: str) -> None:
        """Deliver what `stream` holds now."""
        with self._wake:
            self._deliver((backend.account_id, backend.region_name, stream))

    def _deliver(self, key: tuple[str, str, str]) -> None:
        buffer = self._buffers.get(key)
        if buffer is None:
            return
        try:
            self._write(buffer)
        except Exception as exc:  # e.g. the bucket is gone: AWS keeps retrying
            log.warning("Firehose %s: S3 delivery failed, retrying: %s", buffer.stream, exc)
            buffer.deadline = time.monotonic() + RETRY_S
            buffer.failing = True
            return
        del self._buffers[key]

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for key in [k for k, b in self._buffers.items() if b.deadline <= now]:
                    self._deliver(key)
                deadlines = [b.deadline for b in self._buffers.values()]
                self._wake.wait(min(deadlines) - now if deadlines else None)


def _write(buffer: _Buffer) -> None:
    from moto.s3.models import s3_backends

    destination = buffer.destination
    data = b"".join(buffer.records)
    if destination.get("CompressionFormat") == "GZIP":
        data = gzip.compress(data)
    key = object_key(destination, buffer.stream, buffer.version, buffer.first_arrival)
    bucket = destination["BucketARN"].split(":")[-1]
    backend = buffer.backend
    s3_backends[backend.account_id][backend.partition].put_object(bucket, key, data)


def _checked(method: Callable[..., Any], *config_args: str) -> Callable[..., Any]:
    """`method`, refusing S3 destination configs (named arguments) it cannot deliver."""
    from moto.firehose.exceptions import InvalidArgumentException

    signature = inspect.signature(method)

    def checked(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs).arguments
        for name in config_args:
            problem = unsupported(bound[name]) if bound.get(name) else None
            if problem:
                raise InvalidArgumentException(problem)
        return method(*args, **kwargs)

    return checked


def apply() -> None:
    from moto.firehose.models import FirehoseBackend

    buffers = Buffers(_write)
    buffers.start()
    moto_delete = FirehoseBackend.delete_delivery_stream

    # moto writes one object per put, at once; AWS buffers (see the module docstring).
    # Returns moto's answer: one RecordId per record.
    def put_s3_records(
        self: Any,
        delivery_stream_name: str,
        version_id: str,
        s3_destination: dict[str, Any],
        records: list[dict[str, bytes]],
    ) -> list[dict[str, str]]:
        data = [r["Data"] for r in records]
        buffers.add(self, delivery_stream_name, version_id, s3_destination, data)
        return [{"RecordId": str(uuid.uuid4())} for _ in records]

    # moto had no buffer to deliver on delete; the stream's buffer is delivered first.
    def delete_delivery_stream(self: Any, delivery_stream_name: str) -> None:
        if delivery_stream_name in self.delivery_streams:
            buffers.flush(self, delivery_stream_name)
        moto_delete(self, delivery_stream_name)

    FirehoseBackend.put_s3_records = put_s3_records
    FirehoseBackend.delete_delivery_stream = delete_delivery_stream
    FirehoseBackend.create_delivery_stream = _checked(
        FirehoseBackend.create_delivery_stream,
        "s3_destination_configuration",
        "extended_s3_destination_configuration",
    )
    FirehoseBackend.update_destination = _checked(
        FirehoseBackend.update_destination,
        "s3_destination_update",
        "extended_s3_destination_update",
    )

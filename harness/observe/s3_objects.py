"""Observe an S3 event store: every object under a prefix, read once and decoded row by row.

Objects are DMS S3 target CSV (`dms_csv`), MSK Connect S3 sink objects with one DMS
message per line (`dms_json_lines`), or Firehose deliveries of DMS messages concatenated
with or without a delimiter between them (`json_records`, DMS messages or another
`formats.messages` format).

S3 lists keys in lexical order, but these layouts are lexical only within a family of keys:
the names in one folder up to and including their first digit (a table's LOAD files, its
CDC files, the CDC_TXN files, one topic partition's objects, one Firehose hour's objects).
Each poll lists after the newest key read (families that sort last: a new Firehose hour)
and after the newest key read of each family; every `relist_s` a full listing finds the
rest: new families that sort before keys already read (a table's first CDC file after its
LOAD files), and objects that landed after a lexically later one of their family,
counted in `late_objects` (such an object is what a DMS S3 source skips without a word).
"""

import json
import logging
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats import Decoded
from harness.observe.formats.dms_csv import DmsCsv
from harness.observe.formats.messages import Messages

log = logging.getLogger("harness.observe")

_MAX_OBJECTS_PER_POLL = 100
_DOWNLOADS = 4
"""Objects downloaded at once, as a reader keeping up with a busy store does: one at a time,
a poll waits out each answer in turn, which bounds it near 80 objects/s on the local target
(an S3 sink writing an object per record fills a store faster than that)."""
_FIRST_DIGIT = re.compile(r"\d")
_JSON = json.JSONDecoder()


class ObjectFormat(Protocol):
    def accepts(self, key: str) -> bool:
        """Whether the object holds data in this format (others are skipped unread)."""

    def decode(self, key: str, text: str) -> Iterator[tuple[int, Decoded]]:
        """(position within the object, change) for each row change it holds."""

    def control_records(self) -> dict[str, int] | None:
        """Control records read so far, by operation; None if the format has none."""


class DmsJsonLines:
    """MSK Connect S3 sink objects (`<topic>+<partition>+<offset>.json`): one record value
    per line, the DMS message itself (JsonConverter) or a JSON string holding its text
    (StringConverter, MSK Connect's default worker). Positions are line numbers."""

    _SIDE_FILES = (".keys.json", ".headers.json")
    """What the sink writes beside the values with store.kafka.keys / headers."""

    def __init__(self) -> None:
        self._messages = Messages("dms_json")

    def accepts(self, key: str) -> bool:
        return key.endswith(".json") and not key.endswith(self._SIDE_FILES)

    def control_records(self) -> dict[str, int]:
        return dict(self._messages.control)

    def decode(self, key: str, text: str) -> Iterator[tuple[int, Decoded]]:
        for line, record in enumerate(text.split("\n"), 1):
            if not record.strip():
                continue
            source = f"{key}:{line}"
            # a JSON string holds the message's text (StringConverter): parsed once more
            decoded = self._messages.decode(_parse(record, source), source)
            if decoded is not None:
                yield line, decoded


class JsonRecords:
    """Firehose objects: JSON documents concatenated as put, with a newline between them
    only if a processor appended one, each a message of format `message` (DMS messages by
    default). Positions count the documents in the object (their line numbers when
    newline-delimited)."""

    def __init__(self, message: str = "dms_json") -> None:
        self._messages = Messages(message)

    @staticmethod
    def accepts(key: str) -> bool:
        return not key.endswith("/")

    def control_records(self) -> dict[str, int]:
        return dict(self._messages.control)

    def decode(self, key: str, text: str) -> Iterator[tuple[int, Decoded]]:
        at, number = _skip_space(text, 0), 0
        while at < len(text):
            number += 1
            source = f"{key}:{number}"
            try:
                document, at = _JSON.raw_decode(text, at)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{source}: {exc}") from None
            decoded = self._messages.decode(document, source)
            if decoded is not None:
                yield number, decoded
            at = _skip_space(text, at)


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: {exc}") from None


FORMATS: dict[str, type[ObjectFormat]] = {
    "dms_csv": DmsCsv,
    "dms_json_lines": DmsJsonLines,
    "json_records": JsonRecords,
}


def family_of(key: str) -> str:
    """The key's family: its folder and its name up to and including the first digit."""
    folder = key.rfind("/") + 1
    digit = _FIRST_DIGIT.search(key, folder)
    return key[: digit.end()] if digit else key[:folder]


class S3ObjectsObserver(Observer):
    """Reads every object under `prefix` once, in key order, and logs its row changes.

    Positions are `<key>:<n>`, n as the format counts (a line number). `seen_ns` is when a
    listing first showed the object, not when its download finished: an S3 object is whole
    and readable by anyone from the moment it is listed, and download times (which grow
    with the object and with the objects downloaded before it in a poll) are this
    observer's, not the projection's. A poll reads at most 100 objects, `_DOWNLOADS` at once
    (`lagging` when more wait). Keyword options go to the format (`dms_csv`: the endpoint's
    S3Settings, e.g. `include_op_for_full_load=True`)."""

    idle_s = 0.1
    """An idle poll lists 1 + families prefixes, each ~4 ms of moto's core: at 0.1 s a store
    of three families keeps ~12% of it busy (~45% at the base 0.01 s). S3 sinks write on
    intervals of a second or more, so 0.1 s of added lag stays well below their floor."""
    relist_s = 1.0
    """Least time between full listings; a listing that took t waits at least 10 t."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        bucket: str,
        prefix: str = "",
        format: str = "dms_csv",
        **format_options: Any,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown S3 object format {format!r}: one of {sorted(FORMATS)}")
        super().__init__(projection, log_path)
        self.bucket = bucket
        self.prefix = prefix
        self.format = FORMATS[format](**format_options)
        self.late_objects = 0
        """Objects that landed after a lexically later object of their family was read."""
        self._s3 = aws.client("s3")  # thread-safe: the downloads share it
        self._downloads = ThreadPoolExecutor(_DOWNLOADS, thread_name_prefix=f"{projection}-get")
        self._read: set[str] = set()
        self._pending: dict[str, int] = {}
        """Listed, not read yet -> when first listed (time.time_ns())."""
        self._newest = ""
        self._families: dict[str, str] = {}
        """Family -> its newest key read."""
        self._relist_at = 0.0

    def control_records(self) -> dict[str, int] | None:
        return self.format.control_records()

    def poll(self) -> list[Observation]:
        self._list_new()
        batch = sorted(self._pending)[:_MAX_OBJECTS_PER_POLL]
        self.lagging = len(self._pending) > len(batch)
        wanted: list[tuple[str, int]] = []
        for key in batch:
            seen_ns = self._pending.pop(key)
            self._mark_read(key)
            if self.format.accepts(key):
                wanted.append((key, seen_ns))
        bodies = self._downloads.map(self._download, [key for key, _ in wanted])
        seen: list[Observation] = []
        for (key, seen_ns), body in zip(wanted, bodies, strict=True):
            seen += self._decode(key, seen_ns, body)
        return seen

    def stop(self) -> None:
        super().stop()
        self._downloads.shutdown()

    def _download(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def _decode(self, key: str, seen_ns: int, body: bytes) -> list[Observation]:
        try:
            changes = list(self.format.decode(key, body.decode()))
        except ValueError as exc:  # not UTF-8, or a value the schema's kinds cannot read
            if key in str(exc):
                raise
            raise ValueError(f"{key}: {exc}") from None
        return [d.observation(self.projection, seen_ns, f"{key}:{n}") for n, d in changes]

    def _mark_read(self, key: str) -> None:
        family = family_of(key)
        newest = self._families.get(family, "")
        if key < newest:
            self.late_objects += 1
            log.warning("%s: s3://%s/%s landed after %s", self.projection, self.bucket, key, newest)
        self._families[family] = max(newest, key)
        self._newest = max(self._newest, key)
        self._read.add(key)

    def _list_new(self) -> None:
        started = time.monotonic()
        if started >= self._relist_at:
            self._list(self.prefix)
            self._relist_at = time.monotonic() + max(
                self.relist_s, 10 * (time.monotonic() - started)
            )
            return
        self._list(self.prefix, self._newest)
        for family, newest in self._families.items():
            self._list(family, newest)

    def _list(self, prefix: str, after: str = "") -> None:
        """Add the keys under `prefix` after `after` that are neither read nor pending."""
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if after:
            request["StartAfter"] = after
        while True:
            page = self._s3.list_objects_v2(**request)
            listed_ns = time.time_ns()
            for item in page.get("Contents", ()):
                if item["Key"] not in self._read:
                    self._pending.setdefault(item["Key"], listed_ns)
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

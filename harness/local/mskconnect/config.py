"""A connector's S3 sink settings, read and checked as the Confluent S3 sink reads them.

Settings the local sink cannot honour are refused with one line naming the setting and what
to do; settings that change nothing in S3 pass. Converters come from the connector's own
configuration, else from its worker configuration, else from MSK Connect's default worker
configuration (StringConverter for keys and values).
"""

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harness.local.mskconnect.json_format import CONVERTERS, JSON_CONVERTER, STRING_CONVERTER

log = logging.getLogger("harness.local.mskconnect")

S3_SINK_CLASS = "io.confluent.connect.s3.S3SinkConnector"
JSON_FORMAT = "io.confluent.connect.s3.format.json.JsonFormat"
MSK_DEFAULT_WORKER = {"key.converter": STRING_CONVERTER, "value.converter": STRING_CONVERTER}

# Settings that shape what lands in S3, with the values the local sink writes (the first is
# the connector's default).
_SUPPORTED_VALUES = {
    "storage.class": ("io.confluent.connect.s3.storage.S3Storage",),
    "partitioner.class": ("io.confluent.connect.storage.partitioner.DefaultPartitioner",),
    "s3.compression.type": ("none",),
    "directory.delim": ("/",),
    "file.delim": ("+",),
    "store.kafka.keys": ("false",),
    "store.kafka.headers": ("false",),
    "transforms": ("",),
    "errors.tolerance": ("none",),
    "behavior.on.null.values": ("fail", "ignore"),
}


class ConfigError(ValueError):
    """A setting the local sink refuses; the message says which and what to do."""


@dataclass(frozen=True)
class SinkConfig:
    name: str
    bootstrap_servers: str
    topics: tuple[str, ...]
    topics_regex: str | None
    bucket: str
    region: str | None
    topics_dir: str
    flush_size: int
    rotate_schedule_interval_ms: int
    timezone: ZoneInfo | None
    zero_pad_width: int
    value_converter: str
    ignore_null_values: bool
    offset_flush_interval_ms: int = 60_000
    """How often the worker commits the offsets of what the sink has written (the worker's
    offset.flush.interval.ms, Kafka Connect's default 60 s)."""

    @property
    def group_id(self) -> str:
        """Kafka Connect's consumer group for a sink connector."""
        return f"connect-{self.name}"


def sink_config(
    name: str, bootstrap_servers: str, settings: dict[str, str], worker: dict[str, str]
) -> SinkConfig:
    """The sink `settings` (a connector configuration) describe, or ConfigError."""
    connector_class = settings.get("connector.class", "")
    if connector_class != S3_SINK_CLASS:
        raise ConfigError(f"only {S3_SINK_CLASS} runs locally, not {connector_class!r}")
    for key, values in _SUPPORTED_VALUES.items():
        value = settings.get(key, values[0])
        if value.lower() not in (v.lower() for v in values):
            raise ConfigError(f"{key}={value} is not supported locally; use {' or '.join(values)}")
    if settings.get("format.class") != JSON_FORMAT:
        raise ConfigError(f"format.class must be {JSON_FORMAT} locally")
    topics = tuple(t.strip() for t in settings.get("topics", "").split(",") if t.strip())
    regex = settings.get("topics.regex") or None
    if bool(topics) == bool(regex):
        raise ConfigError("set exactly one of topics and topics.regex")
    bucket = settings.get("s3.bucket.name")
    if not bucket:
        raise ConfigError("s3.bucket.name is required")
    _integer(settings, "tasks.max", "1", minimum=1)  # one consumer serves every task here
    if _integer(settings, "rotate.interval.ms", "-1", minimum=-1) > 0:
        log.warning("%s: rotate.interval.ms is ignored with the DefaultPartitioner", name)
    schedule = _integer(settings, "rotate.schedule.interval.ms", "-1", minimum=-1)
    return SinkConfig(
        name=name,
        bootstrap_servers=bootstrap_servers,
        topics=topics,
        topics_regex=regex,
        bucket=bucket,
        region=settings.get("s3.region"),
        topics_dir=settings.get("topics.dir", "topics"),
        flush_size=_integer(settings, "flush.size", None, minimum=1),
        rotate_schedule_interval_ms=schedule,
        timezone=_timezone(settings.get("timezone", "")) if schedule > 0 else None,
        zero_pad_width=_integer(settings, "filename.offset.zero.pad.width", "10", minimum=0),
        value_converter=_value_converter(settings, worker),
        ignore_null_values=settings.get("behavior.on.null.values", "fail").lower() == "ignore",
        offset_flush_interval_ms=_integer(worker, "offset.flush.interval.ms", "60000", minimum=1),
    )


def parse_properties(text: str) -> dict[str, str]:
    """A Java properties file's `key=value` (or `key: value`) lines; comments skipped."""
    properties = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=len(line))
        properties[line[:cut].strip()] = line[cut + 1 :].strip()
    return properties


def _integer(settings: dict[str, str], key: str, default: str | None, minimum: int) -> int:
    raw = settings.get(key, default)
    if raw is None:
        raise ConfigError(f"{key} is required")
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, not {value}")
    return value


def _timezone(name: str) -> ZoneInfo:
    if not name:
        raise ConfigError("rotate.schedule.interval.ms needs timezone (e.g. UTC)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {name!r} is not a known time zone id") from None


def _value_converter(settings: dict[str, str], worker: dict[str, str]) -> str:
    source = next(s for s in (settings, worker, MSK_DEFAULT_WORKER) if "value.converter" in s)
    converter = source["value.converter"]
    if converter not in CONVERTERS:
        raise ConfigError(
            f"value.converter {converter} is not supported locally; use one of "
            f"{', '.join(CONVERTERS)}"
        )
    schemas = source.get("value.converter.schemas.enable", "true").lower()
    if converter == JSON_CONVERTER and schemas != "false":
        raise ConfigError(
            "JsonConverter with schemas is not supported locally; "
            "set value.converter.schemas.enable=false"
        )
    return converter

"""The local S3 sink's pure parts: object naming, when objects are cut, how values are written
and which connector settings are refused."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from harness.local.mskconnect.config import ConfigError, SinkConfig, parse_properties, sink_config
from harness.local.mskconnect.json_format import (
    JSON_CONVERTER,
    STRING_CONVERTER,
    hashmap_order,
    java_double,
    render,
)
from harness.local.mskconnect.partition_writer import (
    S3Object,
    TopicPartitionWriter,
    next_scheduled_rotation,
    object_key,
)

S3_SINK = {
    "connector.class": "io.confluent.connect.s3.S3SinkConnector",
    "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
    "topics": "orders",
    "s3.bucket.name": "archive",
    "flush.size": "3",
}
ZURICH = ZoneInfo("Europe/Zurich")


def config(**settings: str) -> SinkConfig:
    return sink_config("archiver", "broker:9092", {**S3_SINK, **settings}, {})


def ms(text: str, zone: ZoneInfo = ZURICH) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp() * 1000)


def test_object_keys_follow_the_connector_naming() -> None:
    assert object_key(config(), "orders", 2, 42) == (
        "topics/orders/partition=2/orders+2+0000000042.json"
    )
    padded = config(**{"topics.dir": "archive/raw", "filename.offset.zero.pad.width": "3"})
    assert object_key(padded, "orders", 0, 7) == "archive/raw/orders/partition=0/orders+0+007.json"
    assert object_key(padded, "orders", 0, 12345) == (
        "archive/raw/orders/partition=0/orders+0+12345.json"
    )


def test_flush_size_cuts_objects_at_their_start_offsets() -> None:
    writer = TopicPartitionWriter(config(), "orders", 1, opened_ms=0)
    records = [(offset, f"{offset}\n".encode()) for offset in range(5, 12)]
    assert writer.write(records[:4], now_ms=10) == [
        S3Object("topics/orders/partition=1/orders+1+0000000005.json", b"5\n6\n7\n", 8)
    ]
    assert writer.write(records[4:], now_ms=20) == [
        S3Object("topics/orders/partition=1/orders+1+0000000008.json", b"8\n9\n10\n", 11)
    ]


def test_rotate_interval_ms_is_ignored_by_the_default_partitioner() -> None:
    writer = TopicPartitionWriter(config(**{"rotate.interval.ms": "1"}), "orders", 0, opened_ms=0)
    assert writer.write([(0, b"a\n")], now_ms=0) == []
    assert writer.write([], now_ms=3_600_000) == []


def test_scheduled_rotation_counts_from_midnight_in_the_time_zone() -> None:
    hourly = config(**{"rotate.schedule.interval.ms": "3600000", "timezone": "Europe/Zurich"})
    assert next_scheduled_rotation(hourly, ms("2024-03-05T10:20:00")) == ms("2024-03-05T11:00")
    assert next_scheduled_rotation(hourly, ms("2024-03-05T11:00:00")) == ms("2024-03-05T12:00")
    seven_hours = config(**{"rotate.schedule.interval.ms": "25200000", "timezone": "Europe/Zurich"})
    # The day's end caps the schedule: 21:00 + 7 h would be past midnight.
    assert next_scheduled_rotation(seven_hours, ms("2024-03-05T22:00")) == ms("2024-03-06T00:00")
    # The interval counts elapsed time: on the day clocks go forward, 03:30 is 2.5 h after
    # midnight and the next hourly rotation is at 04:00.
    assert next_scheduled_rotation(hourly, ms("2024-03-31T03:30")) == ms("2024-03-31T04:00")


def test_scheduled_rotation_commits_a_partial_object_without_new_records() -> None:
    settings = {"flush.size": "100", "rotate.schedule.interval.ms": "1000", "timezone": "UTC"}
    writer = TopicPartitionWriter(config(**settings), "orders", 0, opened_ms=500)
    assert writer.write([(0, b"a\n"), (1, b"b\n")], now_ms=600) == []
    assert writer.write([], now_ms=999) == []
    key = "topics/orders/partition=0/orders+0+0000000000.json"
    assert writer.write([], now_ms=1000) == [S3Object(key, b"a\nb\n", 2)]
    # Rescheduled at 1000 for 2000: a record arriving after that first rotates the open
    # object, which reschedules for 3000.
    assert writer.write([(2, b"c\n")], now_ms=1500) == []
    assert writer.write([(3, b"d\n")], now_ms=2100) == [
        S3Object("topics/orders/partition=0/orders+0+0000000002.json", b"c\n", 3)
    ]
    assert writer.write([], now_ms=2999) == []
    assert writer.write([], now_ms=3000) == [
        S3Object("topics/orders/partition=0/orders+0+0000000003.json", b"d\n", 4)
    ]


def test_an_empty_writer_keeps_its_stale_schedule_and_cuts_the_next_record_at_once() -> None:
    settings = {"flush.size": "100", "rotate.schedule.interval.ms": "1000", "timezone": "UTC"}
    writer = TopicPartitionWriter(config(**settings), "orders", 0, opened_ms=0)
    assert writer.write([], now_ms=5000) == []
    assert writer.write([(9, b"x\n")], now_ms=5100) == [
        S3Object("topics/orders/partition=0/orders+0+0000000009.json", b"x\n", 10)
    ]


def test_json_values_are_written_as_kafka_connect_and_jackson_write_them() -> None:
    # Expected lines as JDK 25's HashMap and Double.toString produce them.
    value = b'{"data": {"id": 1, "price": 19.99, "big": 1e7, "tiny": 0.0001}, "metadata": {}}'
    assert render(value, JSON_CONVERTER) == (
        b'{"metadata":{},"data":{"big":1.0E7,"price":19.99,"tiny":1.0E-4,"id":1}}\n'
    )
    assert render(b'[true, null, "caf\xc3\xa9 \\"x\\""]', JSON_CONVERTER) == (
        b'[true,null,"caf\xc3\xa9 \\"x\\""]\n'
    )
    assert render(b'{"a": 1}', STRING_CONVERTER) == b'"{\\"a\\": 1}"\n'
    with pytest.raises(ValueError):
        render(b"not json", JSON_CONVERTER)
    keys = ["id", "name", "age", "sales_order_id", "subtotal", "order_date", "é", "zz"]
    assert hashmap_order(keys) == [
        "zz", "order_date", "subtotal", "sales_order_id", "name", "é", "id", "age"
    ]  # fmt: skip
    assert [java_double(v) for v in (100.0, 12345678.9, 0.002, -0.0, 5e-324, 1e23)] == [
        "100.0", "1.23456789E7", "0.002", "-0.0", "4.9E-324", "1.0E23"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"connector.class": "io.debezium.connector.postgresql.PostgresConnector"},
            "only io.confluent.connect.s3.S3SinkConnector runs locally, "
            "not 'io.debezium.connector.postgresql.PostgresConnector'",
        ),
        (
            {"partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner"},
            "partitioner.class=io.confluent.connect.storage.partitioner.HourlyPartitioner is not "
            "supported locally; use io.confluent.connect.storage.partitioner.DefaultPartitioner",
        ),
        (
            {"format.class": "io.confluent.connect.s3.format.avro.AvroFormat"},
            "format.class must be io.confluent.connect.s3.format.json.JsonFormat locally",
        ),
        ({"flush.size": "many"}, "flush.size must be an integer, not 'many'"),
        ({"flush.size": "0"}, "flush.size must be at least 1, not 0"),
        ({"topics.regex": "orders.*"}, "set exactly one of topics and topics.regex"),
        (
            {"rotate.schedule.interval.ms": "60000"},
            "rotate.schedule.interval.ms needs timezone (e.g. UTC)",
        ),
        (
            {"value.converter": "io.confluent.connect.avro.AvroConverter"},
            "value.converter io.confluent.connect.avro.AvroConverter is not supported locally; "
            "use one of org.apache.kafka.connect.json.JsonConverter, "
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            {"value.converter": JSON_CONVERTER},
            "JsonConverter with schemas is not supported locally; "
            "set value.converter.schemas.enable=false",
        ),
        (
            {"behavior.on.null.values": "write"},
            "behavior.on.null.values=write is not supported locally; use fail or ignore",
        ),
    ],
)
def test_settings_the_local_sink_cannot_honour_are_refused(
    settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config(**settings)
    assert str(refused.value) == message


def test_converters_come_from_the_connector_then_the_worker_then_msk_defaults() -> None:
    assert config().value_converter == STRING_CONVERTER
    worker = parse_properties(
        "# converters\nvalue.converter = org.apache.kafka.connect.json.JsonConverter\n"
        "value.converter.schemas.enable:false\n\n"
    )
    assert sink_config("a", "b", S3_SINK, worker).value_converter == JSON_CONVERTER
    own = {**S3_SINK, "value.converter": STRING_CONVERTER}
    assert sink_config("a", "b", own, worker).value_converter == STRING_CONVERTER

"""The Firehose engine's buffers on their own (times given, no threads): size and interval
triggers, zero interval, a failed delivery kept and retried, a deleted stream flushed; and
moto's side holding records for the engine up to a limit."""

from typing import Any

import pytest

from harness.local.firehose.buffers import Batch, Buffer, Buffers
from harness.local.firehose.s3_objects import MIB

S3 = {"BucketARN": "arn:aws:s3:::b"}


def _batch(stream: str, arrival: float, *records: bytes, **hints: int) -> Batch:
    destination = {**S3, "BufferingHints": hints} if hints else S3
    return Batch(stream, "1", destination, arrival, list(records))


class _Written:
    def __init__(self) -> None:
        self.objects: list[tuple[str, float, bytes]] = []
        self.failing = False

    def __call__(self, buffer: Buffer) -> None:
        if self.failing:
            raise OSError("no such bucket")
        self.objects.append((buffer.stream, buffer.first_arrival, b"".join(buffer.records)))


def test_a_buffer_is_delivered_when_full_or_when_its_interval_has_passed() -> None:
    written = _Written()
    buffers = Buffers(written)
    half = b"x" * (MIB // 2)
    buffers.add(_batch("a", 100.0, half, SizeInMBs=1, IntervalInSeconds=60), now=100.0)
    buffers.add(_batch("b", 101.0, b"small", SizeInMBs=1, IntervalInSeconds=60), now=101.0)
    buffers.add(_batch("a", 102.0, half, b"next", SizeInMBs=1, IntervalInSeconds=60), now=102.0)
    assert written.objects == [("a", 100.0, half + half)], "full at 1 MiB, before the interval"
    assert buffers.next_deadline() == 161.0  # "b" holds since 101 s, "a"'s rest since 102 s
    buffers.deliver_due(now=161.5)
    assert written.objects[1:] == [("b", 101.0, b"small")]
    buffers.deliver_due(now=162.0)
    assert written.objects[2:] == [("a", 102.0, b"next")]
    assert buffers.next_deadline() is None


def test_defaults_zero_interval_and_delimiter() -> None:
    written = _Written()
    buffers = Buffers(written)
    buffers.add(_batch("default", 0.0, b"r"), now=0.0)
    assert buffers.next_deadline() == 300.0, "IntervalInSeconds 300 by default"
    delimited = {
        **S3,
        "BufferingHints": {"IntervalInSeconds": 0},
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [{"Type": "AppendDelimiterToRecord"}],
        },
    }
    buffers.add(Batch("zero", "1", delimited, 5.0, [b"a", b"b"]), now=5.0)
    buffers.add(Batch("zero", "1", delimited, 6.0, [b"c"]), now=6.0)
    assert written.objects == [("zero", 5.0, b"a\nb\n"), ("zero", 6.0, b"c\n")]


def test_a_failed_delivery_keeps_its_records_and_is_retried() -> None:
    written = _Written()
    buffers = Buffers(written, retry_s=5.0)
    written.failing = True
    buffers.add(_batch("a", 0.0, b"1", IntervalInSeconds=0), now=0.0)
    buffers.add(_batch("a", 1.0, b"2", IntervalInSeconds=0), now=1.0)  # joins the kept one
    assert written.objects == [] and buffers.held() == {"a": 2}
    assert buffers.next_deadline() == 5.0
    written.failing = False
    buffers.deliver_due(now=4.0)
    assert written.objects == []
    buffers.deliver_due(now=5.0)
    assert written.objects == [("a", 0.0, b"12")]


def test_a_deleted_stream_is_flushed() -> None:
    written = _Written()
    buffers = Buffers(written)
    buffers.add(_batch("a", 0.0, b"kept"), now=0.0)
    buffers.flush("a", now=1.0)
    buffers.flush("unknown", now=1.0)
    assert written.objects == [("a", 0.0, b"kept")]


def test_moto_holds_records_for_the_engine_up_to_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.local.moto_fixes.data_plane import firehose

    monkeypatch.setattr(firehose, "HOLD_BYTES", 10)
    captured = firehose._Captured()
    here, there = ("1", "us-east-1"), ("2", "us-east-1")
    item: dict[str, Any] = {"DeliveryStreamName": "s"}
    assert captured.add(here, item, 6) and captured.add(there, item, 6)
    assert not captured.add(here, item, 6), "over the hold: refused"
    assert captured.take(here, 0) == [item]
    assert captured.add(here, item, 6), "taken: room again"
    assert captured.take(there, 0) == [item] and captured.take(there, 0.01) == []

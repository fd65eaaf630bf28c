"""Stream observers' read budgets: how often they may call GetRecords on one shard per target,
the pacing that keeps them there, and the share of a shard's reads they report."""

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import observe
from harness.observe.base import Observation, Observer, ObserverStats
from harness.observe.dynamodb_stream import DynamoDBStreamObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from harness.observe.shards import (
    DYNAMODB_STREAMS_READERS_PER_SHARD,
    DYNAMODB_STREAMS_READS_PER_SHARD_S,
    EMULATED_SHARDS,
    KINESIS_READS_PER_SHARD_S,
    LAMBDA_DYNAMODB_POLLS_PER_SHARD_S,
    SHARED_SHARDS,
    UNPACED,
    PeakRate,
    ReadBudget,
    ShardFollower,
    read_share,
)
from harness.report.html import write_html
from harness.report.results import PatternResult, ProjectionResult, Results
from harness.report.results_schema import schema_problem
from harness.targets.aws import AwsTarget
from harness.targets.local import LocalTarget
from harness.targets.localstack import LocalStackTarget

LAMBDA_KINESIS_POLLS_PER_SHARD_S = 1.0
"""A Lambda mapping's base polling rate of each Kinesis shard (standard iterator)."""


class _Clock:
    """Stands in for time.monotonic in `observe.shards`."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Streams:
    """A kinesis or dynamodbstreams client with `shards` open shards and no records."""

    def __init__(self, service: str, shards: int) -> None:
        self.meta = SimpleNamespace(service_model=SimpleNamespace(service_name=service))
        self.shards = [f"shardId-{n:012d}" for n in range(shards)]
        self.calls: list[str] = []

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": s} for s in self.shards]}}

    def get_shard_iterator(self, ShardId: str, **_: Any) -> dict[str, str]:
        return {"ShardIterator": ShardId}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.calls.append(ShardIterator)
        return {"Records": [], "NextShardIterator": ShardIterator}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr("harness.observe.shards.time.monotonic", clock)
    return clock


# -- the budgets


def test_emulated_targets_read_every_20_ms_and_aws_within_the_shared_limits() -> None:
    assert LocalTarget.observer_budget == EMULATED_SHARDS
    assert LocalStackTarget.observer_budget == EMULATED_SHARDS
    assert AwsTarget.observer_budget == SHARED_SHARDS
    assert EMULATED_SHARDS.interval_s("kinesis") == 0.02
    assert EMULATED_SHARDS.interval_s("dynamodbstreams") == 0.02
    assert UNPACED.interval_s("kinesis") == UNPACED.interval_s("dynamodbstreams") == 0.0
    assert SHARED_SHARDS.interval_s("kinesis") == 1.0
    assert SHARED_SHARDS.interval_s("dynamodbstreams") == 0.25


def test_on_aws_the_observer_and_a_lambda_mapping_leave_room_on_every_shard() -> None:
    kinesis = SHARED_SHARDS.per_s("kinesis")
    dynamodb = SHARED_SHARDS.per_s("dynamodbstreams")
    assert kinesis is not None and dynamodb is not None
    # Kinesis: 5 GetRecords a second per shard; the observer and a mapping leave 3 of them
    assert KINESIS_READS_PER_SHARD_S - kinesis - LAMBDA_KINESIS_POLLS_PER_SHARD_S == 3
    # DynamoDB Streams: two readers at most, the observer no busier than the mapping
    assert dynamodb <= LAMBDA_DYNAMODB_POLLS_PER_SHARD_S
    assert DYNAMODB_STREAMS_READERS_PER_SHARD == 2
    assert DYNAMODB_STREAMS_READS_PER_SHARD_S == 2 * LAMBDA_DYNAMODB_POLLS_PER_SHARD_S == 8


def test_a_budget_is_a_positive_rate_of_a_known_service() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        ReadBudget(kinesis_per_s=0)
    with pytest.raises(ValueError, match="positive rate"):
        ReadBudget(dynamodb_streams_per_s=-1)
    with pytest.raises(ValueError, match="no per-shard read budget for sqs"):
        SHARED_SHARDS.per_s("sqs")


def test_the_share_is_the_peak_calls_over_what_a_shard_allows_its_readers() -> None:
    assert read_share(1, KINESIS_READS_PER_SHARD_S) == 0.2
    assert read_share(5, KINESIS_READS_PER_SHARD_S) == 1.0
    assert read_share(4, DYNAMODB_STREAMS_READS_PER_SHARD_S) == 0.5  # one reader's worth
    assert read_share(0, KINESIS_READS_PER_SHARD_S) == 0.0
    assert read_share(100, KINESIS_READS_PER_SHARD_S) == 20.0


def test_the_peak_counts_events_within_any_one_second() -> None:
    calls = PeakRate()
    for at in (0.0, 1.0, 2.0, 3.0):  # exactly a second apart: never two in one second
        calls.add(at)
    assert (calls.count, calls.peak) == (4, 1)
    for at in (3.2, 3.4, 3.9):
        calls.add(at)
    assert calls.peak == 4  # 3.0, 3.2, 3.4, 3.9
    calls.add(4.3)  # 3.4, 3.9, 4.3
    assert (calls.count, calls.peak) == (8, 4)


def test_calls_paced_at_the_budget_never_exceed_it_in_any_second() -> None:
    for rate in (1, 4):
        calls = PeakRate()
        for n in range(40):
            calls.add(100 + n / rate)
        assert calls.peak == rate


# -- pacing


def test_a_paced_follower_reads_each_shard_once_per_interval(clock: _Clock) -> None:
    client = _Streams("kinesis", shards=2)
    follower = ShardFollower(client, {"StreamName": "s"}, 10_000, SHARED_SHARDS)
    assert follower.due_in_s() == 0.0

    assert len(follower.read()) == 2
    assert follower.due_in_s() == 1.0
    clock.now += 0.5
    assert follower.read() == [] and follower.due_in_s() == 0.5
    clock.now += 0.5
    assert len(follower.read()) == 2
    for _ in range(8):
        clock.now += 0.25
        follower.read()

    assert len(client.calls) == 2 * 4  # at 100, 101, 102 and 103 s
    assert {s: c.count for s, c in follower.calls.items()} == dict.fromkeys(client.shards, 4)
    assert follower.read_share() == 0.2


def test_a_dynamodb_stream_follower_reads_as_one_of_two_readers(clock: _Clock) -> None:
    client = _Streams("dynamodbstreams", shards=1)
    follower = ShardFollower(client, {"StreamArn": "arn"}, 1000, SHARED_SHARDS)
    for _ in range(12):
        follower.read()
        clock.now += 0.125

    assert len(client.calls) == 6  # 1.5 s at one call per 0.25 s
    assert follower.read_share() == 0.5


def test_an_emulated_follower_reads_a_shard_at_most_50_times_a_second(clock: _Clock) -> None:
    client = _Streams("dynamodbstreams", shards=1)
    follower = ShardFollower(client, {"StreamArn": "arn"}, 1000, EMULATED_SHARDS)
    for _ in range(100):  # polled every 10 ms for a second
        follower.read()
        clock.now += 0.01

    assert len(client.calls) == 50  # every other poll
    assert follower.read_share() == 6.25  # 50 calls a second over the two readers' 8


def test_an_unpaced_follower_reads_every_shard_at_every_poll(clock: _Clock) -> None:
    client = _Streams("kinesis", shards=2)
    follower = ShardFollower(client, {"StreamName": "s"}, 10_000)
    for _ in range(10):
        assert len(follower.read()) == 2
        assert follower.due_in_s() == 0.0
        clock.now += 0.01

    assert len(client.calls) == 20
    assert follower.read_share() == 2.0  # 10 calls a second: twice what a shard allows


def test_a_paced_follower_reads_a_shard_found_later_at_once(clock: _Clock) -> None:
    client = _Streams("kinesis", shards=1)
    follower = ShardFollower(client, {"StreamName": "s"}, 10_000, SHARED_SHARDS)
    follower.read()
    client.shards.append("shardId-000000000001")  # a resharding's child
    clock.now += 5.0  # listed again

    assert [b.shard_id for b in follower.read()] == client.shards
    clock.now += 0.5
    assert follower.read() == []


# -- observers, their stats and the report


class _Aws:
    def __init__(self, client: _Streams) -> None:
        self._client = client

    def client(self, service: str) -> Any:
        return self._client if service == self._client.meta.service_model.service_name else None


SHARD_READERS = ("kinesis_stream", "dynamodb_stream", "dynamodb_table_copies", "dynamodb_events")


def test_make_observer_gives_the_budget_to_observers_that_read_shards(tmp_path: Path) -> None:
    aws: Any = _Aws(_Streams("kinesis", shards=1))
    paced = observe.make_observer(
        "kinesis_stream", "k", tmp_path / "k.csv", aws, {"stream_name": "s"}, SHARED_SHARDS
    )
    unpaced = observe.make_observer(
        "kinesis_stream", "u", tmp_path / "u.csv", aws, {"stream_name": "s"}
    )
    assert isinstance(paced, KinesisStreamObserver) and isinstance(unpaced, KinesisStreamObserver)
    assert paced.shards.due_in_s() == 0.0
    paced.poll()
    assert 0.9 < paced.shards.due_in_s() <= 1.0
    unpaced.poll()
    assert unpaced.shards.due_in_s() == 0.0
    for observer in (paced, unpaced):
        observer.stop()

    streamed = inspect.signature(DynamoDBStreamObserver).parameters
    assert "budget" in streamed
    assert "budget" not in inspect.signature(observe.OBSERVERS["dynamodb_scan"]).parameters
    for kind in SHARD_READERS:  # every observer that reads a stream by shard is paced
        assert "budget" in inspect.signature(observe.OBSERVERS[kind]).parameters, kind


def test_observers_not_given_a_budget_are_built_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[dict[str, Any]] = []

    def scan(projection: str, log_path: Path, aws: Any, **parameters: Any) -> Any:
        built.append(parameters)
        return "observer"

    monkeypatch.setitem(observe.OBSERVERS, "scan", scan)
    aws: Any = None
    observe.make_observer("scan", "p", tmp_path / "p.csv", aws, {"table": "t"}, SHARED_SHARDS)
    assert built == [{"table": "t"}]


class _Quiet(Observer):
    def poll(self) -> list[Observation]:
        return []


def test_stream_observers_report_their_share_and_others_none(tmp_path: Path) -> None:
    aws: Any = _Aws(_Streams("kinesis", shards=2))
    stream = KinesisStreamObserver("k", tmp_path / "k.csv", aws, "s", budget=SHARED_SHARDS)
    stream.poll()
    quiet = _Quiet("q", tmp_path / "q.csv")
    try:
        assert stream.stats().read_share == 0.2
        assert quiet.stats().read_share is None
    finally:
        stream.stop()
        quiet.stop()


def test_results_without_a_share_still_read() -> None:
    stats = ObserverStats(
        observed=1,
        polls=2,
        wall_s=1.0,
        busy_s=0.1,
        per_s=1.0,
        capacity_per_s=10.0,
        behind_s=0.0,
        longest_behind_s=0.0,
        falling_behind=False,
    )
    older = stats.model_dump(mode="json")
    del older["read_share"]
    assert ObserverStats.model_validate(older) == stats and stats.read_share is None
    projection = ProjectionResult(
        kind="event_log", observer="kinesis_stream", floor_ms=0.0, observed=1
    )
    data = Results(
        run_id="r",
        started_at="t",
        scenario={},
        patterns={
            "p": PatternResult(summary="s", status="completed", projections={"k": projection})
        },
    ).model_dump(mode="json")
    data["schema_version"] = "3.0"
    data["patterns"]["p"]["projections"]["k"]["observer_stats"] = older
    assert schema_problem(data) is None


def test_the_report_shows_each_stream_observers_share(tmp_path: Path) -> None:
    def stats(share: float | None) -> ObserverStats:
        return ObserverStats(
            observed=10,
            polls=5,
            wall_s=5.0,
            busy_s=0.5,
            per_s=2.0,
            capacity_per_s=20.0,
            behind_s=0.0,
            longest_behind_s=0.0,
            falling_behind=False,
            read_share=share,
        )

    projections = {
        name: ProjectionResult(
            kind="event_log", observer=name, floor_ms=0.0, observed=10, observer_stats=stats(s)
        )
        for name, s in (("kinesis_stream", 0.2), ("local_stream", 20.0), ("s3_objects", None))
    }
    pattern = PatternResult(summary="s", status="completed", projections=projections)
    results = Results(run_id="r", started_at="t", scenario={}, patterns={"p": pattern})
    html = write_html(results, tmp_path).read_text()

    assert "Its busiest shard: 20% of the GetRecords calls per second a shard allows" in html
    assert "Its busiest shard: 2000% of the GetRecords calls" in html
    assert html.count("Its busiest shard") == 2
    assert html.count("above what an AWS shard allows") == 1

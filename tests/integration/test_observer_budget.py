"""Stream observers on AWS stay within each shard's read limits they share with the pattern's
consumers: against moto, every GetRecords call is timed by shard outside the observer, and
the observer's reported share must match. The same observers paced as on emulated targets
read far past those limits (still no more than 50 times a second a shard), so the budget is
what keeps them in."""

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from harness.aws import AwsAccess
from harness.observe import read_observations
from harness.observe.dynamodb_stream import DynamoDBStreamObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from harness.observe.shards import EMULATED_SHARDS, SHARED_SHARDS, ReadBudget
from harness.read_model import to_item
from tests.conftest import BareCloud
from tests.helpers import read_model_table, unique, wait_for
from tests.integration.test_stream_observers import dms, new_stream, put

pytestmark = [pytest.mark.slow, pytest.mark.serial]

RUN_S = 3.5
"""How long each observer reads: a few of its paced intervals."""


class _TimedClient:
    """A stream client that times every GetRecords call by shard, following each shard's
    iterators from GetShardIterator through every NextShardIterator."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta
        self._shard_of: dict[str, str] = {}
        self.calls: dict[str, list[float]] = defaultdict(list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.get_shard_iterator(**params)
        self._shard_of[response["ShardIterator"]] = params["ShardId"]
        return response

    def get_records(self, **params: Any) -> dict[str, Any]:
        shard = self._shard_of.pop(params["ShardIterator"])
        self.calls[shard].append(time.monotonic())
        response: dict[str, Any] = self._client.get_records(**params)
        if response.get("NextShardIterator"):
            self._shard_of[response["NextShardIterator"]] = shard
        return response


class _TimedAws:
    """AwsAccess whose stream clients time their GetRecords calls."""

    def __init__(self, aws: AwsAccess) -> None:
        self._aws = aws
        self.streams: list[_TimedClient] = []

    def client(self, service: str) -> Any:
        client = self._aws.client(service)
        if service not in ("kinesis", "dynamodbstreams"):
            return client
        self.streams.append(_TimedClient(client))
        return self.streams[-1]

    def calls(self) -> dict[str, list[float]]:
        """Each shard's GetRecords call times."""
        return {shard: times for c in self.streams for shard, times in c.calls.items()}


JITTER_S = 0.02
"""Timed outside the observer, a call's time may be off by a thread switch or two."""


def most_in_one_second(times: list[float]) -> int:
    """The most calls within any one second less `JITTER_S` (a half-open window ending at a
    call)."""
    window_s = 1.0 - JITTER_S
    return max((sum(t - window_s < u <= t for u in times) for t in times), default=0)


def _observe(observers: list[Any], until: Any) -> None:
    """Run `observers` for RUN_S, and on until `until()` holds; stop them all."""
    started = time.monotonic()
    for observer in observers:
        observer.start()
    try:
        wait_for(until, "every change", timeout_s=30)
        time.sleep(max(0.0, RUN_S - (time.monotonic() - started)))
    finally:
        for observer in observers:
            observer.stop()


def test_kinesis_observer_on_aws_reads_each_shard_at_most_once_a_second(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    kinesis = bare_cloud.aws.client("kinesis")
    stream, shards = new_stream(kinesis, 2)
    for n, shard in enumerate(shards):
        put(kinesis, stream, shard, [dms("insert", "widgets", {"id": n, "version": 1})])
    timed: dict[str, _TimedAws] = {}
    observers: dict[str, KinesisStreamObserver] = {}
    for name, budget in (("aws", SHARED_SHARDS), ("emulated", EMULATED_SHARDS)):
        timed[name] = aws = _TimedAws(bare_cloud.aws)
        observers[name] = KinesisStreamObserver(
            name, tmp_path / f"{name}.csv", aws, stream, budget=budget
        )
    paced = observers["aws"]
    late_put: list[int] = []

    def first_records_then_a_late_one() -> bool:
        if paced.observed >= 2 and not late_put:
            late_put.append(time.time_ns())
            put(kinesis, stream, shards[1], [dms("insert", "widgets", {"id": 9, "version": 1})])
        return paced.observed >= 3

    _observe(list(observers.values()), first_records_then_a_late_one)

    assert paced.error is None and observers["emulated"].error is None
    seen = {o.key: o.seen_ns for o in read_observations(tmp_path / "aws.csv")}
    assert sorted(seen) == ["0", "1", "9"]
    assert (seen["9"] - late_put[0]) / 1e9 < 2.5  # pacing delays a sighting by 1 s at most
    calls = timed["aws"].calls()
    assert set(calls) == {s["ShardId"] for s in shards}
    wall_s = paced.stats().wall_s
    for times in calls.values():
        assert most_in_one_second(times) == 1  # the pattern's consumers keep 4 of 5
        assert wall_s - 1 <= len(times) <= wall_s + 2  # about once a second, the last poll too
    assert {s: c.count for s, c in paced.shards.calls.items()} == {
        s: len(t) for s, t in calls.items()
    }
    assert {c.peak for c in paced.shards.calls.values()} == {1}
    assert paced.stats().read_share == 0.2
    # the same reads paced as on an emulator would be throttled on AWS
    emulated = timed["emulated"].calls()
    assert min(most_in_one_second(t) for t in emulated.values()) > 5
    assert max(most_in_one_second(t) for t in emulated.values()) <= 50
    assert (observers["emulated"].stats().read_share or 0) > 1


def test_dynamodb_stream_observer_on_aws_reads_as_one_of_two_readers(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    table = unique("observed")
    stream_arn = read_model_table(bare_cloud.aws, table)
    dynamodb = bare_cloud.aws.client("dynamodb")
    for key in ("1", "2", "3"):
        dynamodb.put_item(TableName=table, Item=to_item("widgets", key, {"version": 1}))
    budgets: tuple[tuple[str, ReadBudget], ...] = (
        ("aws", SHARED_SHARDS),
        ("emulated", EMULATED_SHARDS),
    )
    timed = {name: _TimedAws(bare_cloud.aws) for name, _ in budgets}
    observers = {
        name: DynamoDBStreamObserver(
            name, tmp_path / f"{name}.csv", timed[name], table, stream_arn, budget=budget
        )
        for name, budget in budgets
    }
    paced = observers["aws"]

    _observe(list(observers.values()), lambda: paced.observed >= 3)

    assert paced.error is None
    assert sorted(o.key for o in read_observations(tmp_path / "aws.csv")) == ["1", "2", "3"]
    calls = timed["aws"].calls()
    assert calls
    wall_s = paced.stats().wall_s
    for times in calls.values():
        assert most_in_one_second(times) <= 4  # no more often than a Lambda mapping polls
        assert len(times) <= 4 * wall_s + 2
    peaks = {c.peak for f in paced.followers for c in f.calls.values()}
    assert peaks and max(peaks) <= 4
    assert 0.25 <= (paced.stats().read_share or 0) <= 0.5  # one of the two advised readers
    emulated = timed["emulated"].calls()
    assert 8 < max(most_in_one_second(t) for t in emulated.values()) <= 50
    assert (observers["emulated"].stats().read_share or 0) > 1

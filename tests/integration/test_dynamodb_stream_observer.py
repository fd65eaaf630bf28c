"""The DynamoDB stream observer logs every change of a real (moto) table, deletes as tombstones."""

import threading
import time
from pathlib import Path

import pytest

from harness.apps import Spec, hooks
from harness.load.ledger import COMMITTED, Change
from harness.nemesis.faults import KINDS
from harness.observe import read_observations
from harness.observe.base import SnapshotRow, live_versions
from harness.observe.dynamodb_stream import DynamoDBStreamObserver
from harness.read_model import KEY_ATTRIBUTE, item_key, to_item, tombstone
from harness.targets import Target
from tests.helpers import read_model_table

pytestmark = pytest.mark.slow


def test_observer_logs_upserts_and_tombstones_and_snapshots_state(
    local_target: Target, tmp_path: Path
) -> None:
    stream_arn = read_model_table(local_target.aws, "observer-test")
    dynamodb = local_target.aws.client("dynamodb")
    observer = DynamoDBStreamObserver(
        "read_model", tmp_path / "obs.csv", local_target.aws, "observer-test", stream_arn
    )
    observer.start()
    try:
        for version in (1, 2, 3):
            row = {"id": 7, "version": version, "name": f"v{version}"}
            dynamodb.put_item(TableName="observer-test", Item=to_item("widgets", "7", row))
        dynamodb.put_item(TableName="observer-test", Item=to_item("widgets", "8", {"version": 1}))
        dynamodb.delete_item(
            TableName="observer-test", Key={KEY_ATTRIBUTE: {"S": item_key("widgets", "7")}}
        )
        dynamodb.put_item(TableName="observer-test", Item=to_item("widgets", "9", {"version": 1}))
        dynamodb.put_item(TableName="observer-test", Item=tombstone("widgets", "9", 2))
        deadline = time.monotonic() + 10
        while observer.observed < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        snapshot = observer.snapshot()
    finally:
        observer.stop()

    assert observer.error is None
    seen = [(o.key, o.version, o.op) for o in read_observations(tmp_path / "obs.csv")]
    assert seen == [
        ("7", 1, "upsert"),
        ("7", 2, "upsert"),
        ("7", 3, "upsert"),
        ("8", 1, "upsert"),
        ("7", 4, "delete"),  # the deleted row was version 3: its tombstone is 4
        ("9", 1, "upsert"),
        ("9", 2, "delete"),  # a tombstone item
    ]
    assert observer.state == {
        ("widgets", "7"): (4, False),
        ("widgets", "8"): (1, True),
        ("widgets", "9"): (2, False),
    }
    # the final contents, tombstone included; a row's image digest as the stream showed it
    digest_of_8 = next(o.digest for o in read_observations(tmp_path / "obs.csv") if o.key == "8")
    assert sorted(snapshot, key=lambda r: r.key) == [
        SnapshotRow("widgets", "8", 1, digest_of_8, tombstone=False),
        SnapshotRow("widgets", "9", 2, "", tombstone=True),
    ]
    assert digest_of_8 and live_versions(snapshot) == {("widgets", "8"): 1}


def test_direct_writes_survive_arriving_out_of_order(local_target: Target, tmp_path: Path) -> None:
    """Post-commit writes of concurrent writers land in any order; the newest version wins
    and a late write can neither resurrect a deleted row nor roll a row back."""
    stream_arn = read_model_table(local_target.aws, "direct-order-test")
    spec = Spec("read_model_writer", {"read_model_table": "direct-order-test"})
    write = hooks(spec, local_target.aws, tmp_path).after_commit
    assert write is not None

    def change(key: str, version: int, op: str) -> Change:
        return Change("widgets", key, version, op, COMMITTED, 0, 0, 0, "")

    write([change("1", 2, "delete")], [None])  # the insert (version 1) was deleted
    write([change("1", 1, "insert")], [{"id": 1, "version": 1}])
    write([change("2", 2, "update")], [{"id": 2, "version": 2}])
    write([change("2", 1, "insert")], [{"id": 2, "version": 1}])
    observer = DynamoDBStreamObserver(
        "read_model", tmp_path / "obs.csv", local_target.aws, "direct-order-test", stream_arn
    )
    assert live_versions(observer.snapshot()) == {("widgets", "2"): 2}


def test_the_post_commit_writer_waits_out_a_throttle_of_its_table(
    local_target: Target, tmp_path: Path
) -> None:
    """Under the dynamodb_throttle fault (one write a second), the application's post-commit
    writes are retried until accepted: the transaction waits, and nothing is lost."""
    name = "direct-throttle-test"
    stream_arn = read_model_table(local_target.aws, name)
    write = hooks(Spec("read_model_writer", {"read_model_table": name}), local_target.aws, tmp_path)
    assert write.after_commit is not None
    kind = KINDS["dynamodb_throttle"]
    assert kind.unavailable(local_target) is None
    changes = [Change("widgets", str(n), 1, "insert", COMMITTED, 0, 0, 0, "") for n in range(6)]
    rows = [{"id": n, "version": 1} for n in range(6)]

    before = kind.start(local_target, [name], 10.0)
    writing = threading.Thread(target=write.after_commit, args=(changes, rows))
    writing.start()
    try:
        writing.join(2.0)
        assert writing.is_alive(), "six writes went through a throttle of one a second"
    finally:
        kind.end(local_target, [name], before)
        writing.join(10.0)
    assert not writing.is_alive()
    observer = DynamoDBStreamObserver(
        "read_model", tmp_path / "t.csv", local_target.aws, name, stream_arn
    )
    assert len(live_versions(observer.snapshot())) == 6

"""Polling observers: the diff of successive polls (in memory), then a DynamoDB read model
sampled by consistent reads (moto) and a PostgreSQL replica polled by SQL."""

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from harness.aws import AwsAccess
from harness.load import schema
from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.local.postgres import PostgresCluster, find_bindir
from harness.observe import Observation, read_observations
from harness.observe.base import GONE, SnapshotRow
from harness.observe.dynamodb_scan import DynamoDBScanObserver
from harness.observe.polling import PollingObserver
from harness.observe.postgres_replica import PostgresReplicaObserver
from harness.read_model import KEY_ATTRIBUTE, item_key, to_item, tombstone
from harness.settings import Settings
from tests.conftest import BareCloud
from tests.helpers import unique, wait_for

pytestmark = pytest.mark.slow

Seen = tuple[str, str, int, str, str]
"""(table, key, version, op, digest) of an observation."""
NO_AWS = AwsAccess("us-east-1")
"""For the PostgreSQL observer, which takes `aws` by convention only."""


def _widget(key: int, version: int, **columns: Any) -> dict[str, Any]:
    return {
        "id": key,
        "version": version,
        "written_at": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        "name": f"Wïdget №{key} ✓",
        "price": Decimal("12.3400"),
        "produced_at": None,
        "attrs": {"colour": "grün", "sizes": [1, Decimal("2.5")], "nested": {"ok": True}},
        "notes": None,
        **columns,
    }


def _order(key: int, version: int, widget_id: int) -> dict[str, Any]:
    return {
        "id": key,
        "version": version,
        "written_at": datetime(2024, 5, 6, 7, 8, 10, tzinfo=UTC),
        "widget_id": widget_id,
        "quantity": 3,
        "amount": Decimal("37.0200"),
        "status": None,
        "meta": {"channel": "wéb"},
    }


def _upsert(table: str, row: dict[str, Any]) -> Seen:
    return (table, str(row["id"]), row["version"], "upsert", row_digest(table, row))


def _delete(table: str, key: int) -> Seen:
    """A vanished row's removal: nothing says which version went."""
    return (table, str(key), GONE, "delete", "")


def _seen(observations: Iterable[Observation]) -> list[Seen]:
    return [(o.table, o.key, o.version, o.op, o.digest) for o in observations]


def _steps(observations: list[Observation], *sizes: int) -> list[list[Seen]]:
    """The observations cut into consecutive steps of `sizes`, each sorted (which poll of a
    step saw what depends on timing); asserts positions and times never go back."""
    polls = [int(o.position.removeprefix("poll-")) for o in observations]
    assert polls == sorted(polls)
    assert [o.seen_ns for o in observations] == sorted(o.seen_ns for o in observations)
    assert sum(sizes) == len(observations)
    cuts = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    return [sorted(_seen(observations[a:b])) for a, b in pairwise(cuts)]


class _InMemory(PollingObserver):
    """A projection held in a dict; `between_reads` runs between the versions and rows reads."""

    def __init__(self, log_path: Path, interval_s: float = 0.1) -> None:
        super().__init__("in_memory", log_path, interval_s)
        self.rows: dict[Entity, dict[str, Any]] = {}
        self.between_reads: Callable[[], None] = lambda: None

    def read_versions(self) -> dict[Entity, int]:
        return {entity: row["version"] for entity, row in self.rows.items()}

    def read_rows(self, entities: Iterable[Entity]) -> dict[Entity, dict[str, Any]]:
        self.between_reads()
        return {e: dict(self.rows[e]) for e in entities if e in self.rows}


def test_polls_log_changes_skip_rows_that_move_between_reads_and_log_vanished_rows_gone(
    tmp_path: Path,
) -> None:
    observer = _InMemory(tmp_path / "obs.csv")
    w1, w2 = _widget(1, 1), _widget(2, 1)
    observer.rows = {("widgets", "1"): w1, ("widgets", "2"): w2}
    first = observer.poll()
    assert _seen(first) == [_upsert("widgets", w1), _upsert("widgets", w2)]
    assert {o.position for o in first} == {"poll-1"}
    assert observer.poll() == []

    w1, w3, o5 = _widget(1, 2, price=Decimal("1")), _widget(3, 1), _order(5, 1, 1)
    observer.rows = {("widgets", "1"): w1, ("widgets", "3"): w3, ("orders", "5"): o5}
    observer.rows[("orders", "6")] = _order(6, 1, 1)

    def move() -> None:  # orders 6 vanishes and widgets 3 changes after the versions read
        del observer.rows[("orders", "6")]
        observer.rows[("widgets", "3")] = _widget(3, 2)

    observer.between_reads = move
    assert _seen(observer.poll()) == [
        _upsert("orders", o5),
        _upsert("widgets", w1),
        _delete("widgets", 2),
    ]
    observer.between_reads = lambda: None
    w3 = observer.rows[("widgets", "3")]
    fourth = observer.poll()
    assert _seen(fourth) == [_upsert("widgets", w3)]
    assert fourth[0].position == "poll-4"

    observer.rows[("widgets", "1")] = _widget(1, 3)  # updated, then deleted before a poll:
    del observer.rows[("widgets", "1")]  # v3 and the delete (v4) are covered by GONE
    assert _seen(observer.poll()) == [_delete("widgets", 1)]
    assert observer.read_versions() == {("orders", "5"): 1, ("widgets", "3"): 2}


def test_every_poll_is_followed_by_the_interval(tmp_path: Path) -> None:
    """A projection that changes all the time is still polled once per interval."""

    class Busy(_InMemory):
        def read_versions(self) -> dict[Entity, int]:
            version = self.observed + 1
            self.rows[("widgets", "1")] = _widget(1, version)
            return {("widgets", "1"): version}

    observer = Busy(tmp_path / "obs.csv", interval_s=0.1)
    started = time.monotonic()
    observer.start()
    wait_for(lambda: observer.observed >= 3, "three polls", timeout_s=10)
    observer.stop()
    ran_s = time.monotonic() - started
    assert observer.error is None
    # one poll each 0.1 s at most while it ran (at 0, 0.1, 0.2 ... s), then the last one
    assert observer.observed <= 2 + ran_s / 0.1, (observer.observed, ran_s)


def _read_model_table(dynamodb: Any) -> str:
    name = unique("scan-observer")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
    )
    return name


def test_dynamodb_scan_observer_logs_upserts_tombstones_and_deletes(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    dynamodb = bare_cloud.aws.client("dynamodb")
    table = _read_model_table(dynamodb)
    observer = DynamoDBScanObserver("read_model", tmp_path / "obs.csv", bare_cloud.aws, table)

    def put(item: dict[str, Any]) -> None:
        dynamodb.put_item(TableName=table, Item=item)

    w1, w2, o5 = _widget(1, 1), _widget(2, 1, notes="ß" * 50), _order(5, 1, 1)
    observer.start()
    try:
        put(to_item("widgets", "1", w1))
        put(to_item("widgets", "2", w2))
        put(to_item("orders", "5", o5))
        wait_for(lambda: observer.observed >= 3, "3 upserts")
        w1_v2 = _widget(1, 2, price=Decimal("0"), produced_at=datetime(2024, 1, 1, tzinfo=UTC))
        put(to_item("widgets", "1", w1_v2))
        put(tombstone("widgets", "2", 2))
        dynamodb.delete_item(TableName=table, Key={KEY_ATTRIBUTE: {"S": item_key("orders", "5")}})
        wait_for(lambda: observer.observed >= 6, "an upsert and 2 deletes")
    finally:
        observer.stop()

    assert observer.error is None
    assert _steps(read_observations(observer.log_path), 3, 3) == [
        [_upsert("orders", o5), _upsert("widgets", w1), _upsert("widgets", w2)],
        [_delete("orders", 5), _upsert("widgets", w1_v2), _delete("widgets", 2)],
    ]
    assert sorted(observer.snapshot(), key=lambda r: r.key) == [
        SnapshotRow("widgets", "1", 2, row_digest("widgets", w1_v2), tombstone=False),
        SnapshotRow("widgets", "2", 2, "", tombstone=True),
    ]


def test_dynamodb_scan_observer_reads_rows_in_batches_of_100(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    dynamodb = bare_cloud.aws.client("dynamodb")
    table = _read_model_table(dynamodb)
    rows = {("widgets", str(key)): _widget(key, key) for key in range(1, 151)}
    for start in range(0, len(rows), 25):
        batch = list(rows.items())[start : start + 25]
        requests = [{"PutRequest": {"Item": to_item(*e, row)}} for e, row in batch]
        dynamodb.batch_write_item(RequestItems={table: requests})
    dynamodb.put_item(TableName=table, Item=tombstone("widgets", "151", 2))
    observer = DynamoDBScanObserver("read_model", tmp_path / "obs.csv", bare_cloud.aws, table)

    read = observer.read_rows([*rows, ("widgets", "151"), ("widgets", "152")])
    observer.stop()
    assert {e: row_digest("widgets", row) for e, row in read.items()} == {
        e: row_digest("widgets", row) for e, row in rows.items()
    }
    assert set(observer.snapshot()) == {
        SnapshotRow(*e, row["version"], row_digest("widgets", row), tombstone=False)
        for e, row in rows.items()
    } | {SnapshotRow("widgets", "151", 2, "", tombstone=True)}


@pytest.fixture(scope="module")
def replica_dsn(shared_tmp: Path) -> Iterator[str]:
    """A database of its own, with the source's tables, on a throwaway PostgreSQL."""
    settings = Settings()
    cluster = PostgresCluster(
        find_bindir(settings.pg_bindir), settings.pg_os_user, shared_tmp / "replica-pg"
    )
    cluster.start()
    try:
        database = f"replica_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        dsn = make_conninfo(cluster.dsn, dbname=database)
        with psycopg.connect(dsn, autocommit=True) as conn:
            schema.ensure(conn)
        yield dsn
    finally:
        cluster.stop()


def test_postgres_replica_observer_logs_inserts_updates_and_deletes(
    replica_dsn: str, tmp_path: Path
) -> None:
    observer = PostgresReplicaObserver("replica", tmp_path / "obs.csv", NO_AWS, replica_dsn)

    def write(query: str, *params: Any) -> dict[str, Any]:
        """Run a statement; the row it returns, as psycopg reads it."""
        with psycopg.connect(replica_dsn, autocommit=True, row_factory=dict_row) as conn:
            row = conn.execute(query, params).fetchone()
        assert row is not None
        return row

    insert_widget = (
        "INSERT INTO widgets (version, written_at, name, price, produced_at, attrs, notes) "
        "VALUES (1, %s, %s, %s, %s, %s, %s) RETURNING *"
    )
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    observer.start()
    try:
        w1 = write(insert_widget, now, "Wïdget ✓", Decimal("12.34"), now, Jsonb({"a": [1]}), "")
        w2 = write(insert_widget, now, "bare", None, None, None, None)
        o1 = write(
            "INSERT INTO orders (version, written_at, widget_id, quantity, amount, meta) "
            "VALUES (1, %s, %s, 3, %s, %s) RETURNING *",
            now,
            w1["id"],
            Decimal("37.02"),
            Jsonb({"channel": "wéb", "n": 1.5}),
        )
        wait_for(lambda: observer.observed >= 3, "3 inserts")
        w1_v2 = write(
            "UPDATE widgets SET version = 2, price = %s, attrs = %s WHERE id = %s RETURNING *",
            Decimal("0.5"),
            Jsonb({"a": [1, 2], "b": None}),
            w1["id"],
        )
        write("DELETE FROM orders WHERE id = %s RETURNING id", o1["id"])
        write("DELETE FROM widgets WHERE id = %s RETURNING id", w2["id"])
        wait_for(lambda: observer.observed >= 6, "an update and 2 deletes")
        snapshot = observer.snapshot()
    finally:
        observer.stop()

    assert observer.error is None
    assert _steps(read_observations(observer.log_path), 3, 3) == [
        [_upsert("orders", o1), _upsert("widgets", w1), _upsert("widgets", w2)],
        [_delete("orders", 1), _upsert("widgets", w1_v2), _delete("widgets", 2)],
    ]
    assert snapshot == [SnapshotRow("widgets", "1", 2, row_digest("widgets", w1_v2), False)]
    assert observer.snapshot() == snapshot  # after stop, over a connection of its own


def test_postgres_replica_observer_reports_an_unreachable_database(tmp_path: Path) -> None:
    dsn = "host=127.0.0.1 port=1 user=postgres dbname=replica"  # nothing listens on 1
    observer = PostgresReplicaObserver("replica", tmp_path / "obs.csv", NO_AWS, dsn)
    observer.start()
    try:
        error = wait_for(lambda: observer.error, "the connection error", timeout_s=10)
    finally:
        observer.stop()
    assert error.startswith("OperationalError: connection failed"), error

"""The poller_kinesis_aurora change-event subscriber, in process, against a real replica
database (the local target's PostgreSQL) with its login secret in Secrets Manager (moto).

Events are made the way the publisher makes them: rows written to a source database and read
back with `to_jsonb(row)` and the columns' `format_type`, so their format is PostgreSQL's own.
The replica must end up holding exactly the source's rows and column types, never go back to
an older version, and survive replays, late deletes, a column added mid-stream and a dropped
connection.
"""

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from harness.function_packages import install_requirements
from harness.load import schema
from harness.load.row_image import row_digest
from harness.local.lambda_runtime.pollers.kinesis import kinesis_event_record
from harness.targets import Target
from tests import helpers
from tests.helpers import REPO

pytestmark = pytest.mark.slow

FUNCTION_DIR = (
    REPO / "terraform" / "patterns" / "poller_kinesis_aurora" / "functions" / "subscriber"
)
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/change-events"

_EVENT = """
SELECT json_build_object(
    'table', {name},
    'op', change.op,
    'keys', json_build_object('id', t.id),
    'new', CASE WHEN change.op = 'delete' THEN NULL ELSE to_jsonb(t) END,
    'old', CASE WHEN change.op = 'delete' THEN json_build_object('id', t.id, 'version', t.version)
           END,
    'columns', (
        SELECT json_object_agg(attname, format_type(atttypid, atttypmod) ORDER BY attnum)
        FROM pg_attribute
        WHERE attrelid = CAST({name} AS regclass) AND attnum > 0 AND NOT attisdropped
    ),
    'change_version', txid_current()
)::text
FROM {table} t, (SELECT CAST(%(op)s AS text) AS op) change
WHERE t.id = %(id)s
"""
"""The change event of a source row's current state (a delete's: taken before deleting)."""


@dataclass
class Databases:
    """A source database with the benchmark's schema and an empty replica database."""

    source: psycopg.Connection
    replica: psycopg.Connection
    replica_name: str
    role: str


@pytest.fixture
def databases(local_target: Target) -> Iterator[Databases]:
    """Fresh source and replica databases and the replica's login role, dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    source_name, replica_name, role = f"source_{suffix}", f"replica_{suffix}", f"writer_{suffix}"
    admin_dsn = local_target.source_dsn
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'secret-pw'").format(sql.Identifier(role))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(source_name)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(replica_name), sql.Identifier(role)
            )
        )
        try:
            with (
                psycopg.connect(f"{admin_dsn} dbname={source_name}", autocommit=True) as source,
                psycopg.connect(f"{admin_dsn} dbname={replica_name}", autocommit=True) as replica,
            ):
                schema.ensure(source)
                yield Databases(source, replica, replica_name, role)
        finally:
            for name in (source_name, replica_name):
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def subscriber(
    local_target: Target, databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The subscriber module (its pinned requirements on sys.path, as in its zip) configured
    for the replica, its login secret in Secrets Manager, with no connection yet."""
    monkeypatch.syspath_prepend(str(install_requirements(FUNCTION_DIR / "requirements.txt")))
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    port = conninfo_to_dict(local_target.source_dsn)["port"]
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        login = {"username": databases.role, "password": "secret-pw", "engine": "postgres"}
        arn = secrets.create_secret(
            Name=f"replica-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(login)
        )["ARN"]
        env = {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "REPLICA_HOST": "127.0.0.1",
            "REPLICA_PORT": str(port),
            "REPLICA_DATABASE": databases.replica_name,
            "REPLICA_SECRET_ARN": arn,
            "REPLICA_TLS": "require",  # the embedded PostgreSQL offers TLS, as RDS does
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module = helpers.function_module(FUNCTION_DIR, "subscriber")
        module._close()
        try:
            yield module
        finally:
            module._close()


def event(conn: psycopg.Connection, table: str, key: int, op: str) -> str:
    """The change event the publisher writes for the row's current state."""
    query = sql.SQL(_EVENT).format(name=sql.Literal(table), table=sql.Identifier(table))
    row = conn.execute(query, {"op": op, "id": key}).fetchone()
    assert row is not None, f"{table} {key} is not in the source"
    return str(row[0])


def batch(*events: str) -> dict[str, Any]:
    """A Kinesis event of Lambda's shape carrying `events` in order."""
    now = datetime.now(UTC)
    records = []
    for number, text in enumerate(events):
        change = json.loads(text)
        put = {
            "SequenceNumber": f"{49_600_000_000 + number}",
            "PartitionKey": f"{change['table']}#{change['keys']['id']}",
            "Data": text.encode(),
            "ApproximateArrivalTimestamp": now,
        }
        records.append(
            kinesis_event_record(
                put, "shardId-000000000000", source_arn=STREAM_ARN, identity_arn="arn:role"
            )
        )
    return {"Records": records}


def insert_widget(conn: psycopg.Connection, **values: Any) -> int:
    columns = {"version": 1, "written_at": datetime.now(UTC), "name": "widget", **values}
    query = sql.SQL("INSERT INTO widgets ({}) VALUES ({}) RETURNING id").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    row = conn.execute(query, list(columns.values())).fetchone()
    assert row is not None
    return int(row[0])


def update_widget(conn: psycopg.Connection, key: int, **values: Any) -> None:
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder()) for c in values
    )
    conn.execute(
        sql.SQL("UPDATE widgets SET version = version + 1, {} WHERE id = %s").format(assignments),
        [*values.values(), key],
    )


def rows(conn: psycopg.Connection, table: str = "widgets") -> dict[int, str]:
    """id -> the row as jsonb text: every value and its exact form (numeric scale, jsonb)."""
    query = sql.SQL("SELECT id, to_jsonb(t)::text FROM {} t").format(sql.Identifier(table))
    return {key: text for key, text in conn.execute(query).fetchall()}


def digests(conn: psycopg.Connection, table: str = "widgets") -> dict[int, str]:
    query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
    found = conn.cursor(row_factory=dict_row).execute(query).fetchall()
    return {row["id"]: row_digest(table, row) for row in found}


def column_types(conn: psycopg.Connection, table: str = "widgets") -> list[tuple[str, str]]:
    return [
        (name, kind)
        for name, kind in conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum",
            (table,),
        ).fetchall()
    ]


def replica_tables(conn: psycopg.Connection) -> set[str]:
    found = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in found.fetchall()}


def test_changes_reach_the_replica_exactly_and_tables_are_made_on_first_sight(
    databases: Databases, subscriber: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    source = databases.source
    first = insert_widget(
        source,
        name='wïdget ✓ 日本 "quoted" \\ back',
        price="12.3400",
        produced_at=datetime(2026, 11, 23, 10, 0, 1, 123456, UTC),
        attrs='{"w": 1.10, "n": [1, 2.50, null, true], "ß": {"deep": "日本"}, "big": 1e20}',
        notes=None,
    )
    second = insert_widget(source, price="123456789012345.0001", attrs=None, produced_at=None)
    third = insert_widget(source, price=None, notes="x" * 10_000)
    source.execute(
        "INSERT INTO orders (version, written_at, widget_id, quantity, amount, status)"
        " VALUES (1, now(), %s, 3, 0.0001, NULL)",
        (first,),
    )
    order = source.execute("SELECT max(id) FROM orders").fetchone()
    assert order is not None
    assert replica_tables(databases.replica) == set()

    # the order comes before its widget: the replica has no foreign keys
    subscriber.handler(
        batch(
            event(source, "orders", order[0], "insert"),
            *(event(source, "widgets", key, "insert") for key in (first, second, third)),
        ),
        None,
    )

    assert replica_tables(databases.replica) == {"widgets", "orders"}
    assert "applied 4 records: {'orders': 1, 'widgets': 3}" in capsys.readouterr().out
    for table in ("widgets", "orders"):
        assert column_types(databases.replica, table) == column_types(source, table)
        assert rows(databases.replica, table) == rows(source, table)

    update_widget(source, first, price="0.0001", notes="nüw")
    update_widget(source, second, attrs='[{"a": 1.000}, "text"]')
    deleted = event(source, "widgets", third, "delete")
    source.execute("DELETE FROM widgets WHERE id = %s", (third,))
    subscriber.handler(
        batch(
            event(source, "widgets", first, "update"),
            event(source, "widgets", second, "update"),
            deleted,
        ),
        None,
    )

    assert sorted(rows(databases.replica)) == [first, second]
    assert rows(databases.replica) == rows(source)
    assert digests(databases.replica) == digests(source)


def test_replays_and_late_deletes_never_take_a_row_back(
    databases: Databases, subscriber: ModuleType
) -> None:
    source = databases.source
    key = insert_widget(source, price="1.0000")
    inserted = event(source, "widgets", key, "insert")
    deleted_v1 = event(source, "widgets", key, "delete")
    update_widget(source, key, price="2.0000")
    updated = event(source, "widgets", key, "update")
    subscriber.handler(batch(inserted, updated), None)
    newest = rows(source)

    subscriber.handler(batch(inserted), None)  # a replayed older event
    assert rows(databases.replica) == newest
    subscriber.handler(batch(deleted_v1), None)  # a delete of the older version
    assert rows(databases.replica) == newest
    subscriber.handler(batch(inserted, updated, deleted_v1), None)  # the whole batch again
    assert rows(databases.replica) == newest

    deleted = event(source, "widgets", key, "delete")
    source.execute("DELETE FROM widgets WHERE id = %s", (key,))
    subscriber.handler(batch(deleted), None)
    assert rows(databases.replica) == {}


def test_a_column_added_to_the_source_mid_stream_extends_the_replica(
    databases: Databases, subscriber: ModuleType, added_column: tuple[str, str, str]
) -> None:
    table, column, sql_type = added_column
    source = databases.source
    before = insert_widget(source)
    subscriber.handler(batch(event(source, table, before, "insert")), None)
    update_widget(source, before, name="renamed")
    updated_before_ddl = event(source, table, before, "update")

    source.execute(
        sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
            sql.Identifier(table), sql.Identifier(column), sql.SQL(sql_type)
        )
    )
    after = insert_widget(source, **{column: "grün"})
    update_widget(source, before, **{column: "blau"})
    changes = [
        updated_before_ddl,
        event(source, table, after, "insert"),
        event(source, table, before, "update"),
    ]
    assert [column in json.loads(c)["columns"] for c in changes] == [False, True, True]
    subscriber.handler(batch(*changes), None)

    assert column_types(databases.replica, table) == column_types(source, table)
    assert column_types(databases.replica, table)[-1] == (column, sql_type)
    assert rows(databases.replica, table) == rows(source, table)
    assert digests(databases.replica, table) == digests(source, table)


def test_a_failing_batch_applies_nothing_and_raises(
    databases: Databases, subscriber: ModuleType
) -> None:
    source = databases.source
    good = event(source, "widgets", insert_widget(source), "insert")
    bad = json.loads(event(source, "widgets", insert_widget(source), "insert"))
    bad["op"] = "truncate"

    with pytest.raises(ValueError, match="unknown op 'truncate'"):
        subscriber.handler(batch(good, json.dumps(bad)), None)

    assert rows(databases.replica) == {}
    subscriber.handler(batch(good), None)  # the connection is still good for the retry
    assert len(rows(databases.replica)) == 1


def test_a_dropped_connection_is_opened_again(databases: Databases, subscriber: ModuleType) -> None:
    source = databases.source
    subscriber.handler(batch(event(source, "widgets", insert_widget(source), "insert")), None)
    find = "SELECT pid FROM pg_stat_activity WHERE usename = %s"
    (backend,) = [pid for (pid,) in databases.replica.execute(find, (databases.role,))]

    databases.replica.execute("SELECT pg_terminate_backend(%s)", (backend,))
    helpers.wait_for(
        lambda: not databases.replica.execute(find, (databases.role,)).fetchall(),
        what="the subscriber's backend to end",
    )
    subscriber.handler(batch(event(source, "widgets", insert_widget(source), "insert")), None)

    assert rows(databases.replica) == rows(source)
    (now,) = [pid for (pid,) in databases.replica.execute(find, (databases.role,))]
    assert now != backend


def test_a_missing_secret_is_one_clear_error(
    subscriber: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    monkeypatch.setenv("REPLICA_SECRET_ARN", arn)

    with pytest.raises(RuntimeError) as raised:
        subscriber.handler(batch(), None)

    assert str(raised.value).startswith(f"cannot read the replica's login secret {arn}: ")
    assert "ResourceNotFoundException" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_table_another_invocation_creates_at_the_same_time_is_used(
    local_target: Target, databases: Databases, subscriber: ModuleType
) -> None:
    """Two CREATE TABLE IF NOT EXISTS at once: the later one fails on PostgreSQL's catalog
    (a duplicate type name) when the first commits; the subscriber tries once more."""
    source = databases.source
    change = event(source, "widgets", insert_widget(source), "insert")
    columns = json.loads(change)["columns"]
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
        for name, kind in columns.items()
    )
    other_dsn = f"{local_target.source_dsn} dbname={databases.replica_name} user={databases.role}"
    other_dsn += " password=secret-pw"
    with psycopg.connect(other_dsn) as other, ThreadPoolExecutor(1) as pool:
        other.execute(sql.SQL("CREATE TABLE widgets ({}, PRIMARY KEY (id))").format(definition))
        applying = pool.submit(subscriber.handler, batch(change), None)
        helpers.wait_for(
            lambda: databases.replica.execute(
                "SELECT 1 FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'",
                (databases.role,),
            ).fetchone(),
            what="the subscriber to wait for the other CREATE TABLE",
        )
        other.commit()
        assert applying.result(timeout=30) == {"records": 1}

    assert rows(databases.replica) == rows(source)

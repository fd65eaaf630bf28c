"""The `dms_s3_dynamodb` root module, applied with the real provider to moto and run by the
local DMS engine: PostgreSQL -> task 1 -> S3 event store -> task 2 -> DynamoDB read model.

One apply serves the whole flow (an apply costs a minute or more): rows written before the
apply travel by full load, rows written after it by CDC, and both projections must end up
holding exactly the source's rows and versions."""

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.load import schema
from harness.local.dms.api import await_task_status, describe_task
from harness.local.dms.sources.postgres import slot_name
from harness.observe import make_observer
from harness.patterns import patterns
from harness.settings import Settings
from harness.targets import Target
from harness.teardown import dms_task_stopper
from harness.terraform import Deployment
from tests.helpers import terraform_cli, terraform_env, wait_for
from tests.integration.dms_support import slots, source_rows

pytestmark = pytest.mark.slow

PATTERN = patterns()["dms_s3_dynamodb"]
RUN_ID = "s3ddb-test"
TASKS = (f"cdcbench-{RUN_ID}-s3ddb-to-event-store", f"cdcbench-{RUN_ID}-s3ddb-to-read-model")


def drift_of(deployment: Deployment, target: Target, workdir: Path) -> set[str]:
    """Addresses of the resources a plan right after the apply would change."""
    root = workdir / "terraform" / "patterns" / deployment.module
    env = {**terraform_env(workdir), **target.aws.env()}
    plan = terraform_cli(root, env, "plan", "-out=drift.tfplan", "-input=false")
    assert plan.returncode == 0, plan.stderr
    shown = terraform_cli(root, env, "show", "-json", "drift.tfplan")
    return {
        change["address"]
        for change in json.loads(shown.stdout)["resource_changes"]
        if change["change"]["actions"] != ["no-op"]
    }


_WIDGET = (
    "INSERT INTO widgets (version, written_at, name, price, produced_at, attrs, notes) "
    "VALUES (1, now(), %s, %s, now() - interval '1 day', %s, %s) RETURNING id"
)
_ORDER = (
    "INSERT INTO orders (version, written_at, widget_id, quantity, amount, status, meta) "
    "VALUES (1, now(), %s, %s, %s, %s, %s) RETURNING id"
)


def _widget(conn: psycopg.Connection[Any], name: str, notes: str | None = None) -> int:
    attrs = json.dumps({"colour": "blå", "tags": ["a", "b,c"]})
    row = conn.execute(_WIDGET, (name, "12.3400", attrs, notes)).fetchone()
    assert row is not None
    return int(row[0])


def _order(conn: psycopg.Connection[Any], widget: int, quantity: int) -> int:
    row = conn.execute(_ORDER, (widget, quantity, "99.5000", "new", '{"rush": true}')).fetchone()
    assert row is not None
    return int(row[0])


def _update(conn: psycopg.Connection[Any], table: str, key: int, **values: Any) -> None:
    sets = ", ".join(f"{column} = %s" for column in values)
    conn.execute(
        f"UPDATE {table} SET version = version + 1, written_at = now(), {sets} WHERE id = %s",  # type: ignore[arg-type]
        (*values.values(), key),
    )


def _expected(dsn: str) -> dict[str, dict[str, str | None]]:
    """Source rows by read-model key, in canonical text."""
    return {
        f"{table}#{key}": row
        for table in schema.TABLES
        for key, row in source_rows(dsn, table).items()
    }


def _read_model(local_target: Target, table: str) -> dict[str, dict[str, Any]]:
    dynamodb = local_target.aws.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[item["pk"]["S"]] = item
    return items


def _matches(items: dict[str, dict[str, Any]], expected: dict[str, dict[str, str | None]]) -> bool:
    return set(items) == set(expected) and all(
        items[pk]["version"] == {"N": row["version"]} for pk, row in expected.items()
    )


def test_applies_replicates_through_the_event_store_and_destroys(
    local_target: Target, tmp_path: Path
) -> None:
    dsn = local_target.source_dsn
    schema.reset(dsn, PATTERN.replica_identity)
    with psycopg.connect(dsn, autocommit=True) as conn:  # before the apply: full load
        loaded = [_widget(conn, "first, with comma"), _widget(conn, 'say "hi"', "x" * 5000)]
        loaded_order = _order(conn, loaded[0], 3)

    variables = {
        **PATTERN.provided_values(RUN_ID, dsn, local_target.connector_plugin),
        "cdc_max_batch_interval": 2,
        # The source already holds rows: task 2 starts once task 1 has loaded them, as the
        # module documents for such sources.
        "start_read_model_task": False,
    }
    deployment = Deployment(
        PATTERN.name,
        tmp_path / "work",
        local_target.aws.env(),
        variables,
        Settings(),
        before_destroy=dms_task_stopper(local_target.aws),
    )
    with deployment:
        outputs = deployment.outputs
        assert outputs["event_store_prefix"] == "events/"
        dms = local_target.aws.client("dms")
        capture, project = outputs["event_store_task_arn"], outputs["read_model_task_arn"]
        assert describe_task(dms, capture)["Status"] == "running"
        assert describe_task(dms, project)["Status"] == "ready"
        wait_for(
            lambda: describe_task(dms, capture)["ReplicationTaskStats"].get("FullLoadFinishDate"),
            "task 1's full load",
        )
        dms.start_replication_task(
            ReplicationTaskArn=project, StartReplicationTaskType="start-replication"
        )
        await_task_status(dms, project, "running", timeout_s=30)

        with psycopg.connect(dsn, autocommit=True) as conn:  # after the apply: CDC
            added = _widget(conn, "ünïcode ✓")
            _update(conn, "widgets", loaded[0], name="renamed", price="0.0001")
            _update(conn, "widgets", loaded[1], notes=None)
            _update(conn, "widgets", loaded[1], attrs='{"n": 2}')
            _order(conn, added, 7)
            with conn.transaction():
                gone = _order(conn, added, 1)
                _update(conn, "orders", loaded_order, status="shipped")
            conn.execute("DELETE FROM orders WHERE id = %s", (gone,))
            doomed = _widget(conn, "short-lived")
            conn.execute("DELETE FROM widgets WHERE id = %s", (doomed,))

        expected = _expected(dsn)
        table = outputs["read_model_table"]

        def converged() -> dict[str, dict[str, Any]] | None:
            found = _read_model(local_target, table)
            return found if _matches(found, expected) else None

        items = wait_for(
            converged,
            "the read model to hold the source's rows and versions",
            timeout_s=60,
            poll_s=0.5,
        )
        # every column is an attribute, in DMS's canonical text; numbers as N, NULLs left out
        for pk, row in expected.items():
            item = items[pk]
            assert item["pk"] == {"S": pk}
            present = {c: v for c, v in row.items() if v is not None}
            assert set(item) == {"pk", *present}, pk
            for column, value in present.items():
                assert next(iter(item[column].values())) == value, (pk, column)
            assert "N" in item["id"] and "N" in item["version"]

        # The event store as the harness observes it: LOAD files, then transaction files,
        # every change with its version (deletes with the deleted version + 1).
        s3 = local_target.aws.client("s3")
        listed = s3.list_objects_v2(
            Bucket=outputs["event_store_bucket"], Prefix=outputs["event_store_prefix"]
        )
        keys = [o["Key"] for o in listed.get("Contents", [])]
        assert "events/public/widgets/LOAD00000001.csv" in keys
        assert "events/public/orders/LOAD00000001.csv" in keys
        assert any(k.startswith("events/cdc/CDC_TXN-") for k in keys), keys
        (projection,) = (p for p in PATTERN.projections if p.name == "event_store")
        observer = make_observer(
            projection.observer,
            projection.name,
            tmp_path / "seen.csv",
            local_target.aws,
            projection.observer_parameters(outputs),
        )
        seen = {(o.table, o.key, o.version, o.op) for o in observer.poll()}
        assert ("widgets", str(doomed), 2, "delete") in seen
        assert ("orders", str(gone), 2, "delete") in seen
        assert ("widgets", str(loaded[1]), 3, "upsert") in seen
        assert ("widgets", str(loaded[0]), 1, "upsert") in seen  # from the LOAD file
        latest: dict[tuple[str, str], int] = {}
        for table_name, key, version, _ in seen:
            latest[(table_name, key)] = max(version, latest.get((table_name, key), 0))
        for pk, row in expected.items():
            table_name, key = pk.split("#")
            assert latest[(table_name, key)] == int(str(row["version"])), pk

        failures = {k: v for k, v in local_target.engine_failures().items() if RUN_ID in k}
        assert failures == {}
        task_slot = slot_name(capture)
        assert task_slot in slots(dsn)  # task 1 reads its own replication slot

        # everything reads back as applied: a plan right after the apply changes nothing
        assert drift_of(deployment, local_target, tmp_path / "work") == set()

    assert deployment.state_resources() == []
    assert table not in local_target.aws.client("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in local_target.aws.client("s3").list_buckets()["Buckets"]]
    assert outputs["event_store_bucket"] not in buckets
    remaining = local_target.aws.client("dms").describe_replication_tasks()["ReplicationTasks"]
    assert not [t for t in remaining if t["ReplicationTaskIdentifier"] in TASKS]
    wait_for(lambda: task_slot not in slots(dsn), "task 1's replication slot dropped")
    print(f"\ndms_s3_dynamodb terraform timings: {deployment.timings}")

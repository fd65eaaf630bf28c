"""The `dms_msk_lambda` root module, applied with the real provider to moto and run by the
local engines: PostgreSQL -> DMS -> Kafka (the MSK cluster) -> Lambda projector -> DynamoDB
read model, and MSK Connect's S3 sink -> S3 event store.

The deployment builds the projector's package (the root's default path); the local target
gives the S3 sink's plugin zip."""

from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.load import schema
from harness.observe.dynamodb_scan import scan_versions
from harness.patterns import patterns
from harness.settings import Settings
from harness.targets import Target
from harness.teardown import dms_task_stopper
from harness.terraform import Deployment
from tests.helpers import wait_for
from tests.integration.test_dms_s3_dynamodb_terraform import (
    _order,
    _update,
    _widget,
    drift_of,
)

pytestmark = pytest.mark.slow

MODULE = "dms_msk_lambda"
PATTERN = patterns()[MODULE]


def test_applies_projects_through_kafka_and_archives_to_s3(
    local_target: Target, tmp_path: Path
) -> None:
    dsn = local_target.source_dsn
    schema.reset(dsn, "full")
    variables: dict[str, Any] = {
        "projector": "correct",
        **PATTERN.provided_values("msklambda-test", dsn, local_target.connector_plugin),
    }
    deployment = Deployment(
        MODULE,
        tmp_path / "work",
        local_target.aws.env(),
        variables,
        Settings(),
        before_destroy=dms_task_stopper(local_target.aws),
    )
    with deployment:
        outputs = deployment.outputs
        assert outputs["event_store_prefix"] == "topics/cdc.changes/"
        with psycopg.connect(dsn, autocommit=True) as conn:
            first = _widget(conn, "first, with comma")
            second = _widget(conn, "ünïcode ✓", "x" * 3000)
            _update(conn, "widgets", first, name="renamed", price="0.0001")
            order = _order(conn, second, 2)
            _update(conn, "orders", order, status="shipped")
            doomed = _widget(conn, "short-lived")
            conn.execute("DELETE FROM widgets WHERE id = %s", (doomed,))
        expected = {
            ("widgets", str(first)): 2,
            ("widgets", str(second)): 1,
            ("orders", str(order)): 2,
        }
        dynamodb = local_target.aws.client("dynamodb")
        wait_for(
            lambda: scan_versions(dynamodb, outputs["read_model_table"]) == expected,
            "the read model to hold the source's rows and versions",
            timeout_s=90,
            poll_s=0.5,
        )
        tombstone = dynamodb.get_item(
            TableName=outputs["read_model_table"], Key={"pk": {"S": f"widgets#{doomed}"}}
        )["Item"]
        assert tombstone["tombstone"] == {"BOOL": True} and tombstone["version"] == {"N": "2"}

        s3 = local_target.aws.client("s3")

        def archived() -> list[str]:
            listed = s3.list_objects_v2(
                Bucket=outputs["event_store_bucket"], Prefix=outputs["event_store_prefix"]
            )
            return [o["Key"] for o in listed.get("Contents", [])]

        # one object per message (flush.size 1): 6 changes plus the full load's control records
        keys = wait_for(lambda: len(archived()) >= 6 and archived(), "the S3 sink's objects")
        assert all("/partition=" in k and k.endswith(".json") for k in keys), keys

        failures = {k: v for k, v in local_target.engine_failures().items() if "msklambda" in k}
        assert failures == {}
        assert drift_of(deployment, local_target, tmp_path / "work") == set()
    assert deployment.state_resources() == []
    print(f"\ndms_msk_lambda terraform timings: {deployment.timings}")

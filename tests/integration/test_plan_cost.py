"""A pattern's root module planned against moto with what the harness gives it: the plan
names what the apply would create and prices it per hour from the table, and creates
nothing (no state, no replication instance in moto), so there is nothing to destroy."""

import json
from pathlib import Path

import pytest

from harness.cost import default_prices
from harness.cost.estimate import hourly_cost
from harness.cost.plan import planned_types, resources_from_plan
from harness.local.mskconnect.plugin import placeholder_plugin
from harness.patterns import patterns
from harness.settings import Settings
from harness.terraform import Deployment
from tests.conftest import BareCloud
from tests.helpers import unique

pytestmark = pytest.mark.slow

PATTERN = patterns()["dms_s3_dynamodb"]


def test_plan_prices_the_pattern_and_creates_nothing(bare_cloud: BareCloud, tmp_path: Path) -> None:
    run_id = unique("plan-cost")
    # what the harness sets on apply, with stand-ins for the source and the plugins
    variables = PATTERN.provided_values(
        run_id,
        "host=db.example port=5432 dbname=app user=cdc",
        lambda plugin: placeholder_plugin(plugin, tmp_path / "plugins"),
    )
    workdir = tmp_path / "work"
    deployment = Deployment(PATTERN.name, workdir, bare_cloud.aws.env(), variables, Settings())

    plan = deployment.plan()  # no `with`: nothing to destroy

    types = planned_types(plan)
    assert {"aws_dms_replication_instance", "aws_dynamodb_table", "aws_s3_bucket"} <= set(types)
    assert types == sorted(set(types))

    instance_class = PATTERN.effective_variables({})["replication_instance_class"]
    key = f"dms.instance_hour.{instance_class}"
    price = default_prices().price(key)
    assert price.charged == "hour"
    cost = hourly_cost(resources_from_plan(plan))
    (line,) = [line for line in cost.lines if line.price_key.startswith("dms.")]
    assert line.price_key == key
    assert line.address.endswith("aws_dms_replication_instance.this")
    assert line.usd_per_hour == pytest.approx(price.usd / price.per)
    assert cost.usd_per_hour >= line.usd_per_hour
    assert {"dynamodb.write_request_unit", "s3.put_request"} <= set(cost.per_use_keys)

    # nothing was created: no state recording resources, nothing in moto
    assert deployment.state_resources() == []
    for state_file in workdir.rglob("*.tfstate"):
        text = state_file.read_text()
        assert not text or json.loads(text).get("resources") == [], state_file
    instances = bare_cloud.aws.client("dms").describe_replication_instances()
    assert not [
        instance
        for instance in instances["ReplicationInstances"]
        if run_id in instance["ReplicationInstanceIdentifier"]
    ]
    tables = bare_cloud.aws.client("dynamodb").list_tables()["TableNames"]
    assert not [table for table in tables if run_id in table]

    assert {"init_s", "plan_s", "show_s"} <= set(deployment.timings)
    assert "destroy_s" not in deployment.timings
    for command in ("init", "plan", "show"):
        assert (workdir / "logs" / f"{command}.log").read_text(), command

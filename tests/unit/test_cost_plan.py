"""Pricing a plan: a hand-written `terraform show -json` plan becomes the same Resources as
a state holding the same objects, its fixed cost per hour comes from the price table, and
the types it would create are listed."""

import json
import re
from typing import Any

import pytest

from harness.cost import Resource, default_prices, extract_resources, monthly_cost
from harness.cost.estimate import HOURS_PER_MONTH, hourly_cost
from harness.cost.plan import plan_as_state, planned_types, resources_from_plan

SECRET_CLASS = "dms.r5.large"
"""The class of a replication instance whose class Terraform marks sensitive."""

TAGS = {"cdcbench:run-id": "plan-unit"}


def type_and_name(address: str) -> list[str]:
    """`module.x["k"].aws_thing.name[0]` -> [aws_thing, name]."""
    return re.sub(r"\[[^\]]*\]$", "", address).split(".")[-2:]


def planned(
    address: str,
    values: dict[str, Any],
    sensitive: dict[str, Any] | None = None,
    index: int | str | None = None,
    mode: str = "managed",
) -> dict[str, Any]:
    """One object of `planned_values`, as `terraform show -json` writes it."""
    resource_type, name = type_and_name(address)
    found = {
        "address": address,
        "mode": mode,
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": values,
        "sensitive_values": sensitive if sensitive is not None else {"tags": {}, "tags_all": {}},
    }
    if index is not None:
        found["index"] = index
    return found


DMS = {"replication_instance_class": "dms.t3.medium", "multi_az": False, "tags": TAGS}
KMS = {"enable_key_rotation": True, "deletion_window_in_days": 7}
STREAM = {"shard_count": 2, "stream_mode_details": [{"stream_mode": "PROVISIONED"}]}
MSK = {
    "number_of_broker_nodes": 2,
    "broker_node_group_info": [
        {
            "instance_type": "kafka.t3.small",
            "storage_info": [{"ebs_storage_info": [{"volume_size": 10}]}],
        }
    ],
}
TABLE = {"billing_mode": "PAY_PER_REQUEST", "stream_enabled": True, "hash_key": "pk"}
# `architectures` is left to the provider: unknown until apply, so absent from the plan
FUNCTION = {"memory_size": 256, "runtime": "python3.12", "handler": "projector.handler"}
# the subnets are created by the same apply: `subnet_ids` unknown, so absent
ENDPOINT = {"vpc_endpoint_type": "Interface", "service_name": "com.amazonaws.us-east-1.sts"}
HIDDEN_DMS = {"replication_instance_class": SECRET_CLASS, "multi_az": False}
HIDDEN_SENSITIVE = {"replication_instance_class": True, "tags": {}}
ENVIRONMENT_SENSITIVE = {"layers": [False], "environment": [{"variables": {"TOKEN": True}}]}

PLAN: dict[str, Any] = {
    "format_version": "1.2",
    "terraform_version": "1.11.4",
    "planned_values": {
        "outputs": {},
        "root_module": {
            "resources": [
                planned("aws_dms_replication_instance.this", DMS),
                planned("aws_kms_key.events", KMS, {}),
                planned("aws_kinesis_stream.bus[0]", STREAM, index=0),
                planned("aws_kinesis_stream.bus[1]", STREAM, index=1),
            ],
            "child_modules": [
                {
                    "address": 'module.dms["hidden"]',
                    "resources": [
                        planned(
                            'module.dms["hidden"].aws_dms_replication_instance.this',
                            HIDDEN_DMS,
                            HIDDEN_SENSITIVE,
                        )
                    ],
                },
                {
                    "address": "module.msk",
                    "resources": [
                        planned("module.msk.aws_cloudwatch_log_group.brokers", {"name": "b"}),
                        planned("module.msk.aws_msk_cluster.this", MSK),
                    ],
                },
                {
                    "address": "module.network",
                    "child_modules": [
                        {
                            "address": "module.network.module.network",
                            "resources": [
                                planned(
                                    'module.network.module.network.aws_vpc_endpoint.interface["sts"]',
                                    ENDPOINT,
                                    index="sts",
                                )
                            ],
                        }
                    ],
                },
                {
                    "address": "module.projector",
                    "resources": [
                        planned(
                            "module.projector.aws_lambda_function.this",
                            FUNCTION,
                            ENVIRONMENT_SENSITIVE,
                        )
                    ],
                    "child_modules": [
                        {
                            "address": "module.projector.module.role",
                            "resources": [
                                planned(
                                    "module.projector.module.role.aws_iam_role.this",
                                    {"name": "projector"},
                                ),
                                planned(
                                    "module.projector.module.role.data.aws_iam_policy_document.trust",
                                    {"json": "{}"},
                                    mode="data",
                                ),
                            ],
                        }
                    ],
                },
                {
                    "address": "module.read_model",
                    "resources": [planned("module.read_model.aws_dynamodb_table.this", TABLE)],
                },
            ],
        },
    },
    "resource_changes": [],
}


def instance(
    attributes: dict[str, Any], sensitive: list[list[Any]] | None = None, **key: Any
) -> dict[str, Any]:
    return {"attributes": attributes, "sensitive_attributes": sensitive or [], **key}


def state_resource(
    resource_type: str, name: str, *instances: dict[str, Any], module: str | None = None
) -> dict[str, Any]:
    found = {"mode": "managed", "type": resource_type, "name": name, "instances": list(instances)}
    return found | ({"module": module} if module else {})


STATE: dict[str, Any] = {
    "version": 4,
    "resources": [
        state_resource("aws_dms_replication_instance", "this", instance(DMS)),
        state_resource("aws_kms_key", "events", instance(KMS)),
        state_resource(
            "aws_kinesis_stream",
            "bus",
            instance(STREAM, index_key=0),
            instance(STREAM, index_key=1),
        ),
        state_resource(
            "aws_dms_replication_instance",
            "this",
            instance(HIDDEN_DMS, [[{"type": "get_attr", "value": "replication_instance_class"}]]),
            module='module.dms["hidden"]',
        ),
        state_resource(
            "aws_cloudwatch_log_group", "brokers", instance({"name": "b"}), module="module.msk"
        ),
        state_resource("aws_msk_cluster", "this", instance(MSK), module="module.msk"),
        state_resource(
            "aws_vpc_endpoint",
            "interface",
            instance(ENDPOINT, index_key="sts"),
            module="module.network.module.network",
        ),
        state_resource(
            "aws_lambda_function",
            "this",
            instance(
                FUNCTION,
                [
                    [
                        {"type": "get_attr", "value": "environment"},
                        {"type": "index", "value": {"value": 0, "type": "number"}},
                        {"type": "get_attr", "value": "variables"},
                        {"type": "get_attr", "value": "TOKEN"},
                    ]
                ],
            ),
            module="module.projector",
        ),
        state_resource(
            "aws_iam_role",
            "this",
            instance({"name": "projector"}),
            module="module.projector.module.role",
        ),
        {
            "mode": "data",
            "type": "aws_iam_policy_document",
            "name": "trust",
            "module": "module.projector.module.role",
            "instances": [instance({"json": "{}"})],
        },
        state_resource("aws_dynamodb_table", "this", instance(TABLE), module="module.read_model"),
    ],
}


# --- the plan as a state -----------------------------------------------------------------


def test_plan_regroups_into_the_state_shape() -> None:
    assert plan_as_state(PLAN) == STATE


def test_plan_and_state_give_the_same_resources() -> None:
    from_plan = resources_from_plan(PLAN)
    assert from_plan == extract_resources(STATE)
    assert [r.address for r in from_plan] == [
        "aws_dms_replication_instance.this",
        "aws_kms_key.events",
        "aws_kinesis_stream.bus[0]",
        "aws_kinesis_stream.bus[1]",
        'module.dms["hidden"].aws_dms_replication_instance.this',
        "module.msk.aws_cloudwatch_log_group.brokers",
        "module.msk.aws_msk_cluster.this",
        "module.msk.aws_msk_cluster.this",
        'module.network.module.network.aws_vpc_endpoint.interface["sts"]',
        "module.projector.aws_lambda_function.this",
        "module.read_model.aws_dynamodb_table.this",
    ]


def by_address(resources: list[Resource]) -> dict[str, list[Resource]]:
    found: dict[str, list[Resource]] = {}
    for resource in resources:
        found.setdefault(resource.address, []).append(resource)
    return found


def test_values_unknown_until_apply_are_tolerated() -> None:
    found = by_address(resources_from_plan(PLAN))
    (function,) = found["module.projector.aws_lambda_function.this"]
    assert function.detail == {"memory_mb": 256, "architecture": "x86_64"}
    assert function.usage_keys == ("lambda.request", "lambda.gb_second.x86_64")
    (endpoint,) = found['module.network.module.network.aws_vpc_endpoint.interface["sts"]']
    assert (endpoint.price_key, endpoint.count) == (None, 0)
    assert endpoint.reason == "its subnets (hence its Availability Zones) are unknown before apply"
    assert endpoint.detail == {"service": "sts"}


def test_a_sensitive_value_is_never_read() -> None:
    resources = resources_from_plan(PLAN)
    (hidden,) = by_address(resources)['module.dms["hidden"].aws_dms_replication_instance.this']
    assert (hidden.price_key, hidden.reason) == (None, "no replication_instance_class in the state")
    assert SECRET_CLASS not in json.dumps([r.model_dump(mode="json") for r in resources])


def test_an_empty_plan_has_no_resources() -> None:
    assert resources_from_plan({"planned_values": {"root_module": {}}}) == []
    assert resources_from_plan({}) == []


# --- the cost per hour -----------------------------------------------------------------


def per_unit_hour(key: str) -> float:
    """The table's price of one unit for one hour (monthly prices spread over the month)."""
    price = default_prices().price(key)
    usd = price.usd / price.per
    return usd if price.charged == "hour" else usd / HOURS_PER_MONTH


def test_hourly_cost_prices_fixed_lines_from_the_table() -> None:
    cost = hourly_cost(resources_from_plan(PLAN))
    expected = [
        ("aws_dms_replication_instance.this", "dms.instance_hour.dms.t3.medium", 1),
        ("aws_kms_key.events", "kms.key_month", 1),
        ("aws_kinesis_stream.bus[0]", "kinesis.shard_hour", 2),
        ("aws_kinesis_stream.bus[1]", "kinesis.shard_hour", 2),
        ("module.msk.aws_msk_cluster.this", "msk.broker_hour.kafka.t3.small", 2),
        ("module.msk.aws_msk_cluster.this", "msk.storage_gb_month", 20),
    ]
    assert [(line.address, line.price_key) for line in cost.lines] == [
        (address, key) for address, key, _ in expected
    ]
    for line, (_, key, units) in zip(cost.lines, expected, strict=True):
        assert line.usd_per_hour == pytest.approx(units * per_unit_hour(key)), key
    assert cost.usd_per_hour == pytest.approx(
        sum(units * per_unit_hour(key) for _, key, units in expected)
    )
    assert default_prices().price("kms.key_month").charged == "month"  # spread, as tested


def test_hourly_cost_names_what_it_leaves_out() -> None:
    cost = hourly_cost(resources_from_plan(PLAN))
    assert [(u.address, u.kind) for u in cost.unpriced] == [
        ('module.dms["hidden"].aws_dms_replication_instance.this', "dms_replication_instance"),
        (
            'module.network.module.network.aws_vpc_endpoint.interface["sts"]',
            "vpc_interface_endpoint",
        ),
    ]
    assert cost.per_use_keys == [
        "cloudwatch.logs_ingest_gb",
        "dynamodb.read_request_unit",
        "dynamodb.stream_read_request_unit",
        "dynamodb.write_request_unit",
        "kinesis.put_payload_unit",
        "kms.request",
        "lambda.gb_second.x86_64",
        "lambda.request",
        "vpc.interface_endpoint_gb",
    ]
    assert all(default_prices().price(key).charged == "use" for key in cost.per_use_keys)


def test_hourly_and_monthly_fixed_costs_agree() -> None:
    resources = resources_from_plan(PLAN)
    monthly = monthly_cost(resources, {}, 0)
    hourly = hourly_cost(resources)
    assert hourly.usd_per_hour * HOURS_PER_MONTH == pytest.approx(monthly.fixed_usd_per_month)
    assert hourly.unpriced == monthly.assumptions.unpriced
    assert hourly.per_use_keys == monthly.assumptions.usage_not_given


def test_hourly_cost_refuses_a_per_use_price_as_a_fixed_one() -> None:
    wrong = Resource(kind="lambda_function", address="f", count=1, price_key="lambda.request")
    with pytest.raises(ValueError, match=r"f: lambda\.request is a per-use price"):
        hourly_cost([wrong])
    assert hourly_cost([]).usd_per_hour == 0


# --- the types a plan creates ----------------------------------------------------------


def change(address: str, *actions: str, mode: str = "managed") -> dict[str, Any]:
    resource_type = type_and_name(address)[0]
    return {"address": address, "mode": mode, "type": resource_type, "change": {"actions": actions}}


def test_planned_types_are_the_created_ones_sorted_and_distinct() -> None:
    plan = {
        "resource_changes": [
            change("module.msk.aws_msk_cluster.this", "create"),
            change("aws_kinesis_stream.bus[0]", "create"),
            change("aws_kinesis_stream.bus[1]", "create"),
            change("aws_dms_replication_instance.this", "delete", "create"),  # replaced
            change("aws_sqs_queue.kept", "no-op"),
            change("aws_s3_bucket.tagged", "update"),
            change("aws_kms_key.gone", "delete"),
            change("data.aws_region.current", "read", mode="data"),
        ]
    }
    assert planned_types(plan) == [
        "aws_dms_replication_instance",
        "aws_kinesis_stream",
        "aws_msk_cluster",
    ]
    assert planned_types({}) == []

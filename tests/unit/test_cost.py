"""Cost estimator: the shipped price table, bad tables, the resources read from trimmed
pattern states (tests/data/cost), and the monthly arithmetic at several rates."""

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cost import (
    Resource,
    default_prices,
    load_price_table,
    monthly_cost,
    summarize_state,
)
from harness.cost.prices import parse_price_table

STATES = Path(__file__).resolve().parents[1] / "data" / "cost"

REQUIRED_KEYS = [
    *(
        f"dms.{variant}.dms.{size}"
        for variant in ("instance_hour", "multi_az_instance_hour")
        for size in ("t3.micro", "t3.small", "t3.medium", "t3.large", "c5.large", "r5.large")
    ),
    "msk.broker_hour.kafka.t3.small",
    "msk.broker_hour.kafka.m5.large",
    "msk.broker_hour.kafka.m7g.large",
    "msk.storage_gb_month",
    "msk_connect.mcu_hour",
    "kinesis.shard_hour",
    "kinesis.put_payload_unit",
    "kinesis.on_demand_stream_hour",
    "firehose.ingest_gb",
    "dynamodb.write_request_unit",
    "dynamodb.read_request_unit",
    "dynamodb.stream_read_request_unit",
    "dynamodb.storage_gb_month",
    "lambda.request",
    "lambda.gb_second.x86_64",
    "lambda.gb_second.arm64",
    "s3.put_request",
    "s3.get_request",
    "s3.storage_gb_month.standard",
    "sqs.request.standard",
    "sqs.request.fifo",
    "aurora_postgresql.instance_hour.db.t3.medium",
    "aurora_postgresql.instance_hour.db.t4g.medium",
    "aurora_postgresql.instance_hour.db.r6g.large",
    "aurora_postgresql.acu_hour",
    "aurora_postgresql.io_request",
    "secretsmanager.secret_month",
    "secretsmanager.api_call",
    "kms.key_month",
    "kms.request",
    "vpc.interface_endpoint_az_hour",
    "vpc.interface_endpoint_gb",
    "cloudwatch.logs_ingest_gb",
]


# --- the shipped table ---------------------------------------------------------------


def test_default_table_is_dated_sourced_and_positive() -> None:
    table = default_prices()
    assert table.region == "us-east-1"
    assert isinstance(table.as_of, datetime.date)
    assert default_prices() is table  # loaded once
    for key, price in table.prices.items():
        assert price.key == key
        assert price.source.startswith("https://aws.amazon.com/"), key
        assert price.usd > 0 and price.per > 0, key
        assert price.unit.startswith("per "), key


def test_default_table_covers_every_priced_line() -> None:
    missing = [key for key in REQUIRED_KEYS if key not in default_prices().prices]
    assert missing == []


def test_multi_az_dms_costs_twice_single_az() -> None:
    table = default_prices()
    for size in ("t3.micro", "t3.small", "t3.medium", "t3.large", "c5.large", "r5.large"):
        single = table.price(f"dms.instance_hour.dms.{size}").usd
        assert table.price(f"dms.multi_az_instance_hour.dms.{size}").usd == pytest.approx(
            2 * single
        )


def test_per_multiplier_carries_per_million() -> None:
    request = default_prices().price("lambda.request")
    assert (request.usd, request.per, request.charged) == (0.20, 1_000_000, "use")
    assert request.usd_for(3_000_000) == pytest.approx(0.60)
    assert default_prices().price("kinesis.shard_hour").charged == "hour"
    assert default_prices().price("kms.key_month").charged == "month"


def test_unknown_key_names_the_table() -> None:
    with pytest.raises(KeyError, match=r"no price for dms\.r6i\.32xlarge in the table"):
        default_prices().price("dms.r6i.32xlarge")


# --- bad tables --------------------------------------------------------------------------


def entry(**changes: Any) -> dict[str, Any]:
    good = {
        "key": "kinesis.shard_hour",
        "usd": 0.015,
        "per": 1,
        "unit": "per shard-hour",
        "charged": "hour",
        "source": "https://aws.amazon.com/kinesis/data-streams/pricing/",
        "checked": False,
    }
    return {name: value for name, value in (good | changes).items() if value is not ...}


def table(*entries: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"as_of": "2026-12-03", "region": "us-east-1", "prices": list(entries)} | top


def test_a_good_table_parses() -> None:
    parsed = parse_price_table(table(entry(), entry(key="kms.key_month", charged="month")))
    assert parsed.as_of == datetime.date(2026, 12, 3)
    assert parsed.price("kms.key_month").charged == "month"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry(usd=-0.015), r"entry kinesis\.shard_hour: usd: Input should be greater than 0"),
        (entry(per=0), r"entry kinesis\.shard_hour: per: Input should be greater than 0"),
        (entry(checked=...), r"entry kinesis\.shard_hour: checked: Field required"),
        (entry(colour="red"), r"entry kinesis\.shard_hour: colour: Extra inputs"),
        (entry(charged="daily"), r"entry kinesis\.shard_hour: charged: Input should be"),
        (
            entry(source="http://aws.amazon.com/kinesis/"),
            r"entry kinesis\.shard_hour: source: Value error, must be an https:// URL",
        ),
        (entry(key=...), r"entry #2: key: Field required"),
    ],
)
def test_bad_entries_are_named(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=rf"^my table: {message}"):
        parse_price_table(table(entry(key="kms.key_month"), bad), "my table")


def test_duplicate_keys_and_bad_top_level_are_refused() -> None:
    with pytest.raises(ValueError, match=r"entry kinesis\.shard_hour: key appears twice"):
        parse_price_table(table(entry(), entry(usd=0.02)))
    with pytest.raises(ValueError, match=r"unknown keys \['currency'\], missing keys \[\]"):
        parse_price_table(table(entry(), currency="USD"))
    with pytest.raises(ValueError, match=r"missing keys \['region'\]"):
        parse_price_table({"as_of": "2026-12-03", "prices": [entry()]})
    with pytest.raises(ValueError, match="as_of must be a date"):
        parse_price_table(table(entry(), as_of="last week"))
    with pytest.raises(ValueError, match="prices must be a non-empty list"):
        parse_price_table(table())


def test_bad_table_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(table(entry(usd=-1))))
    with pytest.raises(ValueError, match=rf"^{path}: entry kinesis\.shard_hour: usd"):
        load_price_table(path)
    path.write_text("prices: [unclosed")
    with pytest.raises(ValueError, match="cannot read the price table"):
        load_price_table(path)


# --- resources from states -------------------------------------------------------------


def by_kind(resources: list[Resource]) -> dict[str, list[Resource]]:
    kinds: dict[str, list[Resource]] = {}
    for resource in resources:
        kinds.setdefault(resource.kind, []).append(resource)
    return kinds


def fixed(resources: list[Resource]) -> list[tuple[str, float, str | None]]:
    return [(r.address, r.count, r.price_key) for r in resources if r.price_key]


def test_msk_pattern_resources() -> None:
    resources = summarize_state(STATES / "dms_msk_lambda.tfstate")
    assert fixed(resources) == [
        ("module.archive.aws_mskconnect_connector.this", 1, "msk_connect.mcu_hour"),
        ("module.msk.aws_msk_cluster.this", 2, "msk.broker_hour.kafka.t3.small"),
        ("module.msk.aws_msk_cluster.this", 20, "msk.storage_gb_month"),
        (
            "module.network.aws_dms_replication_instance.this",
            1,
            "dms.instance_hour.dms.t3.medium",
        ),
        (
            'module.network.module.network.aws_vpc_endpoint.interface["lambda"]',
            2,
            "vpc.interface_endpoint_az_hour",
        ),
        (
            'module.network.module.network.aws_vpc_endpoint.interface["sts"]',
            2,
            "vpc.interface_endpoint_az_hour",
        ),
    ]
    kinds = by_kind(resources)
    assert kinds["msk_brokers"][0].detail == {"brokers": 2, "instance_type": "kafka.t3.small"}
    assert kinds["mskconnect_connector"][0].detail == {
        "mode": "provisioned",
        "mcu_count": 1,
        "workers": 1,
    }
    (projector,) = kinds["lambda_function"]
    assert projector.price_key is None and projector.reason is None
    assert projector.detail == {"memory_mb": 256, "architecture": "x86_64"}
    assert projector.usage_keys == ("lambda.request", "lambda.gb_second.x86_64")
    assert len(kinds["s3_bucket"]) == 2 and len(kinds["dynamodb_table"]) == 1


def test_event_bus_pattern_resources() -> None:
    resources = summarize_state(STATES / "dms_ddb_streams_kinesis.tfstate")
    assert fixed(resources) == [
        ("aws_kinesis_stream.bus", 2, "kinesis.shard_hour"),
        (
            "module.network.aws_dms_replication_instance.this",
            1,
            "dms.instance_hour.dms.t3.medium",
        ),
    ]
    kinds = by_kind(resources)
    assert sorted(r.address for r in kinds["dynamodb_table"]) == [
        "module.read_model.aws_dynamodb_table.this",
        'module.table["orders"].aws_dynamodb_table.this',
        'module.table["widgets"].aws_dynamodb_table.this',
    ]
    assert all(
        "dynamodb.stream_read_request_unit" in table.usage_keys for table in kinds["dynamodb_table"]
    )
    assert len(kinds["lambda_function"]) == 2
    assert kinds["firehose_delivery_stream"][0].usage_keys == ("firehose.ingest_gb",)


def test_aurora_pattern_resources() -> None:
    resources = summarize_state(STATES / "poller_kinesis_aurora.tfstate")
    assert fixed(resources) == [
        ("aws_kinesis_stream.changes", 2, "kinesis.shard_hour"),
        (
            'module.network.aws_vpc_endpoint.interface["secretsmanager"]',
            2,
            "vpc.interface_endpoint_az_hour",
        ),
        ("module.replica.aws_rds_cluster.this", 1, "secretsmanager.secret_month"),
        (
            "module.replica.aws_rds_cluster_instance.this",
            1,
            "aurora_postgresql.instance_hour.db.t4g.medium",
        ),
    ]
    assert by_kind(resources)["managed_master_user_secret"][0].detail == {"managed_by": "rds"}


def test_serverless_pattern_has_no_fixed_cost() -> None:
    resources = summarize_state(STATES / "sqs_lambda_eventstore.tfstate")
    assert fixed(resources) == []
    assert [r.kind for r in resources] == [
        "dynamodb_table",
        "sqs_queue",
        "sqs_queue",
        "log_group",
        "lambda_function",
    ]
    estimate = monthly_cost(resources, {}, 100)
    assert estimate.total_usd_per_month == 0
    assert "sqs.request.standard" in estimate.assumptions.usage_not_given


def test_variants_resources() -> None:
    resources = summarize_state(STATES / "variants.tfstate")
    assert fixed(resources) == [
        (
            "module.dms.aws_dms_replication_instance.ha",
            1,
            "dms.multi_az_instance_hour.dms.t3.large",
        ),
        ("aws_mskconnect_connector.auto", 2, "msk_connect.mcu_hour"),
        ("aws_kinesis_stream.ondemand", 1, "kinesis.on_demand_stream_hour"),
        ("aws_dynamodb_table.provisioned", 8, "dynamodb.wcu_hour"),
        ("aws_dynamodb_table.provisioned", 15, "dynamodb.rcu_hour"),
        ("aws_kms_key.events", 1, "kms.key_month"),
        ("aws_secretsmanager_secret.api", 1, "secretsmanager.secret_month"),
        ("aws_rds_cluster_instance.serverless", 0.5, "aurora_postgresql.acu_hour"),
        ("aws_vpc_endpoint.interface[0]", 3, "vpc.interface_endpoint_az_hour"),
    ]
    unpriced = {r.address: r.reason for r in resources if r.price_key is None and r.reason}
    assert unpriced == {
        "aws_dms_replication_instance.huge": "no price for dms.r6i.32xlarge in the table",
        "aws_msk_cluster.express": "no price for MSK broker express.m7g.large in the table",
    }
    kinds = by_kind(resources)
    assert kinds["kinesis_stream"][0].detail == {"stream_mode": "ON_DEMAND"}
    assert kinds["lambda_function"][0].usage_keys == ("lambda.request", "lambda.gb_second.arm64")
    assert kinds["sqs_queue"][0].usage_keys == ("sqs.request.fifo",)


def test_summary_keeps_no_secret_values() -> None:
    text = json.dumps(
        [r.model_dump(mode="json") for r in summarize_state(STATES / "variants.tfstate")]
    )
    assert "fixture-secret-value" not in text
    assert "fixture-master-password" not in text


def test_sensitive_attributes_are_never_read(tmp_path: Path) -> None:
    state = {
        "version": 4,
        "resources": [
            {
                "mode": "managed",
                "type": "aws_dms_replication_instance",
                "name": "this",
                "instances": [
                    {
                        "attributes": {"replication_instance_class": "dms.t3.medium"},
                        "sensitive_attributes": [
                            [{"type": "get_attr", "value": "replication_instance_class"}]
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "state.tfstate"
    path.write_text(json.dumps(state))
    (instance,) = summarize_state(path)
    assert "dms.t3.medium" not in instance.model_dump_json()
    assert (instance.price_key, instance.reason) == (
        None,
        "no replication_instance_class in the state",
    )


def test_unreadable_or_wrong_state_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "old.tfstate"
    path.write_text(json.dumps({"version": 3, "modules": []}))
    with pytest.raises(ValueError, match="Terraform state version 3: expected 4"):
        summarize_state(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the Terraform state"):
        summarize_state(path)


# --- the estimate ----------------------------------------------------------------------

# The MSK pattern's fixed cost, by hand: DMS t3.medium 0.073 x 730 = 53.29; 2 kafka.t3.small
# brokers 2 x 0.0456 x 730 = 66.576; 20 GB broker storage x 0.10 = 2.00; 1 MCU x 0.11 x 730
# = 80.30; 2 interface endpoints x 2 AZs x 0.01 x 730 = 29.20.
MSK_FIXED = 53.29 + 66.576 + 2.00 + 80.30 + 29.20

# One change: 0.01 Lambda requests (batches of 100), one DynamoDB write request unit, and
# 0.001 S3 PUTs. Per change/s over 730 h (2,628,000 s): 26,280 requests x 0.20/1e6 =
# 0.005256; 2,628,000 WRU x 0.625/1e6 = 1.6425; 2,628 PUTs x 0.005/1000 = 0.01314.
USAGE = {"lambda.request": 0.01, "dynamodb.write_request_unit": 1.0, "s3.put_request": 0.001}
PER_USE_PER_CHANGE_PER_S = 0.005256 + 1.6425 + 0.01314


@pytest.mark.parametrize("rate", [10, 100, 1000])
def test_fixed_cost_is_constant_and_per_use_is_linear(rate: int) -> None:
    resources = summarize_state(STATES / "dms_msk_lambda.tfstate")
    estimate = monthly_cost(resources, USAGE, rate)
    assert estimate.fixed_usd_per_month == pytest.approx(MSK_FIXED)
    assert estimate.per_use_usd_per_month == pytest.approx(rate * PER_USE_PER_CHANGE_PER_S)
    assert estimate.total_usd_per_month == pytest.approx(
        MSK_FIXED + rate * PER_USE_PER_CHANGE_PER_S
    )
    writes = next(
        line for line in estimate.lines if line.price_key == "dynamodb.write_request_unit"
    )
    assert writes.quantity_per_month == pytest.approx(rate * 2_628_000)
    assert writes.unit == "per million write request units (on-demand)"
    assert writes.source == "https://aws.amazon.com/dynamodb/pricing/on-demand/"


def test_estimate_totals_at_three_rates() -> None:
    resources = summarize_state(STATES / "dms_msk_lambda.tfstate")
    totals = [monthly_cost(resources, USAGE, rate).total_usd_per_month for rate in (10, 100, 1000)]
    assert totals == pytest.approx([247.97496, 397.4556, 1892.262])


def test_estimate_lines_and_assumptions() -> None:
    resources = summarize_state(STATES / "variants.tfstate")
    estimate = monthly_cost(resources, {"kinesis.on_demand_data_in_gb": 1e-6}, 50)
    # 213.16 + 160.60 + 29.20 + 3.796 + 1.4235 + 1.00 + 0.40 + 43.80 + 21.90, by hand
    assert estimate.fixed_usd_per_month == pytest.approx(475.2795)
    # 1e-6 GB x 50/s x 2,628,000 s = 131.4 GB x 0.08
    assert estimate.per_use_usd_per_month == pytest.approx(10.512)
    dms_line = next(line for line in estimate.lines if line.price_key.startswith("dms."))
    assert (dms_line.what, dms_line.quantity_per_month, dms_line.usd_per_month) == (
        "module.dms.aws_dms_replication_instance.ha",
        730,
        pytest.approx(213.16),
    )
    assumptions = estimate.assumptions
    assert (assumptions.hours_per_month, assumptions.region) == (730, "us-east-1")
    assert assumptions.prices_as_of == default_prices().as_of.isoformat()
    assert [(u.address, u.reason) for u in assumptions.unpriced] == [
        ("aws_dms_replication_instance.huge", "no price for dms.r6i.32xlarge in the table"),
        ("aws_msk_cluster.express", "no price for MSK broker express.m7g.large in the table"),
    ]
    assert "kinesis.on_demand_data_in_gb" not in assumptions.usage_not_given
    assert "kinesis.on_demand_data_out_gb" in assumptions.usage_not_given


def test_estimate_refuses_bad_usage() -> None:
    resources = summarize_state(STATES / "dms_msk_lambda.tfstate")
    with pytest.raises(ValueError, match=r"no price for lambda\.invocation in the table"):
        monthly_cost(resources, {"lambda.invocation": 1}, 10)
    with pytest.raises(ValueError, match=r"kinesis\.shard_hour is not a per-use price"):
        monthly_cost(resources, {"kinesis.shard_hour": 1}, 10)
    with pytest.raises(ValueError, match=r"lambda\.request must be >= 0"):
        monthly_cost(resources, {"lambda.request": -1}, 10)
    with pytest.raises(ValueError, match="changes per second must be >= 0"):
        monthly_cost(resources, {}, -1)

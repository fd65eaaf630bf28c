"""What a deployed pattern pays for, read from its Terraform state (format version 4).

Each billable thing becomes a `Resource`: either a fixed price (instances, brokers, shards,
MCUs, endpoint-AZs, secrets, keys, provisioned capacity) with the number of units billed,
or a per-use sizing (Lambda memory and architecture, on-demand tables, queues, buckets)
naming the per-use prices it incurs, for the estimator. Something the price table cannot
price comes back with `price_key` None and the reason, never an error.

A plan converted to that shape (`harness.cost.plan`) is read the same way. There, values
unknown before apply are absent: one that a price depends on (an interface endpoint's
subnets) leaves that resource unpriced, with the reason.

Only non-secret sizing attributes are copied (and never one that Terraform marks
sensitive), so a summary can be stored in a run folder as JSON.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.cost.prices import PriceTable, default_prices

Detail = dict[str, str | int | float | bool]


class Resource(BaseModel):
    """One billable thing of a deployment.

    `count` is the number of units `price_key` bills per hour or per month (the price says
    which); `usage_keys` are the per-use prices the resource incurs as it works; `reason`
    says why a fixed cost is missing from the table.
    """

    model_config = ConfigDict(frozen=True)

    kind: str
    address: str
    count: float
    price_key: str | None = None
    usage_keys: tuple[str, ...] = ()
    detail: Detail = {}
    reason: str | None = None


def _address(resource: dict[str, Any], instance: dict[str, Any]) -> str:
    address = f"{resource['type']}.{resource['name']}"
    if resource.get("module"):
        address = f"{resource['module']}.{address}"
    key = instance.get("index_key")
    if isinstance(key, int):
        address += f"[{key}]"
    elif key is not None:
        address += f'["{key}"]'
    return address


def _attributes(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance's attributes, less those Terraform marks sensitive."""
    sensitive = {
        path[0]["value"]
        for path in instance.get("sensitive_attributes") or []
        if path and isinstance(path[0], dict) and path[0].get("type") == "get_attr"
    }
    return {
        name: value
        for name, value in (instance.get("attributes") or {}).items()
        if name not in sensitive
    }


def _first(value: Any) -> dict[str, Any]:
    """The single nested block Terraform stores as a one-element list ({} when absent)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}


class _Extractor:
    """Turns one resource instance into Resources, checking price keys against a table."""

    def __init__(self, prices: PriceTable, state: dict[str, Any]) -> None:
        self.prices = prices
        self.state = state

    def fixed(
        self,
        kind: str,
        address: str,
        count: float,
        key: str,
        what: str,
        detail: Detail,
        usage_keys: tuple[str, ...] = (),
    ) -> Resource:
        """A fixed-price Resource, or an unpriced one when the table lacks `key`."""
        if self.prices.has(key):
            return Resource(
                kind=kind,
                address=address,
                count=count,
                price_key=key,
                usage_keys=usage_keys,
                detail=detail,
            )
        return Resource(
            kind=kind,
            address=address,
            count=count,
            usage_keys=usage_keys,
            detail=detail,
            reason=f"no price for {what} in the table",
        )

    def dms_replication_instance(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        klass = str(attrs.get("replication_instance_class") or "")
        if not klass:
            return [
                Resource(
                    kind="dms_replication_instance",
                    address=address,
                    count=1,
                    reason="no replication_instance_class in the state",
                )
            ]
        multi_az = bool(attrs.get("multi_az"))
        key = f"dms.{'multi_az_' if multi_az else ''}instance_hour.{klass}"
        what = f"{klass}{' Multi-AZ' if multi_az else ''}"
        detail: Detail = {"instance_class": klass, "multi_az": multi_az}
        return [self.fixed("dms_replication_instance", address, 1, key, what, detail)]

    def msk_cluster(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        brokers = int(attrs.get("number_of_broker_nodes") or 0)
        group = _first(attrs.get("broker_node_group_info"))
        instance_type = str(group.get("instance_type") or "")
        ebs = _first(_first(group.get("storage_info")).get("ebs_storage_info"))
        volume_gb = int(ebs.get("volume_size") or 0)
        detail: Detail = {"brokers": brokers, "instance_type": instance_type}
        found = [
            self.fixed(
                "msk_brokers",
                address,
                brokers,
                f"msk.broker_hour.{instance_type}",
                f"MSK broker {instance_type}",
                detail,
            )
        ]
        if volume_gb:
            found.append(
                self.fixed(
                    "msk_broker_storage",
                    address,
                    brokers * volume_gb,
                    "msk.storage_gb_month",
                    "MSK broker storage",
                    {"brokers": brokers, "volume_gb_per_broker": volume_gb},
                )
            )
        return found

    def mskconnect_connector(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        capacity = _first(attrs.get("capacity"))
        provisioned = _first(capacity.get("provisioned_capacity"))
        autoscaling = _first(capacity.get("autoscaling"))
        if provisioned:
            mcus = int(provisioned.get("mcu_count") or 0)
            workers = int(provisioned.get("worker_count") or 0)
            detail: Detail = {"mode": "provisioned", "mcu_count": mcus, "workers": workers}
        elif autoscaling:
            mcus = int(autoscaling.get("mcu_count") or 0)
            workers = int(autoscaling.get("min_worker_count") or 0)
            detail = {
                "mode": "autoscaling",
                "mcu_count": mcus,
                "workers": workers,
                "max_workers": int(autoscaling.get("max_worker_count") or 0),
            }
        else:
            return [
                Resource(
                    kind="mskconnect_connector",
                    address=address,
                    count=0,
                    reason="no capacity block in the state",
                )
            ]
        return [
            self.fixed(
                "mskconnect_connector",
                address,
                mcus * workers,
                "msk_connect.mcu_hour",
                "MSK Connect MCUs",
                detail,
            )
        ]

    def kinesis_stream(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        mode = str(_first(attrs.get("stream_mode_details")).get("stream_mode") or "PROVISIONED")
        if mode == "ON_DEMAND":
            return [
                self.fixed(
                    "kinesis_stream",
                    address,
                    1,
                    "kinesis.on_demand_stream_hour",
                    "an on-demand Kinesis stream",
                    {"stream_mode": mode},
                    ("kinesis.on_demand_data_in_gb", "kinesis.on_demand_data_out_gb"),
                )
            ]
        shards = int(attrs.get("shard_count") or 0)
        return [
            self.fixed(
                "kinesis_stream",
                address,
                shards,
                "kinesis.shard_hour",
                "Kinesis shards",
                {"stream_mode": mode, "shards": shards},
                ("kinesis.put_payload_unit",),
            )
        ]

    def _cluster(self, identifier: str) -> dict[str, Any]:
        for resource in self.state.get("resources", []):
            if resource.get("mode") == "managed" and resource.get("type") == "aws_rds_cluster":
                for instance in resource.get("instances", []):
                    attrs = _attributes(instance)
                    if attrs.get("cluster_identifier") == identifier:
                        return attrs
        return {}

    def rds_cluster_instance(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        engine = str(attrs.get("engine") or "")
        klass = str(attrs.get("instance_class") or "")
        cluster = self._cluster(str(attrs.get("cluster_identifier") or ""))
        detail: Detail = {"engine": engine, "instance_class": klass}
        prefix = engine.replace("-", "_")
        if cluster.get("storage_type") == "aurora-iopt1":
            return [
                Resource(
                    kind="aurora_instance",
                    address=address,
                    count=1,
                    detail=detail,
                    reason=f"no price for Aurora I/O-Optimized {engine} {klass} in the table",
                )
            ]
        usage = (f"{prefix}.io_request",)
        if klass == "db.serverless":
            scaling = _first(cluster.get("serverlessv2_scaling_configuration"))
            if scaling.get("min_capacity") is None:
                return [
                    Resource(
                        kind="aurora_instance",
                        address=address,
                        count=0,
                        detail=detail,
                        reason="db.serverless without the cluster's scaling range in the state",
                    )
                ]
            detail |= {
                "min_acu": float(scaling["min_capacity"]),
                "max_acu": float(scaling.get("max_capacity") or 0),
            }
            return [
                self.fixed(
                    "aurora_instance",
                    address,
                    float(scaling["min_capacity"]),
                    f"{prefix}.acu_hour",
                    f"{engine} ACUs",
                    detail,
                    usage,
                )
            ]
        return [
            self.fixed(
                "aurora_instance",
                address,
                1,
                f"{prefix}.instance_hour.{klass}",
                f"{engine} {klass}",
                detail,
                usage,
            )
        ]

    def rds_cluster(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        if not attrs.get("manage_master_user_password"):
            return []
        return [
            self.fixed(
                "managed_master_user_secret",
                address,
                1,
                "secretsmanager.secret_month",
                "a Secrets Manager secret",
                {"managed_by": "rds"},
                ("secretsmanager.api_call",),
            )
        ]

    def vpc_endpoint(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        if attrs.get("vpc_endpoint_type") != "Interface":
            return []
        service = str(attrs.get("service_name") or "")
        subnets = attrs.get("subnet_ids") or []
        if "subnet_ids" not in attrs or None in subnets:  # a plan: subnets are not known yet
            return [
                Resource(
                    kind="vpc_interface_endpoint",
                    address=address,
                    count=0,
                    usage_keys=("vpc.interface_endpoint_gb",),
                    detail={"service": service.rsplit(".", 1)[-1]},
                    reason="its subnets (hence its Availability Zones) are unknown before apply",
                )
            ]
        # An interface endpoint has at most one subnet per Availability Zone.
        azs = len(set(subnets))
        return [
            self.fixed(
                "vpc_interface_endpoint",
                address,
                azs,
                "vpc.interface_endpoint_az_hour",
                "interface VPC endpoints",
                {"service": service.rsplit(".", 1)[-1], "availability_zones": azs},
                ("vpc.interface_endpoint_gb",),
            )
        ]

    def secretsmanager_secret(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        return [
            self.fixed(
                "secret",
                address,
                1,
                "secretsmanager.secret_month",
                "a Secrets Manager secret",
                {},
                ("secretsmanager.api_call",),
            )
        ]

    def kms_key(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        detail: Detail = {"key_rotation": bool(attrs.get("enable_key_rotation"))}
        return [
            self.fixed(
                "kms_key", address, 1, "kms.key_month", "a KMS key", detail, ("kms.request",)
            )
        ]

    def lambda_function(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        architecture = str((attrs.get("architectures") or ["x86_64"])[0])
        memory_mb = int(attrs.get("memory_size") or 128)
        usage = ("lambda.request", f"lambda.gb_second.{architecture}")
        detail: Detail = {"memory_mb": memory_mb, "architecture": architecture}
        missing = [key for key in usage if not self.prices.has(key)]
        return [
            Resource(
                kind="lambda_function",
                address=address,
                count=1,
                usage_keys=usage,
                detail=detail,
                reason=f"no price for {', '.join(missing)} in the table" if missing else None,
            )
        ]

    def dynamodb_table(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        billing = str(attrs.get("billing_mode") or "PROVISIONED")
        stream = bool(attrs.get("stream_enabled"))
        detail: Detail = {"billing_mode": billing, "stream": stream}
        streams = ("dynamodb.stream_read_request_unit",) if stream else ()
        if billing == "PAY_PER_REQUEST":
            return [
                Resource(
                    kind="dynamodb_table",
                    address=address,
                    count=1,
                    usage_keys=(
                        "dynamodb.write_request_unit",
                        "dynamodb.read_request_unit",
                        *streams,
                    ),
                    detail=detail,
                )
            ]
        indexes = attrs.get("global_secondary_index") or []
        writes = int(attrs.get("write_capacity") or 0) + sum(
            int(index.get("write_capacity") or 0) for index in indexes
        )
        reads = int(attrs.get("read_capacity") or 0) + sum(
            int(index.get("read_capacity") or 0) for index in indexes
        )
        return [
            self.fixed(
                "dynamodb_write_capacity",
                address,
                writes,
                "dynamodb.wcu_hour",
                "provisioned write capacity",
                detail | {"write_capacity_units": writes},
                streams,
            ),
            self.fixed(
                "dynamodb_read_capacity",
                address,
                reads,
                "dynamodb.rcu_hour",
                "provisioned read capacity",
                detail | {"read_capacity_units": reads},
            ),
        ]

    def sqs_queue(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        flavour = "fifo" if attrs.get("fifo_queue") else "standard"
        return [
            Resource(
                kind="sqs_queue",
                address=address,
                count=1,
                usage_keys=(f"sqs.request.{flavour}",),
                detail={"queue_type": flavour},
            )
        ]

    def s3_bucket(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        return [
            Resource(
                kind="s3_bucket",
                address=address,
                count=1,
                usage_keys=("s3.put_request", "s3.get_request"),
            )
        ]

    def firehose_delivery_stream(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        return [
            Resource(
                kind="firehose_delivery_stream",
                address=address,
                count=1,
                usage_keys=("firehose.ingest_gb",),
                detail={"destination": str(attrs.get("destination") or "")},
            )
        ]

    def cloudwatch_log_group(self, address: str, attrs: dict[str, Any]) -> list[Resource]:
        return [
            Resource(
                kind="log_group",
                address=address,
                count=1,
                usage_keys=("cloudwatch.logs_ingest_gb",),
            )
        ]

    def handlers(self) -> dict[str, Callable[[str, dict[str, Any]], list[Resource]]]:
        return {
            "aws_dms_replication_instance": self.dms_replication_instance,
            "aws_msk_cluster": self.msk_cluster,
            "aws_mskconnect_connector": self.mskconnect_connector,
            "aws_kinesis_stream": self.kinesis_stream,
            "aws_rds_cluster_instance": self.rds_cluster_instance,
            "aws_rds_cluster": self.rds_cluster,
            "aws_vpc_endpoint": self.vpc_endpoint,
            "aws_secretsmanager_secret": self.secretsmanager_secret,
            "aws_kms_key": self.kms_key,
            "aws_lambda_function": self.lambda_function,
            "aws_dynamodb_table": self.dynamodb_table,
            "aws_sqs_queue": self.sqs_queue,
            "aws_s3_bucket": self.s3_bucket,
            "aws_kinesis_firehose_delivery_stream": self.firehose_delivery_stream,
            "aws_cloudwatch_log_group": self.cloudwatch_log_group,
        }


def _managed_instances(state: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for resource in state.get("resources", []):
        if resource.get("mode") == "managed":
            for instance in resource.get("instances", []):
                yield resource, instance


def extract_resources(state: dict[str, Any], prices: PriceTable | None = None) -> list[Resource]:
    """The billable Resources of a parsed version-4 state, in state order."""
    if state.get("version") != 4:
        raise ValueError(f"Terraform state version {state.get('version')!r}: expected 4")
    extractor = _Extractor(prices or default_prices(), state)
    handlers = extractor.handlers()
    found: list[Resource] = []
    for resource, instance in _managed_instances(state):
        handler = handlers.get(resource.get("type", ""))
        if handler is not None:
            found.extend(handler(_address(resource, instance), _attributes(instance)))
    return found


def summarize_state(path: Path, prices: PriceTable | None = None) -> list[Resource]:
    """The billable Resources of the state file at `path` (safe to store as JSON)."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the Terraform state: {exc}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a Terraform state (expected a JSON object)")
    return extract_resources(state, prices)

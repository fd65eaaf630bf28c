"""What is checked on AWS before anything billable is created, each failure one line saying
what to do: the caller's credentials, the region, the source database, the permissions and
quotas the planned resources need; then what they cost per hour, and the user's go-ahead."""

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from harness import progress
from harness.aws import AwsAccess
from harness.cost.estimate import hourly_cost
from harness.cost.plan import created, planned_types, resources_from_plan
from harness.errors import UserError
from harness.targets.permissions import (
    RUN_ACTIONS,
    missing_actions,
    principal_for,
    required_actions,
)

VPC_QUOTA = ("vpc", "L-F678F1CE")
"""Service Quotas' code of "VPCs per Region" (5 unless raised)."""
DEFAULT_VPC_QUOTA = 5


@dataclass(frozen=True)
class Caller:
    account: str
    arn: str


def region(configured: str | None, services: Iterable[str]) -> str:
    """The standard chain's region, if every service is offered there."""
    if not configured:
        raise UserError(
            "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your profile)"
        )
    session = boto3.session.Session()
    for service in sorted(services):
        offered = session.get_available_regions(service)
        if offered and configured not in offered:
            raise UserError(
                f"region {configured!r} does not offer {service}: choose another with "
                f"AWS_REGION (e.g. {', '.join(sorted(offered)[:3])})"
            )
    return configured


def standard_access(services: Iterable[str] = ()) -> AwsAccess:
    """AWS as the standard chain configures it (credentials, region, `AWS_ENDPOINT_URL`),
    the region checked to offer `services`."""
    configured = os.environ.get("AWS_REGION") or boto3.session.Session().region_name
    return AwsAccess(region=region(configured, services))


def caller(aws: AwsAccess) -> Caller:
    """Who the credentials are; UserError when there are none or AWS refuses them."""
    try:
        identity = aws.client("sts").get_caller_identity()
    except NoCredentialsError:
        raise UserError(
            "no AWS credentials found: configure the standard chain (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role)"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise UserError(
            f"AWS refused the credentials ({error.get('Code')}: {error.get('Message')}): "
            "refresh them (e.g. `aws sso login`) or choose another profile"
        ) from None
    except BotoCoreError as exc:
        raise UserError(f"cannot reach AWS STS: {exc}: check the network or proxy") from None
    return Caller(account=str(identity["Account"]), arn=str(identity["Arn"]))


def source_database(dsn: str) -> None:
    """The source accepts the harness and decodes logical replication."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            row = conn.execute("SHOW wal_level").fetchone()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot connect to the source database: {first}: check --source-dsn and its "
            "password (PGPASSWORD or --source-secret)"
        ) from None
    level = row[0] if row else "unknown"
    if level != "logical":
        raise UserError(
            f"the source database's wal_level is {level}, not logical: on RDS set "
            "rds.logical_replication = 1 in its parameter group and reboot it"
        )


def permissions(
    aws: AwsAccess, who: Caller, resource_types: Iterable[str], customer_managed_key: bool
) -> None:
    """The caller may do what the planned resources and the harness need (the account's
    root user may do anything, and IAM cannot simulate it)."""
    if who.arn.endswith(":root"):
        progress.console.print("[yellow]Running as the account's root user: not advised[/]")
        return
    iam = aws.client("iam")
    needed = required_actions(resource_types, customer_managed_key=customer_managed_key)
    actions = sorted({*needed, *RUN_ACTIONS})
    try:
        principal = principal_for(who.arn, iam)
        missing = missing_actions(iam, principal, actions)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        raise UserError(
            f"cannot check {who.arn}'s permissions ({code}): allow it "
            "iam:SimulatePrincipalPolicy and iam:GetRole (policy/cdcbench-aws.json grants them)"
        ) from None
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise UserError(
            f"{principal} lacks {len(missing)} permissions the patterns need ({shown}): "
            "attach policy/cdcbench-aws.json"
        )


def quotas(aws: AwsAccess, planned_vpcs: int) -> None:
    """Room for the VPCs the plans create (one per networked pattern)."""
    if planned_vpcs == 0:
        return
    in_use = len(aws.client("ec2").describe_vpcs()["Vpcs"])
    try:
        answer = aws.client("service-quotas").get_service_quota(
            ServiceCode=VPC_QUOTA[0], QuotaCode=VPC_QUOTA[1]
        )
        limit = int(answer["Quota"]["Value"])
    except ClientError:
        limit = DEFAULT_VPC_QUOTA
    if in_use + planned_vpcs > limit:
        raise UserError(
            f"{in_use} VPCs in use and {planned_vpcs} more planned, over the quota of {limit}: "
            "delete unused VPCs, raise the quota (Service Quotas, L-F678F1CE) or run fewer "
            "patterns at once"
        )


def hourly_costs(plans: Mapping[str, dict[str, Any]]) -> dict[str, float]:
    """Each planned pattern's fixed charges per hour, in USD."""
    return {
        name: hourly_cost(resources_from_plan(plan)).usd_per_hour for name, plan in plans.items()
    }


def check_plans(
    aws: AwsAccess, who: Caller, plans: Mapping[str, dict[str, Any]]
) -> dict[str, float]:
    """Permissions and quotas for everything planned; its cost per hour by pattern."""
    types = {t for plan in plans.values() for t in planned_types(plan)}
    keyed = any(
        (plan.get("variables") or {}).get("kms_key_arn", {}).get("value") for plan in plans.values()
    )
    permissions(aws, who, types, customer_managed_key=keyed)
    quotas(aws, sum(created(plan)["aws_vpc"] for plan in plans.values()))
    return hourly_costs(plans)


def confirm(question: str, yes: bool) -> None:
    """Go on when `yes`, or when the user answers y at a terminal; else UserError."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"{question} Not at a terminal: pass --yes to go ahead")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UserError("not confirmed: nothing was created")

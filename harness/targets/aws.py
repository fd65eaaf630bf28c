"""The `aws` target: a real AWS account through the standard credential chain and region,
and an existing PostgreSQL source (`--source-dsn`; its password from PGPASSWORD or a Secrets
Manager secret, `--source-secret`, kept in memory only).

Nothing billable is created before the preflight (`harness.targets.preflight`) passed:
credentials, region and source at start; permissions, quotas and the hourly cost of what
the plans would create before the first apply, then the user's go-ahead unless `--yes`.
"""

import json
import os
from typing import Any

import psycopg
from botocore.exceptions import BotoCoreError, ClientError

from harness import progress
from harness.aws import AwsAccess
from harness.errors import UserError
from harness.observe.shards import SHARED_SHARDS
from harness.targets import preflight
from harness.targets.base import Target

_WORKER_NETWORK = ("image", "vpc_id", "subnet_ids", "master_host", "master_cidr_blocks")
"""The locust_workers module's variables only the user knows on AWS."""


class AwsTarget(Target):
    name = "aws"
    summary = "real AWS: the standard credential chain and region, an existing source database"
    needs_plans = True
    observer_budget = SHARED_SHARDS  # observers share each shard's reads with the pattern's

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._access: AwsAccess | None = None
        self._dsn: str | None = None
        self._caller: preflight.Caller | None = None
        self._fis_layer: str | None = None

    @property
    def aws(self) -> AwsAccess:
        if self._access is None:
            raise LookupError("the aws target is not started")
        return self._access

    @property
    def source_dsn(self) -> str:
        if self._dsn is None:
            raise LookupError("the aws target is not started")
        return self._dsn

    def start(self) -> None:
        with progress.step("Checking AWS credentials, region and source database"):
            self._access = preflight.standard_access(self.options.services)
            self._caller = preflight.caller(self._access)
            self._dsn = self._source()
            preflight.source_database(self._dsn)

    def stop(self) -> None:
        """Nothing runs here: each deployment destroys what it applied."""

    def preflight(self, plans: dict[str, dict[str, Any]]) -> None:
        assert self._caller is not None
        with progress.step("Checking permissions and quotas for the plans"):
            costs = preflight.check_plans(self.aws, self._caller, plans)
        for name, usd in costs.items():
            progress.console.print(f"  {name}: about ${usd:,.2f} per hour while deployed")
        total = sum(costs.values())
        preflight.confirm(
            f"Deploy {len(plans)} patterns into account {self._caller.account} "
            f"({self.aws.region}), about ${total:,.2f} per hour while deployed?",
            self.options.yes,
        )

    def fis_lambda_extension(self) -> str:
        """The region's extension, from the SSM public parameter AWS FIS publishes it in
        (`Settings.fis_extension_parameter`)."""
        if self._fis_layer is None:
            name = self.settings.fis_extension_parameter
            try:
                value = self.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            except (ClientError, BotoCoreError) as exc:
                raise UserError(
                    f"cannot read AWS FIS's Lambda extension from SSM parameter {name} in "
                    f"{self.aws.region} ({exc}): the Lambda faults need it on the functions"
                ) from None
            self._fis_layer = str(value)
        return self._fis_layer

    def worker_variables(self, config: dict[str, Any]) -> dict[str, Any]:
        """The network and image are the user's (`--workers-config`); the source's secret,
        when the run was given one, is known here."""
        missing = [name for name in _WORKER_NETWORK if name not in config]
        if missing:
            raise UserError(
                f"--workers on aws needs --workers-config naming {', '.join(missing)}: the "
                "workers' image and network (README: Load past one machine)"
            )
        if not config.get("source_security_group_id") and not config.get("source_cidr_blocks"):
            raise UserError(
                "--workers-config must name the source's security group "
                "(source_security_group_id) or network (source_cidr_blocks)"
            )
        values: dict[str, Any] = {}
        if self.options.source_secret:
            secrets = self.aws.client("secretsmanager")
            values["source_secret_arn"] = secrets.describe_secret(
                SecretId=self.options.source_secret
            )["ARN"]
        return values

    def describe(self) -> dict[str, Any]:
        info = psycopg.conninfo.conninfo_to_dict(self.source_dsn)
        return {
            "name": self.name,
            "region": self.aws.region,
            "account": self._caller.account if self._caller else "unknown",
            "source": {k: info.get(k) for k in ("host", "port", "dbname", "user")},
        }

    def _source(self) -> str:
        """The source's DSN with its password (from PGPASSWORD or the secret)."""
        dsn = self.options.source_dsn or os.environ.get("CDCBENCH_SOURCE_DSN")
        if not dsn:
            raise UserError(
                "the aws target needs a source database: --source-dsn 'host=... dbname=... "
                "user=...' (deploy terraform/modules/source_rds for a throwaway one)"
            )
        try:
            info = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise UserError(f"--source-dsn is not a libpq connection string: {exc}") from None
        if self.options.source_secret:
            info |= self._secret(self.options.source_secret)
        elif "password" not in info and os.environ.get("PGPASSWORD"):
            info["password"] = os.environ["PGPASSWORD"]
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})

    def _secret(self, secret_id: str) -> dict[str, str]:
        """`user` and `password` from a Secrets Manager secret (RDS's own shape)."""
        try:
            raw = self.aws.client("secretsmanager").get_secret_value(SecretId=secret_id)
            value = json.loads(raw["SecretString"])
            return {"user": str(value["username"]), "password": str(value["password"])}
        except (ClientError, BotoCoreError) as exc:
            raise UserError(f"cannot read the source's secret {secret_id}: {exc}") from None
        except (KeyError, ValueError, TypeError):
            raise UserError(
                f"secret {secret_id} is not JSON with `username` and `password`"
            ) from None

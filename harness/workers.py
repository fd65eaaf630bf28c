"""The Locust workers of `cdcbench run --workers N`: load from ECS tasks, not from this host.

For the whole run, terraform/modules/locust_workers is applied as a root module of its own,
its service at 0 tasks; the target gives what it knows of the network (`Target.
worker_variables`), the user the rest (`--workers-config`). Each pattern's load scales the
service to N, runs the Locust master here (`run_locust_distributed`) until every worker
has put its ledger into the module's bucket, then scales it back to 0: a worker never
waits for a master through another pattern's apply (Locust workers give up after about
five minutes).

The workers reach the source with its DSN without the password, and read the password
from Secrets Manager: the source's own secret when the run was given one, else one the
run creates (tagged with the run id) and deletes at its end.
"""

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import yaml

from harness import progress, terraform
from harness.apps import Spec
from harness.aws import HARNESS_AGENT, AwsAccess
from harness.errors import UserError
from harness.gc import PATTERN_TAG, RUN_ID_TAG
from harness.load.ledger_store import LedgerBucket
from harness.load.locust_runner import MASTER_PORT, run_locust_distributed, split_password
from harness.patterns.root_module import resource_types
from harness.process import free_port
from harness.scenario import Scenario
from harness.settings import Settings
from harness.targets import Target
from harness.targets.services import services_of

MODULE = "locust_workers"
FOLDER = "modules"
ROOT = terraform.TERRAFORM_DIR / FOLDER / MODULE
_HARNESS_SETS = ("name", "run_id", "worker_count", "source_dsn", "master_port", "tags")
NAME = "locust-workers"
"""The workers' resources' `cdcbench:pattern` tag, and their plan's name among the patterns'."""


def services() -> frozenset[str]:
    """The AWS services the workers' module creates resources in."""
    return services_of(resource_types(ROOT))


def read_config(path: Path) -> dict[str, Any]:
    """The `--workers-config` file: the module's variables as YAML or JSON (image, vpc_id,
    subnet_ids, master_host, master_cidr_blocks, source_security_group_id, ...)."""
    try:
        values = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read --workers-config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"--workers-config {path} is not YAML or JSON: {exc}") from None
    if not isinstance(values, dict):
        raise UserError(f"--workers-config {path} must map the module's variables to values")
    taken = sorted(set(values) & set(_HARNESS_SETS))
    if taken:
        raise UserError(f"--workers-config {path} sets {', '.join(taken)}: cdcbench sets those")
    return values


def deployment_name(run_id: str) -> str:
    """The module's `name`, unique per run: `cdcbench-<run id>` where it fits the ledger
    bucket's name (55 characters, single dashes), else shortened with a digest of the id."""
    name = f"cdcbench-{run_id}"
    if len(name) <= 55 and "--" not in name and not name.endswith("-"):
        return name
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    stem = re.sub("-+", "-", name[:46]).rstrip("-")
    return f"{stem}-{digest}"


@dataclass(frozen=True)
class Workers:
    """The run's worker service; `load` runs one pattern's load through it."""

    count: int
    ledgers: LedgerBucket
    cluster: str
    service: str
    port: int
    bind_host: str

    def load(
        self, dsn: str, scenario: Scenario, workdir: Path, env: dict[str, str], app: Spec | None
    ) -> None:
        """The scenario's load from `count` workers; its merged ledger in `workdir/ledger/`."""
        ecs = self.ledgers.aws.client("ecs")
        ecs.update_service(cluster=self.cluster, service=self.service, desiredCount=self.count)
        try:
            run_locust_distributed(
                dsn, scenario, workdir, self.count, self.ledgers,
                port=self.port, bind_host=self.bind_host, env=env, application=app,
            )  # fmt: skip
        finally:
            ecs.update_service(cluster=self.cluster, service=self.service, desiredCount=0)


@contextmanager
def deployed_workers(
    target: Target, settings: Settings, workdir: Path, run_id: str
) -> Iterator[Workers]:
    """The workers' module applied (destroyed on any exit), its service at 0 tasks. On an
    emulated target the master listens on a free port of the loopback interface (the
    workers run on this host), elsewhere on Locust's port on every interface."""
    port, bind_host = (free_port(), "127.0.0.1") if target.emulated else (MASTER_PORT, "*")
    given = _given(target)
    with _source_secret(target.aws, run_id, target.source_dsn, given) as secret_arn:
        variables = _variables(target, run_id, given, port, secret_arn)
        with _deployment(target, settings, workdir, run_id, variables) as deployment:
            out = deployment.outputs
            own = replace(target.aws, agent=HARNESS_AGENT)  # not the pattern's usage
            ledgers = LedgerBucket(own, out["ledger_bucket"], out["ledger_prefix"])
            yield Workers(
                target.options.workers, ledgers, out["cluster_name"], out["service_name"],
                port, bind_host,
            )  # fmt: skip


def plan(target: Target, settings: Settings, workdir: Path, run_id: str) -> dict[str, Any]:
    """The workers' module's plan (`terraform show -json`); the secret the run would make
    for the source's password named, not made."""
    given = _given(target)
    planned_secret = f"arn:aws:secretsmanager:{target.aws.region}:000000000000:secret:planned"
    secret_arn = str(given.get("source_secret_arn") or planned_secret)
    variables = _variables(target, run_id, given, MASTER_PORT, secret_arn)
    return _deployment(target, settings, workdir, run_id, variables).plan()


def _given(target: Target) -> dict[str, Any]:
    """The module's variables from the source's port, the target and the user's config (each
    laid over the one before)."""
    port = psycopg.conninfo.conninfo_to_dict(target.source_dsn).get("port", 5432)
    config = target.options.workers_config
    return {"source_port": int(port), **target.worker_variables(config), **config}


def _deployment(
    target: Target, settings: Settings, workdir: Path, run_id: str, variables: dict[str, Any]
) -> terraform.Deployment:
    """The module as a root of its own, its state beside the patterns' (`--state`)."""
    remote = terraform.RemoteState.of_run(target.options.state, run_id, NAME)
    env = target.aws.env()
    return terraform.Deployment(
        MODULE, workdir, env, variables, settings, remote=remote, folder=FOLDER
    )


def _variables(
    target: Target, run_id: str, given: dict[str, Any], port: int, secret_arn: str
) -> dict[str, Any]:
    return given | {
        "name": deployment_name(run_id),
        "run_id": run_id,
        "worker_count": 0,
        "master_port": port,
        "source_dsn": split_password(target.source_dsn)[0],
        "source_secret_arn": secret_arn,
        "tags": {RUN_ID_TAG: run_id, PATTERN_TAG: NAME},
    }


@contextmanager
def _source_secret(
    aws: AwsAccess, run_id: str, dsn: str, variables: dict[str, Any]
) -> Iterator[str]:
    """The ARN of a secret holding the source's password: the one `variables` name, or one
    made for the run from `dsn` (deleted after it)."""
    given = variables.get("source_secret_arn")
    if given:
        yield str(given)
        return
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    client = aws.client("secretsmanager")
    value = {"username": info.get("user", ""), "password": info.get("password", "")}
    with progress.step("Storing the source's password for the workers in Secrets Manager"):
        arn = client.create_secret(
            Name=f"cdcbench-{run_id}-source-{secrets.token_hex(2)}",
            Description=f"cdcbench run {run_id}: the source's password, for its Locust workers",
            SecretString=json.dumps(value),
            Tags=[{"Key": RUN_ID_TAG, "Value": run_id}],
        )["ARN"]
    try:
        yield arn
    finally:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

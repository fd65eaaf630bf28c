"""Helpers for tests: the CLI runner, Terraform's, a run's exact projection, leftover-process
checks, polling, unique names, an MSK cluster, the AWS documentation's format examples (read in
place from shared/ beside the repository) and a select-all DMS rule."""

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import boto3
import psutil
import yaml
from botocore.stub import Stubber

from harness import read_model
from harness.aws import AwsAccess
from harness.settings import Settings
from harness.terraform import automation_env, find_terraform

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
DOC_EXAMPLES = REPO.parent / "shared" / "reference" / "doc-examples"
SELECT_ALL = {
    "rule-type": "selection",
    "rule-id": "1",
    "rule-name": "1",
    "object-locator": {"schema-name": "%", "table-name": "%"},
    "rule-action": "include",
}
"""A DMS selection rule that includes every table."""


def run_scenario(
    tmp_path: Path, scenario: dict[str, Any], *args: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`cdcbench run` of `scenario` (written into `tmp_path`, as are its reports, with
    `args`): the process, and the run's folder."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    reports = tmp_path / "reports"
    result = run_cli("run", str(path), "--reports-dir", str(reports), *args)
    return result, (reports / "latest").resolve()


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    unset: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`cdcbench ARGS` in a subprocess from the repository root, with `env` added to this
    process's environment and `unset` removed from it."""
    environment = {k: v for k, v in os.environ.items() if k not in (unset or [])}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_exact(projection: dict[str, Any], committed: int) -> None:
    """A projection of a run's results.json converged with zero anomalies and showed every
    one of the `committed` changes, but those of rows deleted before a state projection
    showed any of them (`skipped`: it never had to hold them)."""
    assert projection["error"] is None, projection["error"]
    assert projection["check"] == {"valid": True, "counts": {}, "examples": {}}, projection
    assert projection["convergence"]["converged"] is True, projection["convergence"]
    lag = projection["lag"]
    assert lag["unseen"] == 0 and lag["seen"] + lag["skipped"] == committed, lag
    assert projection["kind"] == "state" or lag["skipped"] == 0, lag


def terraform_cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`terraform ARGS -no-color` in `cwd`, with the mirror's CLI config when `env` has it."""
    return subprocess.run(
        [find_terraform(Settings()), *args, "-no-color"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def terraform_env(workdir: Path) -> dict[str, str]:
    """This process's environment for Terraform run unattended (see `automation_env`)."""
    return {**os.environ, **automation_env(Settings(), workdir)}


def processes_mentioning(text: str) -> list[psutil.Process]:
    """Live processes whose command line contains `text` (e.g. a temp dir)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(text in part for part in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(check: Callable[[], T], what: str, timeout_s: float = 30, poll_s: float = 0.05) -> T:
    """The first truthy result of `check`, polled; AssertionError once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


def unique(prefix: str) -> str:
    """`prefix` with a random 8-hex-digit suffix, for names tests must not share."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_msk_cluster(kafka: Any, name: str) -> str:
    """Create a two-broker provisioned MSK cluster `name` (Kafka 3.5.1) through the `kafka`
    client given; its ARN."""
    created = kafka.create_cluster_v2(
        ClusterName=name,
        Provisioned={
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.t3.small",
                "ClientSubnets": ["s-1", "s-2"],
            },
            "KafkaVersion": "3.5.1",
            "NumberOfBrokerNodes": 2,
        },
    )
    return str(created["ClusterArn"])


def function_module(directory: Path, name: str) -> ModuleType:
    """A module of a Lambda function's folder imported as Lambda does (the folder on
    sys.path); modules of the folder's names imported from another folder (another
    function's) are not reused, and no bytecode is left in the folder."""
    for cached in {path.stem for path in directory.glob("*.py")}:
        module = sys.modules.get(cached)
        if module is not None and Path(module.__file__ or "").parent != directory:
            del sys.modules[cached]
    path, no_bytecode_before = str(directory), sys.dont_write_bytecode
    sys.path.insert(0, path)
    sys.dont_write_bytecode = True
    try:
        return importlib.import_module(name)
    finally:
        sys.dont_write_bytecode = no_bytecode_before
        sys.path.remove(path)


@contextmanager
def stubbed_client(service: str) -> Iterator[tuple[Any, Stubber]]:
    """A boto3 client of `service` that answers only what the test queues on its Stubber;
    every queued answer must have been used by the end of the block."""
    client = boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def versioned_put(table: str, item: dict[str, Any]) -> dict[str, Any]:
    """The PutItem request of a read-model write that goes in only over an older version."""
    return {
        "TableName": table,
        "Item": item,
        "ConditionExpression": read_model.NEWER_ONLY,
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":v": item["version"]},
    }


def keyed_table(dynamodb: Any, name: str, key: str = "pk") -> None:
    """An on-demand table keyed by the string attribute `key`."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def read_model_table(aws: AwsAccess, name: str) -> str:
    """A read-model table (the harness's key attribute) with a NEW_AND_OLD_IMAGES stream:
    the stream's ARN."""
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": read_model.KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": read_model.KEY_ATTRIBUTE, "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])

"""The local ECS engine against moto: a service's tasks run as local processes with their
task definition's environment, secrets and mounts, follow the desired count, and a task
that fails is named."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.local.ecs import EcsEngine, secret_value
from tests.conftest import BareCloud
from tests.helpers import wait_for

SCRIPT = (
    "import os, sys, time; "
    "open(os.environ['OUT'], 'w').write(os.environ['PW'] + ' ' + os.environ.get('TMPDIR', '')); "
    "sys.exit(int(os.environ['EXIT'])) if 'EXIT' in os.environ else time.sleep(120)"
)


def _tasks(out: str) -> list[int]:
    """The pids of the tasks writing `out` that still run."""
    return [
        p.pid
        for p in psutil.process_iter(["cmdline", "environ", "status"])
        if SCRIPT in (p.info["cmdline"] or [])
        and (p.info["environ"] or {}).get("OUT") == out
        and p.info["status"] != psutil.STATUS_ZOMBIE
    ]


@pytest.fixture
def engine(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[EcsEngine]:
    running = EcsEngine(bare_cloud.aws, tmp_path / "ecs", poll_s=0.2)
    running.start()
    yield running
    running.stop()


def _service(bare_cloud: BareCloud, name: str, environment: dict[str, str]) -> Any:
    """A cluster and service of one container running SCRIPT, its PW from a secret's key."""
    secrets = bare_cloud.aws.client("secretsmanager")
    arn = secrets.create_secret(Name=f"{name}-pw", SecretString='{"password": "p4ss"}')["ARN"]
    ecs = bare_cloud.aws.client("ecs")
    ecs.create_cluster(clusterName=name)
    definition = ecs.register_task_definition(
        family=name,
        containerDefinitions=[
            {
                "name": "main",
                "image": "unused:1",
                "memory": 512,
                "essential": True,
                "command": ["python", "-c", SCRIPT],
                "environment": [{"name": k, "value": v} for k, v in environment.items()],
                "secrets": [{"name": "PW", "valueFrom": f"{arn}:password::"}],
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}],
                "stopTimeout": 5,
            }
        ],
        volumes=[{"name": "scratch"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=definition, desiredCount=0)
    return ecs


def test_a_service_runs_its_desired_count_of_tasks(
    bare_cloud: BareCloud, engine: EcsEngine, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    ecs = _service(bare_cloud, "runs", {"OUT": str(out), "TMPDIR": "/scratch/tmp"})

    ecs.update_service(cluster="runs", service="runs", desiredCount=1)
    written = wait_for(lambda: out.exists() and out.read_text(), "the task's output")
    password, tmpdir = written.split(" ")
    assert password == "p4ss"
    assert tmpdir.startswith(str(tmp_path / "ecs")) and tmpdir.endswith("/scratch/tmp")
    assert len(_tasks(str(out))) == 1

    ecs.update_service(cluster="runs", service="runs", desiredCount=0)
    wait_for(lambda: not _tasks(str(out)), "the task to stop")
    assert engine.failures() == {}


def test_a_failing_task_is_named_and_replaced(
    bare_cloud: BareCloud, engine: EcsEngine, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    ecs = _service(bare_cloud, "fails", {"OUT": str(out), "EXIT": "3"})

    ecs.update_service(cluster="fails", service="fails", desiredCount=1)
    why = wait_for(lambda: engine.failures().get("ECS service fails"), "the failure")
    assert "a task exited with code 3" in why and "container.log" in why
    wait_for(lambda: len(list((tmp_path / "ecs").glob("fails-*"))) >= 2, "a second task")
    ecs.update_service(cluster="fails", service="fails", desiredCount=0)


def test_a_secret_is_read_whole_or_by_its_json_key(bare_cloud: BareCloud) -> None:
    secrets = bare_cloud.aws.client("secretsmanager")
    value = json.dumps({"username": "app", "password": "pw"})
    arn = secrets.create_secret(Name="whole-or-key", SecretString=value)["ARN"]

    assert secret_value(bare_cloud.aws, arn) == value
    assert secret_value(bare_cloud.aws, f"{arn}:password::") == "pw"
    assert secret_value(bare_cloud.aws, f"{arn}:username:AWSCURRENT:") == "app"

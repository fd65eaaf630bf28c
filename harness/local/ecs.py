"""ECS services, run locally: each ACTIVE service keeps `desiredCount` tasks of its task
definition running, each task's essential container as a local process.

moto records clusters, task definitions and services but runs nothing. Here a container is
its command run from the repository root (its image is not pulled: the image holds this
checkout, and `locust` is this environment's), with what ECS gives it: the task
definition's environment, its `secrets` read from Secrets Manager when the task starts
(`arn`, or `arn:json-key:version-stage:version-id` as ECS takes them), AWS access as
the task role would have it (the target's API), and each mount point's container path
(`/scratch`, say) as a folder of the task's own, in the values that name it. A task that
exits is replaced, as a service does; one that exits with an error is also listed in
`failures`. Lowering the desired count or deleting the service stops tasks with SIGTERM,
then SIGKILL after the container's `stopTimeout`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.aws import HARNESS_AGENT, AwsAccess
from harness.local.control_loop import ControlLoop
from harness.process import stop

log = logging.getLogger("harness.local.ecs")

REPO = Path(__file__).resolve().parents[2]
POLL_S = 1.0
_DEFAULT_STOP_TIMEOUT_S = 30
"""ECS's own default for a container without `stopTimeout`."""


def secret_value(aws: AwsAccess, value_from: str) -> str:
    """What ECS puts into a container's variable for a Secrets Manager `valueFrom`: the
    whole secret, or one JSON key of it (`<secret arn>:<json-key>:<stage>:<version id>`)."""
    parts = value_from.split(":")
    arn, rest = ":".join(parts[:7]), parts[7:]
    key, stage, version = [*rest, "", "", ""][:3]
    request: dict[str, str] = {"SecretId": arn}
    if stage:
        request["VersionStage"] = stage
    if version:
        request["VersionId"] = version
    text = aws.client("secretsmanager").get_secret_value(**request)["SecretString"]
    return str(json.loads(text)[key]) if key else text


def local_command(command: list[str]) -> list[str]:
    """A container's command as a local process runs it: its program from this
    environment's bin folder when it has one of that name."""
    if not command:
        return command
    local = Path(sys.executable).with_name(command[0])
    return [str(local) if local.exists() else command[0], *command[1:]]


def mapped(value: str, mounts: dict[str, Path]) -> str:
    """`value` with a mount's container path (at its start) replaced by the task's folder."""
    for container_path, folder in mounts.items():
        if value == container_path or value.startswith(container_path.rstrip("/") + "/"):
            return str(folder) + value[len(container_path.rstrip("/")) :]
    return value


@dataclass
class _Task:
    process: subprocess.Popen[bytes]
    folder: Path
    stop_timeout_s: float


@dataclass
class _Service:
    tasks: list[_Task] = field(default_factory=list)
    started: int = 0


class EcsEngine(ControlLoop):
    title = "ECS engine"
    serves = "ecs"
    subject = "ECS service"

    def __init__(self, aws: AwsAccess, log_dir: Path, poll_s: float = POLL_S) -> None:
        super().__init__("ecs-engine", poll_s)
        self.aws = aws
        self._own = replace(aws, agent=HARNESS_AGENT)
        """ECS's own calls (reading a task's secrets): the load's, not a pattern's usage."""
        self.log_dir = log_dir
        self._services: dict[str, _Service] = {}
        self._ecs: Any = None

    def connect(self) -> None:
        self._ecs = self.aws.client("ecs")

    def step(self) -> None:
        wanted: dict[str, tuple[int, str]] = {}
        for cluster in self._ecs.list_clusters()["clusterArns"]:
            arns = self._ecs.list_services(cluster=cluster)["serviceArns"]
            for start in range(0, len(arns), 10):  # DescribeServices takes 10 at most
                batch = arns[start : start + 10]
                found = self._ecs.describe_services(cluster=cluster, services=batch)
                for service in found["services"]:
                    if service.get("status") == "ACTIVE":
                        wanted[service["serviceArn"]] = (
                            service["desiredCount"],
                            service["taskDefinition"],
                        )
        for arn in list(self._services):
            if arn not in wanted:
                self._scale(arn, 0, None)
                del self._services[arn]
        for arn, (count, definition) in wanted.items():
            self._scale(arn, count, definition)

    def _scale(self, arn: str, count: int, definition: str | None) -> None:
        service = self._services.setdefault(arn, _Service())
        name = arn.rsplit("/", 1)[-1]
        for task in [t for t in service.tasks if t.process.poll() is not None]:
            service.tasks.remove(task)
            if task.process.returncode != 0:
                self._failures[name] = (
                    f"a task exited with code {task.process.returncode} "
                    f"(log: {task.folder / 'container.log'})"
                )
        while len(service.tasks) > count:
            task = service.tasks.pop()
            stop(task.process, grace_s=task.stop_timeout_s)
        while definition is not None and len(service.tasks) < count:
            service.started += 1
            service.tasks.append(self._run(name, service.started, definition))

    def _run(self, service: str, number: int, definition_arn: str) -> _Task:
        definition = self._ecs.describe_task_definition(taskDefinition=definition_arn)
        definition = definition["taskDefinition"]
        container = next(c for c in definition["containerDefinitions"] if c.get("essential", True))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{service}-{number}-", dir=self.log_dir))
        mounts = {
            m["containerPath"]: (folder / m["sourceVolume"])
            for m in container.get("mountPoints", [])
        }
        for path in mounts.values():
            path.mkdir()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(folder),
            **self.aws.env(sdk_retries=True),
        }
        env |= {v["name"]: mapped(v["value"], mounts) for v in container.get("environment", [])}
        for secret in container.get("secrets", []):
            env[secret["name"]] = secret_value(self._own, secret["valueFrom"])
        with open(folder / "container.log", "wb") as out:
            process = subprocess.Popen(
                local_command([mapped(part, mounts) for part in container.get("command", [])]),
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        log.info("ECS service %s: task %d started (pid %d)", service, number, process.pid)
        timeout = container.get("stopTimeout", _DEFAULT_STOP_TIMEOUT_S)
        return _Task(process, folder, float(timeout))

    def stopped(self) -> None:
        for service in self._services.values():
            for task in service.tasks:
                stop(task.process, grace_s=task.stop_timeout_s)
        self._services.clear()

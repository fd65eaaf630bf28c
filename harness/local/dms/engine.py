"""The local DMS engine's control loop: runs the replication tasks the DMS API holds.

It polls DescribeReplicationTasks. A task the API shows as "starting" (after
StartReplicationTask, including Terraform's `start_replication_task = true`) gets
a `TaskRunner`; "stopping" stops it; a running task shown "failed" (its replication
instance was rebooted) crashes, writing nothing more; a task that disappears (deleted) is
stopped and its replication slot dropped. A task that loses its source or target
connection after it began replicating is restarted from its checkpoint as DMS's error
handling settings say (ErrorBehavior: RecoverableErrorCount, default -1, for ever;
RecoverableErrorInterval, 5 s, doubled after each failed attempt while
RecoverableErrorThrottling, up to RecoverableErrorThrottlingMax, 1800 s); it shows
"running" meanwhile, and "failed" once the attempts run out. Stopping the engine stops
every runner and drops their slots, so a torn-down local target leaves none behind.
`stall_uploads` is the engine's control for a late S3 CDC file (see `S3Target.stall`).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.dms.api import DmsApi
from harness.local.dms.targets.s3 import S3Target
from harness.local.dms.task import TaskRunner

log = logging.getLogger("harness.local.dms")

POLL_S = 0.2
GC_GEN0_THRESHOLD = 50_000
STOP_WAIT_S = 30.0


@dataclass
class _Recovery:
    """A task restarting after recoverable errors: the runner whose failure is being
    recovered from, the attempts made so far, and when the next one is due (monotonic)."""

    failed: TaskRunner
    attempts: int
    due: float


def restart_delay(task: dict[str, Any], attempts: int) -> float | None:
    """Seconds before restart attempt `attempts + 1` under the task's ErrorBehavior; None
    when no more attempts are allowed."""
    behaviour = json.loads(task.get("ReplicationTaskSettings") or "{}").get("ErrorBehavior", {})
    count = int(behaviour.get("RecoverableErrorCount", -1))
    if 0 <= count <= attempts:
        return None
    interval = float(behaviour.get("RecoverableErrorInterval", 5))
    if not behaviour.get("RecoverableErrorThrottling", True):
        return interval
    return min(interval * 2**attempts, float(behaviour.get("RecoverableErrorThrottlingMax", 1800)))


class DmsEngine(ControlLoop):
    title = "DMS engine"
    serves = "dms"
    subject = "DMS task"
    """Failures: task identifier -> its last failure message."""

    def __init__(self, aws: AwsAccess, poll_s: float = POLL_S) -> None:
        super().__init__("dms-engine", poll_s)
        self.aws = aws
        self.runners: dict[str, TaskRunner] = {}
        self._api: DmsApi | None = None
        self._lock = threading.Lock()
        self._recoveries: dict[str, _Recovery] = {}

    def start(self) -> None:
        # The engine allocates a few objects per row; at CPython's default gen-0 threshold
        # (700) it would run a collection every couple of hundred rows (~15 % of its CPU).
        gc.set_threshold(max(gc.get_threshold()[0], GC_GEN0_THRESHOLD), 20, 100)
        super().start()

    def stopped(self) -> None:
        """Stop every task, dropping its slot."""
        with self._lock:
            runners = list(self.runners.values())
            self.runners.clear()
        for runner in runners:
            runner.stop(drop=True)
        for runner in runners:
            runner.join(STOP_WAIT_S)
            if runner.is_alive():
                log.warning("DMS task %s did not stop within %.0f s", runner.arn, STOP_WAIT_S)
            else:
                runner.drop_slot()

    def stall_uploads(self, endpoints: Sequence[str], stalled: bool) -> None:
        """Stall the next CDC file upload of each running task whose S3 target endpoint is
        one of `endpoints`, or end the stall; returns once the stalled uploads completed (one
        that no later file passes within two batch intervals then completes anyway: the run's
        load may have ended)."""
        with self._lock:
            targets = [
                runner.target
                for runner in self.runners.values()
                if runner.task["TargetEndpointArn"] in endpoints
                and isinstance(runner.target, S3Target)
            ]
        for target in targets:
            target.stall(stalled)
        for target in targets if not stalled else ():
            deadline = time.monotonic() + 2 * target.settings.max_batch_interval + 5
            while target.holding and time.monotonic() < deadline:
                time.sleep(POLL_S)
            target.release()

    def connect(self) -> None:
        self._api = DmsApi(self.aws)

    def step(self) -> None:
        api = self._api
        assert api is not None, "connect() runs first"
        tasks = {t["ReplicationTaskArn"]: t for t in api.tasks()}
        with self._lock:
            for arn, runner in list(self.runners.items()):
                alive = runner.is_alive()
                if not alive and runner.failure and not runner.recoverable:
                    self._failures[runner.task["ReplicationTaskIdentifier"]] = runner.failure
                if arn not in tasks:  # deleted: its slot goes too, and its failure
                    runner.stop(drop=True)
                    if not alive:
                        runner.drop_slot()
                        del self.runners[arn]
                        self._failures.pop(runner.task["ReplicationTaskIdentifier"], None)
                elif alive and tasks[arn]["Status"] == "stopping":
                    runner.stop()
                elif alive and tasks[arn]["Status"] == "failed":  # its instance rebooted
                    runner.crash()
                elif alive and runner.replicating:
                    self._recoveries.pop(arn, None)
                elif not alive and runner.recoverable and tasks[arn]["Status"] == "running":
                    self._recover(api, tasks[arn], runner)
            for arn, task in tasks.items():
                runner = self.runners.get(arn)
                idle = runner is None or not runner.is_alive()
                if task["Status"] == "starting" and idle:
                    self._start(api, task)
                elif task["Status"] == "stopping" and idle:
                    api.report(arn, Status="stopped", StopReason="NORMAL")

    def _recover(self, api: DmsApi, task: dict[str, Any], runner: TaskRunner) -> None:
        """Restart a task that failed with a recoverable error, when its attempt is due."""
        arn, now = runner.arn, time.monotonic()
        recovery = self._recoveries.get(arn)
        if recovery is None or recovery.failed is not runner:  # a failure not yet seen
            attempts = recovery.attempts if recovery else 0
            delay = restart_delay(task, attempts)
            if delay is None:
                self._recoveries.pop(arn, None)
                runner.recoverable = False
                self._failures[str(task["ReplicationTaskIdentifier"])] = str(runner.failure)
                api.report(arn, Status="failed", LastFailureMessage=runner.failure)
                return
            self._recoveries[arn] = _Recovery(runner, attempts, now + delay)
        elif now >= recovery.due:
            recovery.attempts += 1
            self._start(api, task, "resume-processing")

    def _start(self, api: DmsApi, task: dict[str, object], start_type: str | None = None) -> None:
        """Run a task started through the API (or, given `start_type`, restarted by the
        engine after a recoverable error)."""
        arn = str(task["ReplicationTaskArn"])
        if start_type is None:
            self._recoveries.pop(arn, None)
        runner = TaskRunner(
            dict(task), start_type or api.start_type(arn), self.aws, recovering=bool(start_type)
        )
        self._failures.pop(str(task["ReplicationTaskIdentifier"]), None)
        self.runners[arn] = runner
        log.info("DMS task %s starting (%s)", task["ReplicationTaskIdentifier"], runner.start_type)
        runner.start()

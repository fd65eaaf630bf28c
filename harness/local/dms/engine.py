"""The local DMS engine's control loop: runs the replication tasks the DMS API holds.

It polls DescribeReplicationTasks. A task the API shows as "starting" (after
StartReplicationTask, including Terraform's `start_replication_task = true`) gets
a `TaskRunner`; "stopping" stops it; a task that disappears (deleted) is stopped
and its replication slot dropped. Stopping the engine stops every runner and
drops their slots, so a torn-down local target leaves none behind.
"""

from __future__ import annotations

import gc
import logging
import threading

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.dms.api import DmsApi
from harness.local.dms.task import TaskRunner

log = logging.getLogger("harness.local.dms")

POLL_S = 0.2
GC_GEN0_THRESHOLD = 50_000
STOP_WAIT_S = 30.0


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

    def connect(self) -> None:
        self._api = DmsApi(self.aws)

    def step(self) -> None:
        api = self._api
        assert api is not None, "connect() runs first"
        tasks = {t["ReplicationTaskArn"]: t for t in api.tasks()}
        with self._lock:
            for arn, runner in list(self.runners.items()):
                alive = runner.is_alive()
                if not alive and runner.failure:
                    self._failures[runner.task["ReplicationTaskIdentifier"]] = runner.failure
                if arn not in tasks:  # deleted: its slot goes too, and its failure
                    runner.stop(drop=True)
                    if not alive:
                        runner.drop_slot()
                        del self.runners[arn]
                        self._failures.pop(runner.task["ReplicationTaskIdentifier"], None)
                elif alive and tasks[arn]["Status"] == "stopping":
                    runner.stop()
            for arn, task in tasks.items():
                runner = self.runners.get(arn)
                idle = runner is None or not runner.is_alive()
                if task["Status"] == "starting" and idle:
                    self._start(api, task)
                elif task["Status"] == "stopping" and idle:
                    api.report(arn, Status="stopped", StopReason="NORMAL")

    def _start(self, api: DmsApi, task: dict[str, object]) -> None:
        arn = str(task["ReplicationTaskArn"])
        runner = TaskRunner(dict(task), api.start_type(arn), self.aws)
        self._failures.pop(str(task["ReplicationTaskIdentifier"]), None)
        self.runners[arn] = runner
        log.info("DMS task %s starting (%s)", task["ReplicationTaskIdentifier"], runner.start_type)
        runner.start()

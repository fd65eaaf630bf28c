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
from typing import TYPE_CHECKING

from harness.local.dms.api import DmsApi
from harness.local.dms.task import TaskRunner

if TYPE_CHECKING:  # harness.targets imports the local target, which imports this
    from harness.targets.base import AwsAccess

log = logging.getLogger("harness.local.dms")

POLL_S = 0.2
GC_GEN0_THRESHOLD = 50_000
STOP_WAIT_S = 30.0


class DmsEngine:
    def __init__(self, aws: AwsAccess, poll_s: float = POLL_S) -> None:
        self.aws = aws
        self.poll_s = poll_s
        self.runners: dict[str, TaskRunner] = {}
        self.failures: dict[str, str] = {}
        """Task identifier -> last failure message, for the harness to report."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        # The engine allocates a few objects per row; at CPython's default gen-0 threshold
        # (700) it would run a collection every couple of hundred rows (~15 % of its CPU).
        gc.set_threshold(max(gc.get_threshold()[0], GC_GEN0_THRESHOLD), 20, 100)
        self._thread = threading.Thread(target=self._loop, name="dms-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every task (dropping its slot) and the control loop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
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

    def _loop(self) -> None:
        api = DmsApi(self.aws)
        while not self._stop.wait(self.poll_s):
            try:
                self._step(api)
            except Exception:  # the API may be briefly unreachable; try again
                log.debug("DMS control loop step failed", exc_info=True)

    def _step(self, api: DmsApi) -> None:
        tasks = {t["ReplicationTaskArn"]: t for t in api.tasks()}
        with self._lock:
            for arn, runner in list(self.runners.items()):
                alive = runner.is_alive()
                if not alive and runner.failure:
                    self.failures[runner.task["ReplicationTaskIdentifier"]] = runner.failure
                if arn not in tasks:  # deleted: its slot goes too
                    runner.stop(drop=True)
                    if not alive:
                        runner.drop_slot()
                        del self.runners[arn]
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
        self.failures.pop(str(task["ReplicationTaskIdentifier"]), None)
        self.runners[arn] = runner
        log.info("DMS task %s starting (%s)", task["ReplicationTaskIdentifier"], runner.start_type)
        runner.start()

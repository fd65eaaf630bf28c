"""DMS: tasks are run by the local DMS engine (`harness.local.dms`), not by moto."""

from typing import Any

from harness.local.moto_fixes.additions.dms import reported
from harness.local.moto_fixes.guard import fix


@fix(
    "moto.dms.models.FakeReplicationTask.start",
    "moto.dms.models.FakeReplicationTask.stop",
    "moto.dms.models.FakeReplicationTask().status",
    "moto.dms.models.FakeReplicationTask().start_date",
    "moto.dms.models.FakeReplicationTask().stop_date",
    "moto.dms.exceptions.InvalidResourceStateFault",
    "moto.core.utils.utcnow",
)
def engine_runs_tasks() -> None:
    # moto jumps a started task straight to "running" (and a stopped one to "stopped") with
    # nothing running it. On AWS the task is "starting" until the replication engine runs
    # it and "stopping" until the engine has stopped it: here the local DMS engine does, and
    # reports the state it reaches through the private actions (`additions.dms`).
    from moto.core.utils import utcnow
    from moto.dms import models
    from moto.dms.exceptions import InvalidResourceStateFault

    def start(self: Any) -> Any:
        if self.status not in ("ready", "stopped", "failed"):
            raise InvalidResourceStateFault(f"Replication task is {self.status}")
        self.status = "starting"
        self.start_date = utcnow()
        reported(self).pop("LastFailureMessage", None)
        reported(self).pop("StopReason", None)
        return self

    def stop(self: Any) -> Any:
        if self.status not in ("running", "starting"):
            raise InvalidResourceStateFault("Replication task is not running")
        self.status = "stopping"
        self.stop_date = utcnow()
        return self

    models.FakeReplicationTask.start = start
    models.FakeReplicationTask.stop = stop

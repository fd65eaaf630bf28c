"""Before a destroy, the harness stops a deployment's DMS tasks itself and waits for them."""

import pytest

from harness.targets import Target
from harness.teardown import stop_replication_tasks
from tests.integration.dms_support import (
    create_task,
    selection,
    source_endpoint,
    start,
    target_endpoint,
    task,
)

pytestmark = pytest.mark.slow


def test_running_tasks_are_stopped_and_stopped_or_unknown_ones_left_alone(
    local_target: Target,
) -> None:
    source = source_endpoint(local_target, "teardown-source")
    running, idle = (
        create_task(
            local_target,
            f"teardown-{name}",
            source,
            target_endpoint(
                local_target,
                f"teardown-{name}-target",
                "kafka",
                Broker=local_target.describe()["kafka_bootstrap"],
                Topic="teardown",
            ),
            [selection("public", "no_such_table")],
            migration="cdc",
        )
        for name in ("running", "idle")
    )
    start(local_target, running)
    gone = running.rsplit(":", 1)[0] + ":never-created"

    stop_replication_tasks(local_target.aws, [running, idle, gone], poll_s=0.1)

    assert task(local_target, running)["Status"] == "stopped"
    assert task(local_target, idle)["Status"] == "ready"

"""How long the local DMS engine waits before restarting a task after a recoverable error:
the task's ErrorBehavior settings, with DMS's documented defaults."""

import json

import pytest

from harness.local.dms.engine import restart_delay


def _task(**behaviour: object) -> dict[str, object]:
    return {"ReplicationTaskSettings": json.dumps({"ErrorBehavior": behaviour})}


def test_defaults_double_from_five_seconds_for_ever_up_to_half_an_hour() -> None:
    delays = [restart_delay({}, attempts) for attempts in range(12)]
    assert delays[:5] == [5, 10, 20, 40, 80]
    assert delays[-1] == 1800


@pytest.mark.parametrize(
    ("behaviour", "delays"),
    [
        ({"RecoverableErrorCount": 0}, [None]),
        ({"RecoverableErrorCount": 2}, [5, 10, None]),
        ({"RecoverableErrorThrottling": False, "RecoverableErrorInterval": 3}, [3, 3, 3]),
        ({"RecoverableErrorThrottlingMax": 15}, [5, 10, 15, 15]),
    ],
)
def test_settings_bound_the_attempts_and_their_spacing(
    behaviour: dict[str, object], delays: list[float | None]
) -> None:
    assert [restart_delay(_task(**behaviour), n) for n in range(len(delays))] == delays

"""How a fault waits for its start or end to take effect."""

import time
from collections.abc import Callable

WAIT_S = 180.0
"""How long a fault's start or end may take to take effect."""


def await_none(waiting: Callable[[], list[str]]) -> None:
    """Until `waiting()` names nothing (what it names has not taken effect yet)."""
    deadline = time.monotonic() + WAIT_S
    while names := waiting():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{', '.join(names)} not there after {WAIT_S:g} s")
        time.sleep(0.2)

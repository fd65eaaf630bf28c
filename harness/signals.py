"""Turn SIGTERM into KeyboardInterrupt, and hold interrupts off during critical steps.

A Terraform apply or destroy, or the target's teardown, must not be cut short:
resources created but not recorded in state would leak. Inside `deferred()`
an interrupt is remembered and re-raised as KeyboardInterrupt when the block ends.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harness.progress import console

_HANDLED = (signal.SIGINT, signal.SIGTERM)


def install() -> None:
    """Make SIGTERM behave like Ctrl-C so every `finally` runs. SIGINT too, explicitly: a
    process started in the background by a shell inherits SIGINT ignored, and Python keeps
    it ignored, so a `kill -INT` would never stop the run."""
    for s in _HANDLED:
        signal.signal(s, signal.default_int_handler)


@contextmanager
def deferred(what: str) -> Iterator[None]:
    """Run the block to completion even if SIGINT/SIGTERM arrive; re-raise afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def remember(signum: int, _frame: object) -> None:
        if not received:
            console.print(f"[yellow]Interrupt received: finishing {what} first, then stopping.")
        received.append(signum)

    previous = {s: signal.signal(s, remember) for s in _HANDLED}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt

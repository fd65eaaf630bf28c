"""What every local engine's control loop shares: a daemon thread that reads the emulated
control plane every `poll_s` and acts on what changed, until it is stopped; and, as a
`Component` of the local target, what it failed on and the emulator limits it met."""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from typing import ClassVar

from harness.local.component import Component

log = logging.getLogger("harness.local")


class ControlLoop(Component):
    subject: ClassVar[str] = ""
    """What the loop runs, naming its failures: with "DMS task", the entry `_failures["x"]`
    is reported as "DMS task x". Empty: the entries' names say it already."""

    def __init__(self, name: str, poll_s: float) -> None:
        self.name = name
        self.poll_s = poll_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[str, str] = {}
        """What the steps found failing, by name: one-line reason (see `subject`)."""
        self._limits: list[str] = []
        """Emulator limits met, oldest first."""

    @abstractmethod
    def connect(self) -> None:
        """Make the loop's own API clients (called in its thread, before the first step:
        boto3 clients are not shared between threads)."""

    @abstractmethod
    def step(self) -> None:
        """Read the control plane once and act on what changed."""

    def wait_s(self) -> float:
        """How long to wait after a step (after a failed one: `poll_s`)."""
        return self.poll_s

    @abstractmethod
    def stopped(self) -> None:
        """Stop what the steps started (called by `stop`, once the loop has ended)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        """End the loop, then stop what it started. Idempotent."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.stopped()

    def failures(self) -> dict[str, str]:
        found = list(self._failures.items())  # one copy: the loop's thread writes them
        return {f"{self.subject} {name}" if self.subject else name: why for name, why in found}

    def limits(self) -> list[str]:
        return list(self._limits)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _loop(self) -> None:
        self.connect()
        while not self._stopping.is_set():
            try:
                self.step()
                wait_s = self.wait_s()
            except Exception:  # the API may be briefly unreachable: retry after a poll
                log.debug("%s: control loop step failed", self.name, exc_info=True)
                wait_s = self.poll_s
            self._stopping.wait(max(wait_s, 0.0))

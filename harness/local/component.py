"""What every piece of the local cloud is to the local target: something it starts, stops,
asks what failed, what emulator limits were met and what usage it metered, and samples for
CPU.

The target holds its components in one list: started in order (each is made once those
before it run, so it can take their endpoints), stopped in reverse order.
"""

from abc import ABC, abstractmethod
from typing import ClassVar


class Component(ABC):
    title: ClassVar[str]
    """What it is, for people: "moto server", "DMS engine"."""
    serves: ClassVar[str | None] = None
    """The AWS service (boto3 name) whose resources it runs, for an engine: where another
    API serves that service, the engine is not needed."""

    @abstractmethod
    def start(self) -> None:
        """Start it. If this raises, `stop` still releases what it made."""

    @abstractmethod
    def stop(self) -> None:
        """Release everything `start` made. Idempotent, and safe after a failed or partial
        start (or none)."""

    def failures(self) -> dict[str, str]:
        """What failed, by a name that says what it is ("DMS task x"): one-line reason."""
        return {}

    def limits(self) -> list[str]:
        """Emulator limits met that distorted what a pattern saw, one line each, oldest first."""
        return []

    def processes(self) -> dict[str, int]:
        """The emulator's OS processes it runs now, by name: pid (their CPU tells when the
        emulator saturates). Empty for a piece that runs as threads of the harness's own
        process, and for the source database, which is no emulator."""
        return {}

    def usage(self) -> dict[str, float]:
        """What it has been asked for so far, in billed units by price key (totals since it
        started; `harness/cost/prices.yaml`). Empty for a piece that meters nothing."""
        return {}

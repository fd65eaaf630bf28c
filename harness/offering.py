"""How a deployment's load is offered while its projections are watched: once, as a run does
(`once`), or step by step at rising rates, as a capacity search does (`capacity.stepped`).
The run (`pipeline`) hands a driver an `Offering` and records what it returns."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.capacity.verdict import Capacity
from harness.check.protocol import Convergence
from harness.check.saturation import busy_while
from harness.load.clock import ClockOffset
from harness.load.ledger import Change, read_ledger
from harness.observe import Observer
from harness.scenario import Scenario


@dataclass(frozen=True)
class Watched:
    """One projection as the driver sees it: its observer and its log, and its floor."""

    observer: Observer
    observations: Path
    floor_ms: float
    exact: bool
    """A change counts as shown only by its own version (`check.projection.shows_each_change`)."""


@dataclass(frozen=True)
class Offering:
    root: Path
    """The pattern's folder: the whole ledger goes into `root/ledger/`."""
    scenario: Scenario
    load: Callable[[Path, Scenario], None]
    """Offers a scenario's load, its ledger into `<folder>/ledger/`."""
    cpu_seconds: Callable[[], dict[str, float]]
    """CPU seconds used so far by each emulator process (`Target.cpu_seconds`)."""
    clock: ClockOffset
    converge: Callable[[Sequence[Change]], dict[str, Convergence]]
    """Waits until the projections show the final state of these changes."""
    projections: dict[str, Watched]
    emulated: bool
    record: Callable[[Capacity], None] = lambda _: None
    """Keeps what a capacity search knows so far (in the run's results)."""


@dataclass
class Offered:
    busy: dict[str, float]
    """The share of a core each emulator process used while load was offered."""
    changes: list[Change]
    convergence: dict[str, Convergence]
    offered_per_s: float
    """Changes offered per second over the whole load."""
    capacity: Capacity | None = None


Drive = Callable[[Offering], Offered]


def once(offering: Offering) -> Offered:
    """The scenario's load, once; then wait for convergence."""
    scenario, root = offering.scenario, offering.root
    busy = busy_while(offering.cpu_seconds, lambda: offering.load(root, scenario))
    changes = read_ledger(root / "ledger", offering.clock)  # complete: the load has ended
    return Offered(busy, changes, offering.converge(changes), scenario.load.rate_per_s)

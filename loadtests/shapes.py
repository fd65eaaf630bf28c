"""Load shapes: the user count over time, from the scenario's `load` section.

Every user paces itself at `rate_per_s / users`, so a shape that varies the
user count varies the offered rate in proportion. A shape returns None once
the scenario's duration has passed, which ends the Locust run.
"""

import math
from abc import abstractmethod
from typing import Generic, TypeVar, cast

from locust import LoadTestShape

from harness.scenario import LoadSpec, SineShape, SpikeShape, SteadyShape, StepShape

S = TypeVar("S", SteadyShape, StepShape, SpikeShape, SineShape)


class ScenarioShape(LoadTestShape, Generic[S]):
    abstract = True

    def __init__(self, load: LoadSpec) -> None:
        super().__init__()
        self.load = load
        self.spec = cast(S, load.shape)

    @abstractmethod
    def level(self, t: float) -> float:
        """Fraction of the scenario's users wanted at `t` seconds."""

    def users_at(self, t: float) -> int | None:
        if t >= self.load.duration_s:
            return None
        return max(1, round(self.load.users * self.level(t)))

    @property
    def spawn_rate(self) -> float:
        """Fast enough to reach any level within a second."""
        return float(max(1, math.ceil(self.load.users * self.peak)))

    @property
    def peak(self) -> float:
        return 1.0

    def tick(self) -> tuple[int, float] | None:
        users = self.users_at(self.get_run_time())
        return None if users is None else (users, self.spawn_rate)


class Steady(ScenarioShape[SteadyShape]):
    def level(self, t: float) -> float:
        return 1.0


class Step(ScenarioShape[StepShape]):
    def level(self, t: float) -> float:
        spec = self.spec
        return min(spec.steps, int(t // spec.step_s) + 1) / spec.steps


class Spike(ScenarioShape[SpikeShape]):
    def level(self, t: float) -> float:
        spec = self.spec
        return spec.factor if spec.at_s <= t < spec.at_s + spec.length_s else 1.0

    @property
    def peak(self) -> float:
        return max(1.0, self.spec.factor)


class Sine(ScenarioShape[SineShape]):
    def level(self, t: float) -> float:
        spec = self.spec
        return 1.0 + spec.amplitude * math.sin(2 * math.pi * t / spec.period_s)

    @property
    def peak(self) -> float:
        return 1.0 + self.spec.amplitude


SHAPES: dict[str, type[ScenarioShape]] = {
    "steady": Steady,
    "step": Step,
    "spike": Spike,
    "sine": Sine,
}


def shape_for(load: LoadSpec) -> ScenarioShape:
    return SHAPES[load.shape.kind](load)

"""Which rate to offer next, as OpenMessaging Benchmark's rate search does: multiply the
rate while each step is sustained; once one is not (or the first is not: divide), bisect
between the highest sustained and the lowest not, a few times. Pure: a step's verdict comes
from `capacity.verdict`."""

from collections.abc import Sequence
from dataclasses import dataclass

MIN_RATE = 1.0
"""Changes/s below which no search goes (a pattern that cannot sustain it is broken)."""


@dataclass(frozen=True)
class RateSearch:
    start: float
    """The first rate offered."""
    ceiling: float
    """The highest rate offered: a pattern that sustains it is reported at it."""
    factor: float = 2.0
    """Each step's rate over the last one's while all were sustained."""
    refine: int = 2
    """Bisections once a sustained rate and a higher unsustained one are known."""

    def __post_init__(self) -> None:
        if not MIN_RATE <= self.start <= self.ceiling:
            raise ValueError(f"start {self.start:g} must be within {MIN_RATE:g}..{self.ceiling:g}")
        if self.factor <= 1:
            raise ValueError(f"factor {self.factor:g} must be above 1")

    def next(self, steps: Sequence[tuple[float, bool]]) -> float | None:
        """The rate to offer after `steps` (rate, sustained) in the order offered; None: done."""
        if not steps:
            return self.start
        best, worst = sustained(steps), _lowest_unsustained(steps)
        if worst is None:  # all sustained: climb
            rate = steps[-1][0]
            return min(rate * self.factor, self.ceiling) if rate < self.ceiling else None
        if best is None:  # none sustained: descend
            rate = round(worst / self.factor)
            return float(rate) if rate >= MIN_RATE else None
        bracketed = next(i for i in range(len(steps)) if _bracketed(steps[: i + 1]))
        if len(steps) - 1 - bracketed >= self.refine:
            return None
        rate = float(round((best + worst) / 2))
        return rate if best < rate < worst else None


def sustained(steps: Sequence[tuple[float, bool]]) -> float | None:
    """The highest rate sustained below every unsustained one (None: none was)."""
    worst = _lowest_unsustained(steps)
    rates = [r for r, ok in steps if ok and (worst is None or r < worst)]
    return max(rates, default=None)


def _lowest_unsustained(steps: Sequence[tuple[float, bool]]) -> float | None:
    return min((r for r, ok in steps if not ok), default=None)


def _bracketed(steps: Sequence[tuple[float, bool]]) -> bool:
    return sustained(steps) is not None and _lowest_unsustained(steps) is not None

"""Runs a scenario's faults against one deployment on the load's clock, and records them.

Each fault has a thread of its own: it waits for its time from the load's start, starts,
waits out its duration and ends, recording from before its start until its end took effect.
A fault still under way when the run stops waiting for the load (it converged, or an
interrupt or an error came) is ended at once, so nothing stays broken under the teardown.
"""

import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from harness import progress
from harness.nemesis.faults import KINDS, Target
from harness.nemesis.record import FaultExpectation, FaultRecord, FaultSpec


def _record(spec: FaultSpec, state: dict[str, Any], own: FaultExpectation | None) -> FaultRecord:
    kind = KINDS[spec.kind]
    targets = kind.targets(state)
    return FaultRecord(
        kind=spec.kind,
        at_s=spec.at_s,
        duration_s=spec.duration_s,
        targets=targets,
        expected=own.says if own else kind.expected.says,
        allowed=own.allowed if own else None,
        slack_s=own.slack_s if own else kind.slack_s(state, targets),
    )


class Nemesis:
    def __init__(
        self,
        specs: Sequence[FaultSpec],
        state: dict[str, Any],
        target: Target,
        expectations: Mapping[str, FaultExpectation] | None = None,
    ) -> None:
        """`state`: the deployment's Terraform state, where each kind finds its targets;
        `target`: where it runs, whose AWS API and controls apply the faults;
        `expectations`: the pattern's own expected outcomes, by kind."""
        self.records = [_record(spec, state, (expectations or {}).get(spec.kind)) for spec in specs]
        for record in self.records:
            why = (
                KINDS[record.kind].unavailable(target)
                if record.targets
                else f"the deployment has nothing {record.kind} acts on"
            )
            if why:
                record.error = f"not applicable: {why}"
        self._target = target
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def begin(self) -> None:
        """The load starts now: schedule every applicable fault (once; later calls, e.g. a
        capacity search's next steps, change nothing)."""
        if self._threads:
            return
        origin = time.monotonic()
        for record in self.records:
            if record.error is None:
                thread = threading.Thread(
                    target=self._run, args=(record, origin), name=f"fault-{record.kind}"
                )
                thread.start()
                self._threads.append(thread)

    def _run(self, record: FaultRecord, origin: float) -> None:
        kind = KINDS[record.kind]
        if self._stop.wait(max(0.0, origin + record.at_s - time.monotonic())):
            record.error = "the run stopped before the fault's time"
            return
        before = None
        try:
            record.started_ns = time.time_ns()
            progress.console.print(f"fault: {record.kind} starts ({record.duration_s:g} s)")
            before = kind.start(self._target, record.targets, record.duration_s)
        except Exception as exc:  # the run goes on; the fault is recorded as not applied
            record.error = f"start failed: {type(exc).__name__}: {exc}"
        self._stop.wait(max(0.0, origin + record.at_s + record.duration_s - time.monotonic()))
        # recorded from before its start until its end has taken effect: all it may have hit
        try:
            kind.end(self._target, record.targets, before)
            progress.console.print(f"fault: {record.kind} ended")
        except Exception as exc:
            record.error = f"end failed: {type(exc).__name__}: {exc}"
        finally:
            record.ended_ns = time.time_ns()

    def __enter__(self) -> "Nemesis":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End every fault still under way (the run has stopped waiting for its load)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

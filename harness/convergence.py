"""Waiting after the load for each projection to converge (show the ledger's final state)
or settle (stop changing for longer than its floor plus `settle_s` without converging: what
it shows then is final, so its anomalies are too)."""

import time
from collections.abc import Callable

from harness import progress
from harness.check.protocol import Convergence
from harness.load.ledger import Change, Entity
from harness.observe import Observer


def await_convergence(
    expected: dict[Entity, Change],
    observers: dict[str, Observer],
    floors_s: dict[str, float],
    timeout_s: float,
    settle_s: float,
    failed: Callable[[str], bool],
    held_s: dict[str, float] | None = None,
) -> dict[str, Convergence]:
    """Wait until each projection converged or settled, or the deadline passes. A projection
    whose pattern had a service fail (`failed(name)`: an emulated DMS task, a Lambda mapping)
    stops being waited for: nothing would change any more, what it shows counts as settled.
    `held_s`: how long from now a projection may still be held up by a fault (a retried
    batch waiting out a queue's visibility timeout): it neither converges nor settles before,
    as an earlier change may still come though its entity's last one is shown."""
    started = time.monotonic()
    done: dict[str, Convergence] = {}
    last_change = dict.fromkeys(observers, started)
    observed = {name: observer.observed for name, observer in observers.items()}
    with progress.step(f"Waiting for {len(observers)} projection(s) to converge") as update:
        while True:
            now = time.monotonic()
            elapsed = round(now - started, 3)
            for name, observer in observers.items():
                if name in done:
                    continue
                if observer.observed != observed[name]:
                    observed[name], last_change[name] = observer.observed, now
                held = now - started < (held_s or {}).get(name, 0.0)
                if observer.error or (not held and pending(expected, observer) == 0):
                    done[name] = Convergence(converged=not observer.error, seconds=elapsed)
                elif failed(name) or (
                    not held and now - last_change[name] > floors_s[name] + settle_s
                ):
                    done[name] = Convergence(converged=False, settled=True, seconds=elapsed)
            if len(done) == len(observers) or now - started > timeout_s:
                break
            update(f"{len(done)}/{len(observers)} done")
            time.sleep(0.1)
    for name in observers.keys() - done.keys():
        seconds = round(time.monotonic() - started, 3)
        done[name] = Convergence(converged=False, seconds=seconds)
    return done


def pending(expected: dict[Entity, Change], observer: Observer) -> int:
    """Entities whose final state the observer has not seen yet. A deleted key never
    comes back (keys come from sequences), so any absence shows its delete."""
    count = 0
    for entity, last in expected.items():
        seen = observer.state.get(entity)
        if last.op == "delete":
            count += seen is not None and seen[1]
        else:
            count += seen is None or seen[0] < last.version or not seen[1]
    return count

"""A gevent-native wait function for psycopg 3 (what psycogreen is for psycopg2).

psycopg 3 cooperates with gevent by itself, through gevent's emulation of
select.poll, which cost about a fifth of the driver's CPU per commit (profiled;
benchmarks/load_ceiling.py: 306 -> 246 µs client CPU per insert). Waiting on a
libev io watcher of the gevent hub does the same job directly. No library
provides it for psycopg 3, hence these few lines. `install()` swaps psycopg's
module-level wait function, which Connection.wait looks up per call. Readiness
is reported as whatever was waited for: psycopg's non-blocking generators treat
a spurious "ready" as "try again".
"""

from typing import Any

import gevent
import psycopg.waiting
from gevent.hub import get_hub
from psycopg.waiting import Ready, Wait

_READY = {Wait.R: Ready.R, Wait.W: Ready.W, Wait.RW: Ready.RW}


def wait_gevent(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """Drive a psycopg generator, parking this greenlet until its socket is ready."""
    hub = get_hub()
    # psycopg expects its own _WaitTimeout when `timeout` passes (as its wait functions raise)
    with gevent.Timeout(timeout, psycopg.errors._WaitTimeout("wait timeout expired")):
        try:
            state = next(gen)
            while True:
                watcher = hub.loop.io(fileno, int(state))
                try:
                    hub.wait(watcher)
                finally:
                    watcher.close()
                state = gen.send(_READY[state])
        except StopIteration as done:
            return done.value


def install() -> None:
    psycopg.waiting.wait = wait_gevent

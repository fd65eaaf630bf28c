"""The logger of every Kafka client the harness runs (the local engines' and its observers'):
`harness.kafka`, letting through at most one line a minute per client and kind of event.

librdkafka logs each failed connection attempt, some twenty a second per client while the
brokers are down (the `kafka_down` fault): a flood that would bury the run's progress lines.
The standard logging module has no rate limit, hence the filter.
"""

import logging
import threading
import time

INTERVAL_S = 60.0


class _OncePerInterval(logging.Filter):
    """Passes a record unless one from the same client and facility passed within the
    interval (librdkafka logs with args `(facility, client name, message)`)."""

    def __init__(self, interval_s: float) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[tuple[object, ...], float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        key = (record.levelno, *args[:2])
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self.interval_s) < self.interval_s:
                return False
            self._last[key] = now
        return True


LOGGER = logging.getLogger("harness.kafka")
LOGGER.addFilter(_OncePerInterval(INTERVAL_S))

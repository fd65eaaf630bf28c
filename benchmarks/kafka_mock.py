"""Two ways to run librdkafka's mock cluster as the local Kafka broker, measured side by side.

1. `ctypes`: the `rd_kafka_mock_*` API called through ctypes in a child process
   (`harness.local.kafka_child`, what the local target uses).
2. `test.mock.num.brokers`: a confluent-kafka Producer configured with that property
   creates a private mock cluster; its address is taken from librdkafka's
   "Mock cluster enabled" log line, and the process keeps the producer alive.

For each: start-up time until a bootstrap address is known, then messages/s produced
by a separate process (acks=all) and consumed by another one (from the beginning).

    .venv/bin/python benchmarks/kafka_mock.py [--messages 100000] [--size 100]

Last line: `kafka_mock_route_ratio: <test.mock.num.brokers produce rate / ctypes rate>`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.local.kafka_broker import KafkaBroker

from bench_util import Console

_console = Console("kafka_mock")
fail, log = _console.fail, _console.log

# A process whose producer owns a mock cluster; prints its bootstrap, lives until stdin closes.
_CONFIG_ROUTE = r"""
import json, logging, sys, threading
from confluent_kafka import Producer
found = threading.Event()
bootstrap = []
class Catch(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        if "Mock cluster enabled" in text and not found.is_set():
            bootstrap.append(text.rsplit(" ", 1)[-1].strip())
            found.set()
logger = logging.getLogger("mock")
logger.addHandler(Catch())
logger.setLevel(logging.DEBUG)
p = Producer({"test.mock.num.brokers": 2, "bootstrap.servers": "unused:9092", "logger": logger})
p.poll(0)
if not found.wait(10):
    sys.exit("no mock cluster log line")
print(json.dumps({"bootstrap": bootstrap[0]}), flush=True)
sys.stdin.read()
"""

_PRODUCE = r"""
import sys, time
from confluent_kafka import Producer
bootstrap, topic, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
value = b"x" * size
start = time.perf_counter()
for i in range(n):
    while True:
        try:
            p.produce(topic, value, key=str(i % 64).encode())
            break
        except BufferError:
            p.poll(0.01)
    if i % 1000 == 0:
        p.poll(0)
left = p.flush(60)
print(n - left, time.perf_counter() - start)
"""

_CONSUME = r"""
import sys, time
from confluent_kafka import Consumer
bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "auto.offset.reset": "earliest"})
c.subscribe([topic])
got, first, last = 0, None, time.perf_counter()
while got < n and time.perf_counter() - last < 5:  # 5 s without a message: done
    for m in c.consume(10000, 1.0):
        if not m.error():
            got += 1
            last = time.perf_counter()
            first = first or last
c.close()
print(got, last - (first or last) or 1e-9)
"""


def _run(script: str, *args: object) -> tuple[int, float]:
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        fail(f"helper process failed: {out.stderr.strip().splitlines()[-1:]}")
    count, seconds = out.stdout.split()
    return int(count), float(seconds)


def measure(bootstrap: str, messages: int, size: int) -> tuple[float, float]:
    topic = f"bench-{time.time_ns()}"
    produced, p_s = _run(_PRODUCE, bootstrap, topic, messages, size)
    consumed, c_s = _run(_CONSUME, bootstrap, topic, produced)
    if produced != messages or consumed != produced:
        log(f"produced {produced:,} and consumed {consumed:,} of {messages:,}")
    return produced / p_s, consumed / c_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # The mock keeps about 5 MB per partition (topics get 4): stay below it, or the
    # consumer finds the oldest batches gone.
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=100, help="value bytes (100)")
    args = parser.parse_args()
    if args.messages < 1 or args.size < 1:
        fail("--messages and --size must be >= 1")
    rows = []

    with tempfile.TemporaryDirectory(prefix="kafka-mock-") as tmp:
        started = time.perf_counter()
        broker = KafkaBroker(Path(tmp))
        broker.start()
        try:
            startup = time.perf_counter() - started
            log(f"ctypes: bootstrap {broker.bootstrap} after {startup:.2f} s")
            rows.append(("ctypes", startup, *measure(broker.bootstrap, args.messages, args.size)))
        finally:
            broker.stop()

    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CONFIG_ROUTE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            fail("the test.mock.num.brokers route printed no bootstrap address")
        bootstrap = json.loads(line)["bootstrap"]
        startup = time.perf_counter() - started
        log(f"test.mock.num.brokers: bootstrap {bootstrap} after {startup:.2f} s")
        rows.append(
            ("test.mock.num.brokers", startup, *measure(bootstrap, args.messages, args.size))
        )
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(10)

    print(f"{'route':24s} {'start s':>8s} {'produce msg/s':>14s} {'consume msg/s':>14s}")
    for name, startup, produce, consume in rows:
        print(f"{name:24s} {startup:8.2f} {produce:14,.0f} {consume:14,.0f}")
    print(f"kafka_mock_route_ratio: {rows[1][2] / rows[0][2]:.3f}")


if __name__ == "__main__":
    main()

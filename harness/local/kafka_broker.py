"""A Kafka-protocol broker for the local target, in its own child process.

librdkafka's mock cluster (see `kafka_child`) speaks the Kafka protocol well
enough for producers with acks=all and idempotence, consumer groups and the
admin API, with no JVM. A topic that does not exist is auto-created, with 4
partitions, by the first produce or metadata request naming it (measured with
the wheel's librdkafka 2.16.0); `create_topic` makes one with an explicit
partition count, and fails if the topic exists already.
The cluster keeps everything in memory and dies with the child process.
"""

import json
import subprocess
import threading
from pathlib import Path

from harness.errors import UserError
from harness.local.component import Component
from harness.process import read_json_line, spawn, stop

_READY_TIMEOUT_S = 30.0


class KafkaBroker(Component):
    title = "Kafka broker"

    def __init__(self, log_dir: Path, brokers: int = 2) -> None:
        self.log_path = log_dir / "kafka.log"
        self.brokers = brokers
        self.bootstrap = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        """One command and its answer at a time."""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def processes(self) -> dict[str, int]:
        return {"kafka": self.pid} if self.pid is not None else {}

    def start(self) -> None:
        self._proc = spawn(
            "harness.local.kafka_child", ["--brokers", str(self.brokers)], self.log_path
        )
        try:
            self.bootstrap = str(self._reply()["bootstrap"])
        except (ValueError, KeyError):
            self.stop()
            raise UserError(f"Kafka broker did not start (log: {self.log_path})") from None

    def create_topic(self, name: str, partitions: int) -> None:
        """Create a topic (an error if it exists already, e.g. auto-created by a producer)."""
        self._command(
            {"create_topic": name, "partitions": partitions}, f"create Kafka topic {name!r}"
        )

    def set_brokers(self, up: bool) -> None:
        """Take every broker down (connections closed, none accepted), or bring them up."""
        self._command({"brokers_up": up}, f"bring the Kafka brokers {'up' if up else 'down'}")

    def set_rebalancing(self, on: bool) -> None:
        """Make every consumer group rebalance again and again (its members told to rejoin),
        or stop."""
        self._command({"rebalancing": on}, f"{'start' if on else 'stop'} the rebalances")

    def _command(self, command: dict[str, object], what: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None, "broker not started"
        with self._lock:
            self._proc.stdin.write(json.dumps(command).encode() + b"\n")
            self._proc.stdin.flush()
            try:
                answer = self._reply()
            except ValueError:
                answer = {"error": f"no answer from the broker (log: {self.log_path})"}
        if "error" in answer:
            raise UserError(f"cannot {what}: {answer['error']}")

    def _reply(self) -> dict[str, object]:
        assert self._proc is not None, "broker not started"
        return read_json_line(self._proc, _READY_TIMEOUT_S)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

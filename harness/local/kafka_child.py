"""Entry point of the Kafka broker child process: `python -m harness.local.kafka_child`.

Runs librdkafka's mock cluster (bundled in the confluent-kafka wheel) through
ctypes, because no Python package exposes the mock API and a real Kafka needs a
JVM. Prints `{"bootstrap": "host:port,..."}` on one stdout line, then answers
JSON commands read from stdin, one line each: `{"create_topic": name,
"partitions": n}`, `{"brokers_up": false}` to take every broker down (`true`: up again), or
`{"rebalancing": true}` to make every consumer group rebalance again and again (`false`:
stop), -> `{"ok": true}` or `{"error": "..."}`. Exits on
SIGTERM/SIGINT, when stdin closes, or when its parent goes away.
"""

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
from pathlib import Path

import confluent_kafka

_RD_KAFKA_PRODUCER = 0
_HEARTBEAT = 12
"""The Kafka protocol's Heartbeat request (its ApiKey)."""
_REBALANCE_IN_PROGRESS = 27
REBALANCE_EVERY_S = 2.0
"""While rebalancing, how often the next heartbeats are answered REBALANCE_IN_PROGRESS."""
_HEARTBEATS_FAILED = 4
"""How many heartbeats in a row each time: a member of each of a few groups (members
heartbeat every second)."""


def _library() -> ctypes.CDLL:
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    path = next(libs.glob("librdkafka*.so*"))
    lib = ctypes.CDLL(str(path))
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.rd_kafka_mock_set_controller_id.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_push_request_errors_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int16,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.rd_kafka_mock_clear_request_errors.argtypes = [ctypes.c_void_p, ctypes.c_int16]
    lib.rd_kafka_err2str.restype = ctypes.c_char_p
    lib.rd_kafka_err2str.argtypes = [ctypes.c_int]
    return lib


class MockCluster:
    """A mock cluster owned by a private producer handle (it lives as long as that handle)."""

    def __init__(self, brokers: int) -> None:
        self._lib = _library()
        errstr = ctypes.create_string_buffer(512)
        conf = self._lib.rd_kafka_conf_new()
        # The owning handle has no bootstrap servers on purpose; keep its warning out of the log.
        self._lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
        self._rk = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self._mc = self._lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self._lib.rd_kafka_mock_set_controller_id(self._mc, 1)
        self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, 0)
        self.brokers = brokers
        self._rebalancing: threading.Event | None = None

    @property
    def bootstrap(self) -> str:
        return str(self._lib.rd_kafka_mock_cluster_bootstraps(self._mc).decode())

    def create_topic(self, name: str, partitions: int) -> None:
        replication = min(3, self.brokers)
        err = self._lib.rd_kafka_mock_topic_create(self._mc, name.encode(), partitions, replication)
        if err:
            raise RuntimeError(self._lib.rd_kafka_err2str(err).decode())

    def set_brokers(self, up: bool) -> None:
        """Every broker down (its connections closed, none accepted; partition leaders stay
        where they are) or up again."""
        switch = (
            self._lib.rd_kafka_mock_broker_set_up if up else self._lib.rd_kafka_mock_broker_set_down
        )
        for broker in range(1, self.brokers + 1):
            err = switch(self._mc, broker)
            if err:
                raise RuntimeError(self._lib.rd_kafka_err2str(err).decode())

    def set_rebalancing(self, on: bool) -> None:
        """Every REBALANCE_EVERY_S, answer the next heartbeats REBALANCE_IN_PROGRESS, as a
        coordinator does when a member joins or leaves: each member told so rejoins its group,
        which revokes every member's partitions and assigns them again (or stop doing so)."""
        if self._rebalancing is not None:
            self._rebalancing.set()
            self._rebalancing = None
        if on:
            self._rebalancing = stopping = threading.Event()
            threading.Thread(target=self._rebalance, args=(stopping,), daemon=True).start()

    def _rebalance(self, stopping: threading.Event) -> None:
        errors = (ctypes.c_int * _HEARTBEATS_FAILED)(*[_REBALANCE_IN_PROGRESS] * _HEARTBEATS_FAILED)
        lib = self._lib
        while not stopping.is_set():
            # those a rejoining member did not take are dropped: they would outlast the fault
            lib.rd_kafka_mock_clear_request_errors(self._mc, _HEARTBEAT)
            lib.rd_kafka_mock_push_request_errors_array(
                self._mc, _HEARTBEAT, _HEARTBEATS_FAILED, errors
            )
            stopping.wait(REBALANCE_EVERY_S)
        lib.rd_kafka_mock_clear_request_errors(self._mc, _HEARTBEAT)

    def destroy(self) -> None:
        self.set_rebalancing(False)
        self._lib.rd_kafka_mock_cluster_destroy(self._mc)
        self._lib.rd_kafka_destroy(self._rk)


def _answer(cluster: MockCluster, line: str) -> dict[str, object]:
    try:
        command = json.loads(line)
        if "brokers_up" in command:
            cluster.set_brokers(bool(command["brokers_up"]))
        elif "rebalancing" in command:
            cluster.set_rebalancing(bool(command["rebalancing"]))
        else:
            cluster.create_topic(str(command["create_topic"]), int(command.get("partitions", 1)))
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        return {"error": str(exc)}
    return {"ok": True}


def _serve(cluster: MockCluster, done: threading.Event) -> None:
    for line in sys.stdin:
        print(json.dumps(_answer(cluster, line)), flush=True)
    done.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--brokers", type=int, default=2)
    args = parser.parse_args()

    cluster = MockCluster(args.brokers)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    print(json.dumps({"bootstrap": cluster.bootstrap}), flush=True)
    threading.Thread(target=_serve, args=(cluster, done), daemon=True).start()
    while not done.wait(1.0):
        if os.getppid() != args.parent_pid:
            break
    cluster.destroy()
    sys.exit(0)


if __name__ == "__main__":
    main()

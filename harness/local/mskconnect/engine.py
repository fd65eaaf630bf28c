"""The MSK Connect engine's control loop: runs the connectors the kafkaconnect API holds.

About every half second it lists the connectors. A RUNNING connector whose configuration the
local S3 sink accepts gets an `S3Sink`; one it refuses (another connector class, a setting the
sink cannot honour) is reported once in `failures` and not run. A connector that is deleted,
leaves RUNNING or gets a new version (UpdateConnector) has its sink stopped; a new version is
then started afresh, as an update restarts a connector on AWS. A sink that fails is reported
in `failures` and stays stopped until the connector changes.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from dataclasses import dataclass
from typing import Any

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.mskconnect.config import ConfigError, parse_properties, sink_config
from harness.local.mskconnect.s3_sink import S3Sink

log = logging.getLogger("harness.local.mskconnect")

POLL_S = 0.5
STOP_WAIT_S = 30.0


@dataclass
class _Run:
    name: str
    version: str
    sink: S3Sink | None
    """None when the engine refused the connector."""


class MskConnectEngine(ControlLoop):
    title = "MSK Connect engine"
    serves = "kafkaconnect"
    subject = "MSK Connect"
    """Failures: connector name -> one line saying why it does not run."""

    def __init__(self, aws: AwsAccess, poll_s: float = POLL_S) -> None:
        super().__init__("mskconnect-engine", poll_s)
        self.aws = aws
        self._runs: dict[str, _Run] = {}
        self._client: Any = None
        self._lock = threading.Lock()

    def stopped(self) -> None:
        """Stop every sink (each closes its consumer)."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            self._end(run)

    def running(self) -> dict[str, str]:
        """Connectors whose sink is running now: name -> the connector version it runs."""
        with self._lock:
            runs = list(self._runs.values())
        return {r.name: r.version for r in runs if r.sink is not None and r.sink.is_alive()}

    def connect(self) -> None:
        self._client = self.aws.client("kafkaconnect")

    def step(self) -> None:
        client = self._client
        connectors = {c["connectorArn"]: c for c in _connectors(client)}
        with self._lock:
            runs = list(self._runs.items())
        for arn, run in runs:
            current = connectors.get(arn)
            if run.sink is not None and not run.sink.is_alive() and run.sink.failure:
                self._failures[run.name] = f"connector {run.name}: {run.sink.failure}"
            changed = current is None or current["currentVersion"] != run.version
            if changed or current["connectorState"] != "RUNNING":
                self._end(run)
                with self._lock:
                    del self._runs[arn]
        for arn, connector in connectors.items():
            if connector["connectorState"] == "RUNNING" and arn not in self._runs:
                run = self._start(client, arn)
                with self._lock:
                    self._runs[arn] = run

    def _start(self, client: Any, arn: str) -> _Run:
        connector = client.describe_connector(connectorArn=arn)
        name, version = connector["connectorName"], connector["currentVersion"]
        try:
            bootstrap = connector["kafkaCluster"]["apacheKafkaCluster"]["bootstrapServers"]
            config = sink_config(
                name, bootstrap, connector["connectorConfiguration"], _worker(client, connector)
            )
        except ConfigError as refused:
            self._failures[name] = f"connector {name}: {refused}"
            log.warning("%s", self._failures[name])
            return _Run(name, version, None)
        self._failures.pop(name, None)
        sink = S3Sink(config, self.aws)
        log.info("MSK Connect connector %s starting its S3 sink", name)
        sink.start()
        return _Run(name, version, sink)

    @staticmethod
    def _end(run: _Run) -> None:
        if run.sink is None:
            return
        run.sink.stop()
        run.sink.join(STOP_WAIT_S)
        if run.sink.is_alive():
            log.warning("S3 sink of %s did not stop within %.0f s", run.name, STOP_WAIT_S)


def _connectors(client: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_connectors").paginate()
    return [c for page in pages for c in page["connectors"]]


def _worker(client: Any, connector: dict[str, Any]) -> dict[str, str]:
    """The connector's worker configuration properties (empty for MSK Connect's default)."""
    reference = connector.get("workerConfiguration")
    if not reference:
        return {}
    arn = reference["workerConfigurationArn"]
    described = client.describe_worker_configuration(workerConfigurationArn=arn)
    content = described["latestRevision"]["propertiesFileContent"]
    try:
        return parse_properties(base64.b64decode(content, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        raise ConfigError(
            f"worker configuration {arn}: propertiesFileContent is not base64-encoded properties"
        ) from None

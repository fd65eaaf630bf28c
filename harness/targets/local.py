"""The `local` target: a throwaway PostgreSQL, a Kafka-protocol broker behind every MSK
cluster, moto's server, and the local engines that run what Terraform creates there: DMS
tasks, Lambda functions and their event-source mappings, MSK Connect S3 sinks and
EventBridge schedules."""

import contextlib
import importlib.metadata
import os
from pathlib import Path
from typing import Any

import psutil
import psycopg

from harness import progress
from harness.aws import AwsAccess
from harness.local.dms.engine import DmsEngine
from harness.local.kafka_broker import KafkaBroker
from harness.local.lambda_runtime.runtime import LambdaRuntime
from harness.local.moto_server import MotoServer
from harness.local.mskconnect.engine import MskConnectEngine
from harness.local.mskconnect.plugin import placeholder_plugin
from harness.local.postgres import PostgresCluster, find_bindir
from harness.local.schedules import ScheduleEngine
from harness.settings import Settings
from harness.targets.base import Target


class LocalTarget(Target):
    name = "local"
    emulated = True
    summary = "embedded: throwaway PostgreSQL + moto server (no account, no Docker)"

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        super().__init__(settings, log_dir)
        self.postgres: PostgresCluster | None = None
        self.kafka = KafkaBroker(self.log_dir)
        self.moto = MotoServer(self.log_dir)
        self.dms: DmsEngine | None = None
        self.lambda_runtime: LambdaRuntime | None = None
        self.mskconnect: MskConnectEngine | None = None
        self.schedules: ScheduleEngine | None = None

    @property
    def source_dsn(self) -> str:
        assert self.postgres is not None, "target not started"
        return self.postgres.dsn

    @property
    def aws(self) -> AwsAccess:
        credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        return AwsAccess(
            region=self.settings.aws_region,
            endpoint_url=self.moto.endpoint_url,
            credentials=credentials,
            max_attempts=1,
        )

    def start(self) -> None:
        bindir = find_bindir(self.settings.pg_bindir)
        self.postgres = PostgresCluster(bindir, self.settings.pg_os_user, self.log_dir)
        with progress.step("Starting PostgreSQL"):
            self.postgres.start()
        with progress.step("Starting Kafka broker"):
            self.kafka.start()
        self.moto.kafka_bootstrap = self.kafka.bootstrap
        with progress.step("Starting moto server"):
            self.moto.start()
        self.dms = DmsEngine(self.aws)
        self.dms.start()
        self.lambda_runtime = LambdaRuntime(
            self.aws, self.log_dir / "lambda", self.settings.lambda_timing
        )
        self.lambda_runtime.start()
        self.mskconnect = MskConnectEngine(self.aws)
        self.mskconnect.start()
        self.schedules = ScheduleEngine(self.aws)
        self.schedules.start()

    def stop(self) -> None:
        for engine in (self.schedules, self.mskconnect, self.lambda_runtime):
            if engine is not None:
                engine.stop()
        self.schedules = self.mskconnect = self.lambda_runtime = None
        if self.dms is not None:
            self.dms.stop()  # before the database goes: it drops its replication slots
            self.dms = None
        self.moto.stop()
        self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def engine_failures(self) -> dict[str, str]:
        failures: dict[str, str] = {}
        if self.dms is not None:
            failures |= {f"DMS task {name}": why for name, why in self.dms.failures.items()}
        if self.lambda_runtime is not None:
            failures |= self.lambda_runtime.failures
        if self.mskconnect is not None:
            failures |= {f"MSK Connect {n}": why for n, why in self.mskconnect.failures.items()}
        if self.schedules is not None:
            failures |= {f"schedule rule {n}": why for n, why in self.schedules.failures.items()}
        return failures

    def emulator_limits(self) -> list[str]:
        return list(self.lambda_runtime.limits) if self.lambda_runtime is not None else []

    def cpu_seconds(self) -> dict[str, float]:
        """moto, the Kafka broker, and this process (the local engines and the observers)."""
        processes = {"moto": self.moto.pid, "kafka": self.kafka.pid, "harness": os.getpid()}
        used = {}
        for name, pid in processes.items():
            if pid is not None:
                with contextlib.suppress(psutil.Error):
                    times = psutil.Process(pid).cpu_times()
                    used[name] = times.user + times.system
        return used

    def connector_plugin(self, name: str) -> Path:
        return placeholder_plugin(name, self.log_dir / "connector-plugins")

    def describe(self) -> dict[str, Any]:
        assert self.postgres is not None, "target not started"
        with psycopg.connect(self.source_dsn) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return {
            "name": self.name,
            "postgres": row[0] if row else "unknown",
            "moto": importlib.metadata.version("moto"),
            "aws_endpoint": self.moto.endpoint_url,
            "kafka_bootstrap": self.kafka.bootstrap,
            "lambda_timing": self.settings.lambda_timing.model_dump(),
        }

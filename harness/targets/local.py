"""The `local` target: a throwaway PostgreSQL, a Kafka-protocol broker behind every MSK
cluster, moto's server, and the local engines that run what Terraform creates there (the DMS
engine)."""

import importlib.metadata
from pathlib import Path

import psycopg

from harness import progress
from harness.local.dms.engine import DmsEngine
from harness.local.kafka_broker import KafkaBroker
from harness.local.moto_server import MotoServer
from harness.local.postgres import PostgresCluster, find_bindir
from harness.settings import Settings
from harness.targets.base import AwsAccess, Target


class LocalTarget(Target):
    name = "local"
    summary = "embedded: throwaway PostgreSQL + moto server (no account, no Docker)"

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        super().__init__(settings, log_dir)
        self.postgres: PostgresCluster | None = None
        self.kafka = KafkaBroker(self.log_dir)
        self.moto = MotoServer(self.log_dir)
        self.dms: DmsEngine | None = None

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

    def stop(self) -> None:
        if self.dms is not None:
            self.dms.stop()  # before the database goes: it drops its replication slots
            self.dms = None
        self.moto.stop()
        self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def engine_failures(self) -> dict[str, str]:
        if self.dms is None:
            return {}
        return {f"DMS task {name}": reason for name, reason in self.dms.failures.items()}

    def describe(self) -> dict[str, str]:
        assert self.postgres is not None, "target not started"
        with psycopg.connect(self.source_dsn) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return {
            "name": self.name,
            "postgres": row[0] if row else "unknown",
            "moto": importlib.metadata.version("moto"),
            "aws_endpoint": self.moto.endpoint_url,
            "kafka_bootstrap": self.kafka.bootstrap,
        }

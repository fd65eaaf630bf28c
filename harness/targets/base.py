"""What every target provides: a source database DSN and an AWS API to deploy into."""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from harness import signals
from harness.errors import UserError
from harness.settings import Settings

_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_LOADER = botocore.loaders.create_loader()


@dataclass(frozen=True)
class AwsAccess:
    """How to reach an AWS API: region, optional endpoint and static credentials."""

    region: str
    endpoint_url: str | None = None
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    max_attempts: int | None = None
    """Emulators answer unimplemented calls with HTTP 500: retrying them only wastes minutes."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AwsAccess":
        """The inverse of `env()`: how a subprocess given that environment reaches the API."""
        credentials = {k: env[k] for k in _CREDENTIALS if k in env}
        attempts = env.get("AWS_MAX_ATTEMPTS")
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL"),
            credentials=credentials,
            max_attempts=int(attempts) if attempts else None,
        )

    def env(self) -> dict[str, str]:
        """Environment for Terraform's provider and other AWS SDK subprocesses."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **self.credentials}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.max_attempts:
            env["AWS_MAX_ATTEMPTS"] = str(self.max_attempts)
        return env

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this API (one per thread: clients are not shared)."""
        core = botocore.session.get_session()
        # One loader for every session: service models are parsed once per process, not
        # once per client (that parse dominated creating a client).
        core.register_component("data_loader", _LOADER)
        session = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=self.credentials.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.credentials.get("AWS_SECRET_ACCESS_KEY"),
            botocore_session=core,
        )
        retries = {"max_attempts": self.max_attempts or 5, "mode": "standard"}
        config = Config(retries=retries, connect_timeout=5, read_timeout=30)
        return session.client(service, endpoint_url=self.endpoint_url, config=config)


class Target(ABC):
    """A place to run patterns. Use as a context manager: stopped on any exit, Ctrl-C included."""

    name: ClassVar[str]
    summary: ClassVar[str]
    emulated: ClassVar[bool] = False
    """The AWS services are emulated: lag past saturation is the emulator's, not the pattern's."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir

    @property
    @abstractmethod
    def source_dsn(self) -> str:
        """libpq connection string of the source database."""

    @property
    @abstractmethod
    def aws(self) -> AwsAccess: ...

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Release everything `start` made, even after a partial start. Idempotent."""

    def engine_failures(self) -> dict[str, str]:
        """Emulated services that failed (e.g. a DMS task), by name: reason. Empty on AWS,
        where failures show in the services' own status."""
        return {}

    def emulator_limits(self) -> list[str]:
        """Limits of an emulated service that distorted what a pattern saw (e.g. the Kafka
        mock dropping records before they were read), one line each, oldest first. They are
        recorded with the results and never counted as the pattern's anomalies."""
        return []

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each emulator process, by name: sampled around the
        load to tell when the emulator saturates. Empty where nothing is emulated."""
        return {}

    def connector_plugin(self, name: str) -> Path:
        """The zip of MSK Connect plugin `name` (e.g. confluentinc-kafka-connect-s3) that a
        pattern's Terraform uploads as a custom plugin."""
        path = self.settings.connector_plugins_dir / f"{name}.zip"
        if not path.is_file():
            raise UserError(
                f"MSK Connect plugin {name} not found at {path}: download its zip there, "
                "or set CDCBENCH_CONNECTOR_PLUGINS_DIR to the folder holding it"
            )
        return path.resolve()

    def describe(self) -> dict[str, Any]:
        """Facts about the target worth keeping with the results (versions, endpoints)."""
        return {"name": self.name}

    def __enter__(self) -> "Target":
        try:
            self.start()
        except BaseException:
            with signals.deferred(f"stopping the {self.name} target"):
                self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with signals.deferred(f"stopping the {self.name} target"):
            self.stop()

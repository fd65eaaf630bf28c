"""What every target provides: a source database DSN and an AWS API to deploy into."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from harness import signals
from harness.aws import AwsAccess
from harness.errors import UserError
from harness.observe.shards import EMULATED_SHARDS, ReadBudget
from harness.settings import Settings


@dataclass(frozen=True)
class TargetOptions:
    """What the user says about a target on the command line (each target reads what
    concerns it and ignores the rest)."""

    source_dsn: str | None = None
    """An existing source database (libpq string, without its password)."""
    source_secret: str | None = None
    """A Secrets Manager secret (ARN or name) holding the source's `username`/`password`."""
    yes: bool = False
    """Create billable resources without asking."""
    state: str | None = None
    """`s3://bucket/prefix`: Terraform state in S3 (with locking), not in the run folder."""
    services: frozenset[str] = frozenset()
    """The AWS services the run's patterns need (boto3 names)."""
    workers: int = 0
    """Locust workers on ECS (`--workers`); 0 runs the load on this host."""
    workers_config: dict[str, Any] = field(default_factory=dict)
    """The locust_workers module's variables the user gives (`--workers-config`)."""


_NO_CONTROL = {
    "source": (
        "the {name} target's source is yours (a database it did not start), so it is not restarted"
    ),
    "groups": (
        "on the {name} target a consumer group rebalances only as its members join or leave: "
        "AWS has no control that forces it"
    ),
    "functions": (
        "on the {name} target, functions fail on purpose only through AWS FIS's Lambda "
        "extension, which does not run there"
    ),
    "timeouts": (
        "on the {name} target, functions time out on purpose only through AWS FIS's Lambda "
        "extension, which does not run there"
    ),
    "link": (
        "on the {name} target the link between your data centre and AWS is yours: no control "
        "delays it"
    ),
    "uploads": "on the {name} target DMS uploads its CDC files itself: no control delays one",
}
"""Why a target without controls of its own cannot take a part down (`cannot_take_down`)."""


class Target(ABC):
    """A place to run patterns. Use as a context manager: stopped on any exit, Ctrl-C included."""

    name: ClassVar[str]
    summary: ClassVar[str]
    emulated: ClassVar[bool] = False
    """The AWS services are emulated: lag past saturation is the emulator's, not the pattern's."""
    observer_budget: ClassVar[ReadBudget] = EMULATED_SHARDS
    """How often stream observers may read each shard: paced to spare an emulator's one
    process where nothing limits per-shard reads; within a real cloud's limits otherwise."""

    def __init__(
        self, settings: Settings, log_dir: Path, options: TargetOptions | None = None
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.options = options or TargetOptions()

    @property
    @abstractmethod
    def source_dsn(self) -> str:
        """libpq connection string of the source database."""

    @property
    def cloud_source_dsn(self) -> str:
        """How the cloud side (DMS's source endpoints) reaches the source database: as the
        data centre does, unless the target lays a link between them (`take_down("link")`)."""
        return self.source_dsn

    @property
    @abstractmethod
    def aws(self) -> AwsAccess: ...

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Release everything `start` made, even after a partial start. Idempotent."""

    def preflight(self, plans: dict[str, dict[str, Any]]) -> None:
        """Before the first apply, given each pattern's plan (`terraform show -json`):
        UserError when something the plans need is missing or the user declines. Targets
        that create nothing billable check nothing."""
        return None

    def cannot_run(self, services: frozenset[str]) -> str | None:
        """Why a pattern needing these services (boto3 names) cannot run here, in one line;
        None when it can."""
        return None

    needs_plans: ClassVar[bool] = False
    """The preflight reads the plans (planning every pattern first costs a minute)."""

    def engine_failures(self) -> dict[str, str]:
        """Emulated services that failed (e.g. a DMS task), by name: reason. Empty on AWS,
        where failures show in the services' own status."""
        return {}

    def emulator_limits(self) -> list[str]:
        """Limits of an emulated service that distorted what a pattern saw (e.g. the Kafka
        mock dropping records before they were read), one line each, oldest first. They are
        recorded with the results and never counted as the pattern's anomalies."""
        return []

    def usage(self) -> dict[str, float]:
        """What the pattern's services have been asked for so far, in billed units by price
        key (`harness/cost/prices.yaml`), counted by the target. Empty where the target
        cannot count them."""
        return {}

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

    def worker_variables(self, config: dict[str, Any]) -> dict[str, Any]:
        """What this target gives terraform/modules/locust_workers for `--workers` (the
        network, the image), before `config`, the user's own values, is laid over it."""
        raise UserError(f"--workers is not available on the {self.name} target")

    def describe(self) -> dict[str, Any]:
        """Facts about the target worth keeping with the results (versions, endpoints)."""
        return {"name": self.name}

    def cannot_deny(self, action: str) -> str | None:
        """Why a resource policy's explicit Deny of `action` (e.g. `sqs:SendMessage`) to
        everyone would not be enforced here, in one line; None when it would (AWS)."""
        return None

    def cannot_throttle(self, service: str) -> str | None:
        """Why `service` (e.g. `dynamodb`) would not throttle requests past a limit set
        through its API (an on-demand table's maximum throughput) here, in one line; None
        when it would (AWS)."""
        return None

    def fis_lambda_extension(self) -> str | None:
        """The layer ARN of AWS FIS's Lambda extension for functions here, through which
        FIS's Lambda actions make them fail; None where no such extension runs."""
        return None

    def cannot_take_down(self, part: str) -> str | None:
        """Why this target cannot take `part` down for a fault (`source`: the source
        database; `kafka`: every Kafka broker; `groups`: every Kafka consumer group's steady
        assignment; `functions`: Lambda functions; `timeouts`: their invocations' prompt
        end; `uploads`: DMS S3 targets' CDC file
        uploads; `link`: the cloud side's link to the source), in one line; None when
        `take_down` can."""
        why = _NO_CONTROL.get(part, "the {name} target cannot take its {part} down")
        return why.format(name=self.name, part=part)

    def take_down(self, part: str, down: bool, names: Sequence[str] = ()) -> None:
        """Take `part` down for its clients (`down`), or bring it back. The source: every
        session ends (open transactions abort) and no connection is accepted, replication
        ones included; its replication slots persist, as across a restart. Kafka: every
        broker closes its connections and accepts none; partition leaders stay put. Groups:
        every consumer group rebalances again and again, its members told to rejoin.
        Functions: every invocation of those `names` fails without running. Timeouts: every
        invocation of those `names` hangs until its timeout without running. Uploads: the
        next CDC file upload of the DMS tasks writing to those S3 endpoints `names` stalls;
        brought back, it completes once a later file is in the bucket. Link: what crosses
        the cloud side's link to the source database is delayed."""
        raise NotImplementedError(self.cannot_take_down(part))

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

"""The `local` target: a throwaway PostgreSQL (the source, and every RDS database as a
database of its own), a Kafka-protocol broker behind every MSK cluster, moto's server, and
the local engines that run what Terraform creates there: DMS tasks, RDS databases, Lambda
functions and their event-source mappings, MSK Connect S3 sinks, Firehose deliveries to S3,
EventBridge schedules and ECS services (the Locust workers of `--workers`)."""

import contextlib
import importlib.metadata
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil
import psycopg
from psycopg.conninfo import make_conninfo

from harness import progress
from harness.aws import AwsAccess
from harness.busy import HARNESS_PROCESS
from harness.local.component import Component
from harness.local.dms.engine import DmsEngine
from harness.local.ecs import EcsEngine
from harness.local.firehose.engine import FirehoseEngine
from harness.local.kafka_broker import KafkaBroker
from harness.local.lambda_runtime.runtime import LambdaRuntime
from harness.local.link import FAULT_DELAY_S, Link
from harness.local.moto_fixes.additions.dynamodb import THROTTLED
from harness.local.moto_fixes.additions.sqs import ENFORCED
from harness.local.moto_groups import describe_split, parse_split
from harness.local.moto_server import MotoServer
from harness.local.mskconnect.engine import MskConnectEngine
from harness.local.mskconnect.plugin import placeholder_plugin
from harness.local.postgres import PostgresCluster, find_bindir
from harness.local.rds import RdsEngine
from harness.local.schedules import ScheduleEngine
from harness.settings import Settings
from harness.targets.base import Target, TargetOptions

C = TypeVar("C", bound=Component)
_TAKEN_DOWN = ("source", "kafka", "groups", "functions", "timeouts", "uploads", "link")
"""What the local target can take down for a fault (`take_down`)."""


class LocalTarget(Target):
    name = "local"
    emulated = True
    summary = "embedded: throwaway PostgreSQL + moto server (no account, no Docker)"

    def __init__(
        self, settings: Settings, log_dir: Path, options: TargetOptions | None = None
    ) -> None:
        super().__init__(settings, log_dir, options)
        split = parse_split(settings.moto_split)
        self._makers: list[Callable[[], Component]] = [
            # Each is made once those before it run (moto takes the Kafka bootstrap, the
            # engines moto's endpoint), started in this order and stopped in reverse: the
            # engines before moto, the DMS engine before PostgreSQL (it drops its slots).
            lambda: PostgresCluster(find_bindir(settings.pg_bindir), settings.pg_os_user, log_dir),
            lambda: Link(self.component(PostgresCluster).port),
            lambda: KafkaBroker(log_dir),
            lambda: MotoServer(
                log_dir,
                kafka_bootstrap=self.component(KafkaBroker).bootstrap,
                postgres_address=f"127.0.0.1:{self.component(PostgresCluster).port}",
                account_id=self.account_id,
                split=split,
            ),
            lambda: DmsEngine(self.aws),
            lambda: RdsEngine(self.aws, self.source_dsn),
            lambda: LambdaRuntime(self.aws, log_dir / "lambda", settings.lambda_timing),
            lambda: MskConnectEngine(self.aws),
            lambda: FirehoseEngine(self.aws),
            lambda: ScheduleEngine(self.aws),
            lambda: EcsEngine(self.aws, log_dir / "ecs"),
        ]
        self._components: list[Component] = []
        """Those made so far, in start order (one whose start failed included)."""
        self._limits: list[str] = []
        """Every emulator limit met, in the order first seen."""

    account_id: str | None = None
    """The account moto answers as (None: moto's own)."""

    def component(self, kind: type[C]) -> C:
        """The running component of this kind: `target.component(DmsEngine)`."""
        for component in self._components:
            if isinstance(component, kind):
                return component
        raise LookupError(f"no {kind.__name__} running: target not started")

    def runs(self, component: Component) -> bool:
        """Whether this target runs `component` (the local target: every one)."""
        return True

    @property
    def source_dsn(self) -> str:
        return self.component(PostgresCluster).dsn

    @property
    def cloud_source_dsn(self) -> str:
        """Through the data-centre link (`Link`), which a `network_delay` fault slows."""
        return make_conninfo(self.source_dsn, port=str(self.component(Link).port))

    @property
    def aws(self) -> AwsAccess:
        moto = self.component(MotoServer)
        return self.emulator(moto.endpoint_url).routed(moto.endpoints)

    def emulator(self, endpoint: str) -> AwsAccess:
        """An emulated AWS API at `endpoint` (`AwsAccess.emulated`) in the settings' region."""
        return AwsAccess.emulated(self.settings.aws_region, endpoint)

    def worker_variables(self, config: dict[str, Any]) -> dict[str, Any]:
        """The ECS engine runs the workers on this host: in the default VPC's subnets, with
        the master and the source on the loopback interface (the image is not pulled)."""
        ec2 = self.aws.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        vpc = vpcs[0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        return {
            "image": "cdcbench:local",
            "vpc_id": vpc,
            "subnet_ids": sorted(s["SubnetId"] for s in subnets)[:2],
            "master_host": "127.0.0.1",
            "master_cidr_blocks": ["127.0.0.1/32"],
            "source_cidr_blocks": ["127.0.0.1/32"],
        }

    def start(self) -> None:
        for make in self._makers:
            component = make()
            if not self.runs(component):
                continue
            self._components.append(component)
            with progress.step(f"Starting {component.title}"):
                component.start()

    def stop(self) -> None:
        """Stop every component made, in reverse order, even when one fails to stop."""
        with contextlib.ExitStack() as stopping:
            for component in self._components:
                stopping.callback(component.stop)
            self._components = []

    def cannot_deny(self, action: str) -> str | None:
        if action in ENFORCED:
            return super().cannot_deny(action)
        return f"the {self.name} target's AWS API (moto) enforces no resource policy on {action}"

    def cannot_throttle(self, service: str) -> str | None:
        if service in THROTTLED:
            return super().cannot_throttle(service)
        return f"the {self.name} target's AWS API (moto) throttles no {service} request"

    def cannot_take_down(self, part: str) -> str | None:
        embedded = {
            "kafka": KafkaBroker,
            "groups": KafkaBroker,
            "functions": LambdaRuntime,
            "timeouts": LambdaRuntime,
            "uploads": DmsEngine,
        }.get(part)
        if embedded and not any(isinstance(c, embedded) for c in self._components):
            return f"the {self.name} target's {part} are not the embedded ones"
        return None if part in _TAKEN_DOWN else super().cannot_take_down(part)

    def take_down(self, part: str, down: bool, names: Sequence[str] = ()) -> None:
        if part == "source":
            self.component(PostgresCluster).refuse_source(down)
        elif part == "kafka":
            self.component(KafkaBroker).set_brokers(up=not down)
        elif part == "groups":
            self.component(KafkaBroker).set_rebalancing(down)
        elif part == "functions":
            self.component(LambdaRuntime).functions.fail(names, failing=down)
        elif part == "timeouts":
            self.component(LambdaRuntime).functions.hang(names, hanging=down)
        elif part == "uploads":
            self.component(DmsEngine).stall_uploads(names, stalled=down)
        elif part == "link":
            self.component(Link).delay(FAULT_DELAY_S if down else 0.0)
        else:
            super().take_down(part, down, names)

    def engine_failures(self) -> dict[str, str]:
        return {name: why for c in self._components for name, why in c.failures().items()}

    def emulator_limits(self) -> list[str]:
        for component in self._components:  # a limit new to any goes after the older ones
            self._limits += [line for line in component.limits() if line not in self._limits]
        return list(self._limits)

    def usage(self) -> dict[str, float]:
        totals: Counter[str] = Counter()
        for component in self._components:
            totals.update(component.usage())
        return dict(totals)

    def cpu_seconds(self) -> dict[str, float]:
        """The emulator's processes (moto's, the Kafka broker) and this process (the local
        engines and the observers)."""
        processes = {name: pid for c in self._components for name, pid in c.processes().items()}
        processes[HARNESS_PROCESS] = os.getpid()
        used = {}
        for name, pid in processes.items():
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                used[name] = times.user + times.system
        return used

    def connector_plugin(self, name: str) -> Path:
        return placeholder_plugin(name, self.log_dir / "connector-plugins")

    def describe(self) -> dict[str, Any]:
        with psycopg.connect(self.source_dsn) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        moto = self.component(MotoServer)
        return {
            "name": self.name,
            "postgres": row[0] if row else "unknown",
            "moto": importlib.metadata.version("moto"),
            "aws_endpoint": moto.endpoint_url,
            "aws_endpoints": self.aws.endpoints,
            "moto_split": describe_split(moto.split),
            "kafka_bootstrap": self.component(KafkaBroker).bootstrap,
            "lambda_timing": self.settings.lambda_timing.model_dump(),
        }

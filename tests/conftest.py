"""Shared fixtures: a temp root every OS user can traverse, the local target, a bare
cloud (moto and Kafka without engines), and a column added to the source schema."""

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.aws import AwsAccess
from harness.load import schema
from harness.local.kafka_broker import KafkaBroker
from harness.local.moto_server import MotoServer
from harness.settings import Settings
from harness.targets import Target, make_target


@pytest.fixture(scope="session")
def shared_tmp() -> Iterator[Path]:
    """A temp root PostgreSQL's OS user can reach (pytest's own tmp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="cdcbench-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def local_target(shared_tmp: Path) -> Iterator[Target]:
    """One local target for the whole session (starting one costs a few seconds)."""
    with make_target("local", Settings(), shared_tmp / "session-target") as target:
        yield target


@dataclass(frozen=True)
class BareCloud:
    """moto (with its fixes) and the Kafka broker, with no local engines acting on them:
    for tests that drive one engine piece (a poller, a sink) by hand."""

    aws: AwsAccess
    kafka: KafkaBroker
    log_dir: Path


@pytest.fixture(scope="session")
def bare_cloud(shared_tmp: Path) -> Iterator[BareCloud]:
    log_dir = shared_tmp / "bare-cloud"
    log_dir.mkdir()
    kafka = KafkaBroker(log_dir)
    kafka.start()
    moto = MotoServer(log_dir, kafka_bootstrap=kafka.bootstrap)
    try:
        moto.start()
        credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        aws = AwsAccess("us-east-1", moto.endpoint_url, credentials, max_attempts=1)
        yield BareCloud(aws, kafka, log_dir)
    finally:
        moto.stop()
        kafka.stop()


ADDED = ("widgets", "colour", "text")
"""The column the tests add to the source mid-run: (table, column, SQL type)."""


@pytest.fixture
def added_column() -> Iterator[tuple[str, str, str]]:
    """Row images in this process read `ADDED` (as a run with that schema change does)."""
    schema.register_added(*ADDED)
    yield ADDED
    schema.forget_added()

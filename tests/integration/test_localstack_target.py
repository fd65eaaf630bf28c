"""The `localstack` target against a stand-in endpoint (moto in a second process answering
LocalStack's health probe from a recorded answer): the probe, its one-line failures, and the
routing of each service a pattern needs to the endpoint or to the embedded cloud, which runs
only the engines of what it serves and answers as the endpoint's account."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import pipeline
from harness.errors import UserError
from harness.local.dms.engine import DmsEngine
from harness.local.lambda_runtime.runtime import LambdaRuntime
from harness.local.moto_server import MotoServer
from harness.patterns import patterns
from harness.pipeline import pattern_services
from harness.scenario import load_scenario
from harness.settings import Settings
from harness.targets import TargetOptions, make_target, routing
from harness.targets.localstack import LocalStackTarget, probe
from tests.conftest import BareCloud
from tests.helpers import REPO
from tests.localstack_standin import ACCOUNT, HEALTH, standin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def endpoint(shared_tmp: Path) -> Iterator[str]:
    with standin(shared_tmp / "localstack-standin.log") as url:
        yield url


def test_the_probe_reads_what_the_endpoint_serves(endpoint: str) -> None:
    health = probe(endpoint)

    assert health["edition"] == "community"
    assert health["services"]["s3"] == "running"


def test_an_unreachable_endpoint_is_one_line() -> None:
    with pytest.raises(UserError, match=r"127\.0\.0\.1:9 is unreachable.*LOCALSTACK_ENDPOINT"):
        probe("http://127.0.0.1:9", timeout_s=2)


def test_an_endpoint_that_is_not_localstack_is_one_line(bare_cloud: BareCloud) -> None:
    assert bare_cloud.aws.endpoint_url
    with pytest.raises(UserError, match="is it LocalStack"):
        probe(bare_cloud.aws.endpoint_url)


def test_without_an_endpoint_or_a_docker_engine_it_says_what_to_set(
    shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("LOCALSTACK_ENDPOINT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    with (
        pytest.raises(UserError, match=r"no Docker engine.*LOCALSTACK_ENDPOINT"),
        make_target("localstack", Settings(), shared_tmp / "ls-no-endpoint"),
    ):
        pytest.fail("the target should not have started")


def test_each_service_goes_where_it_is_served_and_only_needed_engines_run(
    endpoint: str, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", endpoint)
    needs = pattern_services(patterns()["dms_s3_dynamodb"])
    options = TargetOptions(services=needs)

    with make_target("localstack", Settings(), shared_tmp / "ls-routing", options) as target:
        assert isinstance(target, LocalStackTarget)
        moto = target.component(MotoServer).endpoint_url
        aws = target.aws
        assert aws.endpoint("dms") == moto and aws.endpoint("ec2") == moto
        assert aws.endpoint("s3") == endpoint and aws.endpoint("dynamodb") == endpoint
        assert target.component(DmsEngine)
        with pytest.raises(LookupError):
            target.component(LambdaRuntime)  # LocalStack serves Lambda: it runs the functions
        assert aws.client("sts").get_caller_identity()["Account"] == ACCOUNT
        assert aws.client("dms").meta.endpoint_url == moto
        vpc = aws.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]
        assert vpc["OwnerId"] == ACCOUNT  # moto answers as the endpoint's account
        described = target.describe()
        assert described["services"]["dms"] == "embedded"
        assert described["services"]["s3"] == "localstack"
        assert described["localstack"]["endpoint"] == endpoint
        assert "Kinesis" in described["embedded_because"]["dms"]


def test_a_pattern_needing_a_service_served_nowhere_is_skipped_in_one_line(
    endpoint: str,
    shared_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", endpoint)
    # as if the embedded cloud did not serve DynamoDB, which `direct` needs and the health
    # answer below says LocalStack does not serve either
    monkeypatch.setattr(routing, "EMBEDDED", routing.EMBEDDED - {"dynamodb", "dynamodbstreams"})
    health = json.loads(HEALTH.read_text())
    health["services"]["dynamodb"] = health["services"]["dynamodbstreams"] = "disabled"
    (shared_tmp / "health-no-dynamodb.json").write_text(json.dumps(health))
    scenario = load_scenario(REPO / "scenarios" / "smoke.yaml")
    settings = Settings(reports_dir=shared_tmp / "skip-reports")

    with standin(shared_tmp / "standin-skip.log", shared_tmp / "health-no-dynamodb.json") as other:
        monkeypatch.setenv("LOCALSTACK_ENDPOINT", other)
        outcome = pipeline.run(scenario, "localstack", settings)

    direct = outcome.results.patterns["direct"]
    assert direct.status == "skipped" and direct.projections == {}
    assert direct.error == (
        "skipped on localstack: needs dynamodb, which neither the LocalStack endpoint nor the "
        "embedded cloud serves"
    )
    assert outcome.results.target["services"]["dynamodb"] == "nowhere"
    assert f"direct: {direct.error}\n" in capsys.readouterr().err  # one line

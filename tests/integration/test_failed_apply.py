"""An apply that fails halfway (a resource the pattern creates already exists) destroys what
it had created before the failure, on the local target and on the LocalStack target's split
endpoints alike: nothing tagged with the run id is left, and the state is empty."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.aws import AwsAccess
from harness.patterns import patterns
from harness.pipeline import pattern_services
from harness.settings import Settings
from harness.targets import Target, TargetOptions, make_target
from harness.terraform import Deployment, TerraformError
from tests.localstack_standin import standin

pytestmark = pytest.mark.slow
PATTERN = "sqs_lambda_eventstore"


@pytest.fixture(scope="module", params=["local", "localstack"])
def target(
    request: pytest.FixtureRequest, local_target: Target, shared_tmp: Path
) -> Iterator[Target]:
    if request.param == "local":
        yield local_target
        return
    needs = pattern_services(patterns()[PATTERN])
    with standin(shared_tmp / "failed-apply-standin.log") as endpoint:
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.setenv("LOCALSTACK_ENDPOINT", endpoint)
        try:
            options = TargetOptions(services=needs)
            log_dir = shared_tmp / "failed-apply-localstack"
            with make_target("localstack", Settings(), log_dir, options) as split:
                yield split
        finally:
            monkeypatch.undo()


def tagged(aws: AwsAccess, run_id: str) -> list[str]:
    """ARNs of what carries the run id's tag on every endpoint the access reaches."""
    endpoints = {aws.endpoint(s) for s in ("sqs", "lambda", "dynamodb", "iam", "logs")}
    found = []
    for endpoint in endpoints:
        api = AwsAccess(aws.region, endpoint, aws.credentials)
        pages = api.client("resourcegroupstaggingapi").get_paginator("get_resources")
        for page in pages.paginate(TagFilters=[{"Key": "cdcbench:run-id", "Values": [run_id]}]):
            found += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    return found


def test_an_apply_failing_halfway_destroys_what_it_created(target: Target, tmp_path: Path) -> None:
    run_id = f"halfway-{target.name}"
    dynamodb = target.aws.client("dynamodb")
    taken = f"cdcbench-{run_id}-evstore-event"  # the event table's name
    dynamodb.create_table(
        TableName=taken,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    pattern = patterns()[PATTERN]
    provided = pattern.provided_values(run_id, target.source_dsn, target.connector_plugin)
    deployment = Deployment(PATTERN, tmp_path / "work", target.aws.env(), provided, Settings())
    created: list[str] = []

    try:
        with (
            pytest.raises(TerraformError, match=r"already exists|in use|ResourceInUse"),
            deployment,
        ):
            pytest.fail("the apply should have failed")
        log = (tmp_path / "work" / "logs" / "apply.log").read_text()
        created = [line for line in log.splitlines() if "Creation complete" in line]
        assert created, "the apply failed before it created anything: not halfway"
        assert deployment.state_resources() == []
        assert tagged(target.aws, run_id) == []
    finally:
        dynamodb.delete_table(TableName=taken)

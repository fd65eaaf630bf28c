"""`lambda_errors` and `lambda_timeouts` where the target has no control of its own over
functions (AWS): an AWS FIS experiment through FIS's Lambda extension, with moto standing in
for FIS, Lambda and IAM. The experiment's template goes at once, its action lasts the fault,
and the fault's end stops it."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from harness.aws import AwsAccess
from harness.nemesis import FaultSpec, Nemesis
from harness.nemesis.faults import FIS_VARIABLE, KINDS
from harness.nemesis.fis import CONFIGURATION_VARIABLE
from tests.conftest import BareCloud
from tests.lambda_support import create_function, trust

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:aws-fis-extension-x86_64:9"
BUCKET = "cdcbench-fis-test-fis"


class FisTarget:
    """A target like AWS: no control of its own over functions, FIS's extension on them."""

    def __init__(self, aws: AwsAccess) -> None:
        self.aws = aws

    def cannot_take_down(self, part: str) -> str | None:
        return f"no control over its {part}"

    def fis_lambda_extension(self) -> str | None:
        return LAYER


@pytest.fixture(scope="module")
def experiments_progress_every_third_look(bare_cloud: BareCloud) -> Iterator[None]:
    """moto moves each FIS experiment on a state every third GetExperiment (pending,
    initiating, running, then completed unless stopped), as FIS takes its time: by count,
    not by the clock, so a busy machine changes nothing."""
    api = f"{bare_cloud.aws.endpoint_url}/moto-api/state-manager"
    model = {"model_name": "fis::experiment"}
    transition = {**model, "transition": {"progression": "manual", "times": 3}}
    requests.post(f"{api}/set-transition", data=json.dumps(transition), timeout=10)
    yield
    requests.post(f"{api}/unset-transition", data=json.dumps(model), timeout=10)


@pytest.fixture(scope="module")
def functions(bare_cloud: BareCloud) -> list[str]:
    """Two functions carrying FIS's extension, reading faults from BUCKET, and the
    experiments' role named as the bucket."""
    iam = bare_cloud.aws.client("iam")
    iam.create_role(
        RoleName=BUCKET,
        AssumeRolePolicyDocument=json.dumps(trust({"Service": "fis.amazonaws.com"})),
    )
    location = {CONFIGURATION_VARIABLE: f"arn:aws:s3:::{BUCKET}/FisConfigs/"}
    names = ["cdcbench-fis-test-a", "cdcbench-fis-test-b"]
    for name in names:
        create_function(bare_cloud.aws, name, "def handler(event, context):\n    pass\n", location)
    return names


def run_fault(kind: str, names: list[str], target: FisTarget) -> Any:
    """Its record, once the fault (`kind` on `names` for 0.1 s) has ended."""
    spec = FaultSpec(kind=kind, at_s=0, duration_s=0.1)
    with Nemesis([spec], state_of(names), target) as nemesis:  # type: ignore[arg-type]
        nemesis.begin()
        (record,) = nemesis.records
        deadline = time.monotonic() + 30
        while record.ended_ns is None and time.monotonic() < deadline:
            time.sleep(0.05)
    return record


def state_of(names: list[str]) -> dict[str, Any]:
    instances = [{"attributes": {"function_name": n}} for n in names]
    return {
        "resources": [{"mode": "managed", "type": "aws_lambda_function", "instances": instances}]
    }


@pytest.mark.parametrize(
    ("kind", "action_id", "parameters"),
    [
        ("lambda_errors", "aws:lambda:invocation-error", {"preventExecution": "true"}),
        # past the functions' 3 s timeout
        (
            "lambda_timeouts",
            "aws:lambda:invocation-add-delay",
            {"startupDelayMilliseconds": "4000"},
        ),
    ],
)
def test_a_fault_is_one_fis_experiment_lasting_it_and_stopped_at_its_end(
    kind: str,
    action_id: str,
    parameters: dict[str, str],
    bare_cloud: BareCloud,
    functions: list[str],
    experiments_progress_every_third_look: None,
) -> None:
    fis = bare_cloud.aws.client("fis")
    before = {e["id"] for e in fis.list_experiments()["experiments"]}

    record = run_fault(kind, functions, FisTarget(bare_cloud.aws))

    assert record.error is None, record.error
    (new,) = [e["id"] for e in fis.list_experiments()["experiments"] if e["id"] not in before]
    experiment = fis.get_experiment(id=new)["experiment"]
    assert experiment["state"]["status"] == "stopped"  # ended by the fault, not by its time
    (action,) = experiment["actions"].values()
    assert action["actionId"] == action_id
    assert action["parameters"] == {
        "duration": "PT1M",
        "invocationPercentage": "100",
        **parameters,
    }
    arns = [
        bare_cloud.aws.client("lambda").get_function(FunctionName=n)["Configuration"]["FunctionArn"]
        for n in functions
    ]
    (targets,) = experiment["targets"].values()
    assert targets["resourceType"] == "aws:lambda:function"
    assert sorted(targets["resourceArns"]) == sorted(arns)
    role = bare_cloud.aws.client("iam").get_role(RoleName=BUCKET)["Role"]["Arn"]
    assert experiment["roleArn"] == role
    assert fis.list_experiment_templates()["experimentTemplates"] == []  # nothing left


def test_a_function_without_the_extension_is_a_failed_start_naming_it(
    bare_cloud: BareCloud,
) -> None:
    name = "cdcbench-fis-test-bare"
    create_function(bare_cloud.aws, name, "def handler(event, context):\n    pass\n")

    record = run_fault("lambda_errors", [name], FisTarget(bare_cloud.aws))

    assert record.error is not None
    assert f"function {name} carries no AWS FIS Lambda extension" in record.error


@pytest.mark.parametrize("kind", ["lambda_errors", "lambda_timeouts"])
def test_on_such_a_target_the_deployment_carries_the_extension(
    kind: str, bare_cloud: BareCloud
) -> None:
    target = FisTarget(bare_cloud.aws)

    assert KINDS[kind].unavailable(target) is None  # type: ignore[arg-type]
    assert KINDS[kind].deployment(target) == {FIS_VARIABLE: {"layer_arn": LAYER}}  # type: ignore[arg-type]

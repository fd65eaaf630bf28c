"""IAM's policy simulator through moto's server (the bare cloud, with the fix that adds
SimulatePrincipalPolicy): the preflight's `missing_actions` finds exactly what a principal's
policies deny or leave out, and nothing for a role holding policy/cdcbench-aws.json, for
every Terraform type the patterns use and everything the harness calls; the answer has the
shape of AWS's IAM Query API."""

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from harness.targets.permissions import (
    ACTIONS_BY_TYPE,
    KEY_ACTIONS,
    RUN_ACTIONS,
    load_policy,
    missing_actions,
    principal_for,
    required_actions,
)
from tests.conftest import BareCloud
from tests.helpers import unique
from tests.lambda_support import trust

pytestmark = pytest.mark.slow

TRUST = trust({"AWS": "arn:aws:iam::123456789012:root"})
DYNAMODB_BUT_DELETE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Tables", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Sid": "KeepTables", "Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
    ],
}


@pytest.fixture
def iam(bare_cloud: BareCloud) -> Any:
    return bare_cloud.aws.client("iam")


@pytest.fixture
def user(iam: Any) -> Iterator[str]:
    """A user whose inline policy allows DynamoDB, but deleting tables."""
    name = unique("simulated-user")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(
        UserName=name, PolicyName="dynamodb", PolicyDocument=json.dumps(DYNAMODB_BUT_DELETE)
    )
    try:
        yield arn
    finally:
        iam.delete_user_policy(UserName=name, PolicyName="dynamodb")
        iam.delete_user(UserName=name)


@pytest.fixture
def deployer(iam: Any) -> Iterator[str]:
    """A role with the project's policy attached (a managed policy, as users attach it)."""
    name = unique("cdcbench-deployer")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(load_policy()))
    arn = policy["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    try:
        yield role["Arn"]
    finally:
        iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)
        iam.delete_role(RoleName=name)


def test_the_denied_and_the_unlisted_actions_are_missing(iam: Any, user: str) -> None:
    actions = ["dynamodb:PutItem", "dynamodb:DeleteTable", "s3:GetObject", "dynamodb:Scan"]
    assert missing_actions(iam, user, actions) == ["dynamodb:DeleteTable", "s3:GetObject"]
    decisions = {
        r["EvalActionName"]: r["EvalDecision"]
        for r in iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=actions)[
            "EvaluationResults"
        ]
    }
    assert decisions == {
        "dynamodb:PutItem": "allowed",
        "dynamodb:DeleteTable": "explicitDeny",
        "s3:GetObject": "implicitDeny",
        "dynamodb:Scan": "allowed",
    }


def test_the_projects_policy_allows_everything_the_patterns_and_the_harness_need(
    bare_cloud: BareCloud, iam: Any, deployer: str
) -> None:
    actions = sorted({*required_actions(ACTIONS_BY_TYPE, customer_managed_key=True), *RUN_ACTIONS})
    assert len(actions) > 200
    assert missing_actions(iam, deployer, actions) == []
    # the preflight's way there: the caller's assumed-role session names the role
    session = bare_cloud.aws.client("sts").assume_role(RoleArn=deployer, RoleSessionName="ci")
    assert principal_for(session["AssumedRoleUser"]["Arn"]) == deployer
    # a conditioned action is allowed only in the contexts its condition names
    assert missing_actions(iam, deployer, ["iam:PassRole"], contexts={}) == ["iam:PassRole"]
    assert KEY_ACTIONS[0] in actions


def test_the_answer_has_aws_shape_and_pages(iam: Any, user: str) -> None:
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    iam.meta.events.register("after-call.iam.SimulatePrincipalPolicy", keep)
    try:
        actions = [f"dynamodb:Action{i}" for i in range(5)]
        pages = list(
            iam.get_paginator("simulate_principal_policy").paginate(
                PolicySourceArn=user, ActionNames=actions, PaginationConfig={"PageSize": 2}
            )
        )
    finally:
        iam.meta.events.unregister("after-call.iam.SimulatePrincipalPolicy", keep)
    assert [len(p["EvaluationResults"]) for p in pages] == [2, 2, 1]
    assert [r["EvalActionName"] for p in pages for r in p["EvaluationResults"]] == actions
    root = ET.fromstring(bodies[0])
    ns = {"iam": root.tag.partition("}")[0].lstrip("{")}
    assert root.tag.endswith("SimulatePrincipalPolicyResponse")
    result = root.find("iam:SimulatePrincipalPolicyResult", ns)
    assert result is not None
    member = result.find("iam:EvaluationResults/iam:member", ns)
    assert member is not None
    assert member.findtext("iam:EvalActionName", namespaces=ns) == "dynamodb:Action0"
    assert member.findtext("iam:EvalResourceName", namespaces=ns) == "*"
    assert member.findtext("iam:EvalDecision", namespaces=ns) == "allowed"
    assert result.findtext("iam:IsTruncated", namespaces=ns) == "true"
    assert result.findtext("iam:Marker", namespaces=ns)


def test_an_unknown_principal_is_no_such_entity(iam: Any) -> None:
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        missing_actions(iam, "arn:aws:iam::123456789012:role/no-such-role", ["s3:GetObject"])

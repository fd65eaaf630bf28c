"""The permissions `--target aws` needs: every Terraform type the repository uses has its
actions, the policy document allows every action the patterns and the harness need (and a
conditioned one only in the contexts it is needed in), stays within IAM's size limit for a
managed policy, and grants nothing nobody needs; the caller's principal, and the simulator
calls that check it (batched, one per context where a condition decides)."""

import json
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import pytest

from harness.targets import permissions
from harness.targets.permissions import (
    ACTION_CONTEXTS,
    ACTIONS_BY_TYPE,
    KEY_ACTIONS,
    POLICY_PATH,
    PROVIDER_ACTIONS,
    RUN_ACTIONS,
    SIMULATION_BATCH,
    ContextEntry,
    load_policy,
    missing_actions,
    principal_for,
    required_actions,
)
from tests.helpers import REPO, stubbed_client

_DECLARED = re.compile(r'^\s*(resource|data)\s+"(aws_[a-z0-9_]+)"', re.MULTILINE)
MANAGED_POLICY_LIMIT = 6144
"""IAM's limit on a managed policy document, in characters other than whitespace."""


def terraform_types() -> set[str]:
    """Every AWS resource type (and `data.<type>`) the repository's Terraform declares."""
    found = set()
    for path in (REPO / "terraform").rglob("*.tf"):
        for kind, name in _DECLARED.findall(path.read_text()):
            found.add(name if kind == "resource" else f"data.{name}")
    return found


def needed() -> set[str]:
    """Every action anything in the harness needs."""
    every = {a for actions in ACTIONS_BY_TYPE.values() for a in actions}
    return every | set(RUN_ACTIONS) | set(KEY_ACTIONS) | set(PROVIDER_ACTIONS)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(
    condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]
) -> bool:
    for operator, tests in condition.items():
        assert operator in ("StringEquals", "Bool"), f"this check does not model {operator}"
        for key, expected in tests.items():
            if context.get(key) not in [
                str(e).lower() if operator == "Bool" else e for e in _listed(expected)
            ]:
                return False
    return True


def allows(
    policy: Mapping[str, Any], action: str, context: Mapping[str, str] | None = None
) -> bool:
    """Whether `policy` allows `action` on "*" in `context`: wildcards in Action and
    Resource, case-insensitive action names, conditions, and an applying Deny wins."""
    allowed = False
    for statement in policy["Statement"]:
        assert "NotAction" not in statement and "NotResource" not in statement
        if not any(fnmatchcase(action.lower(), p.lower()) for p in _listed(statement["Action"])):
            continue
        if not any(fnmatchcase("*", r) for r in _listed(statement["Resource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), context or {}):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def test_every_terraform_type_in_the_repository_has_its_actions() -> None:
    declared = terraform_types()
    assert "aws_mskconnect_connector" in declared and "data.aws_subnet" in declared
    unknown = sorted(declared - set(ACTIONS_BY_TYPE))
    assert not unknown, f"add these Terraform types to ACTIONS_BY_TYPE and the policy: {unknown}"


def test_actions_are_named_as_iam_names_them() -> None:
    for action in needed():
        assert re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", action), action
    assert list(RUN_ACTIONS) == sorted(set(RUN_ACTIONS))


def test_the_policy_allows_every_action_needed() -> None:
    policy = load_policy()
    refused = [
        action
        for action in sorted(needed())
        if not all(
            allows(policy, action, {c.key: c.value for c in context})
            for context in _contexts(action)
        )
    ]
    assert not refused, f"{POLICY_PATH.name} does not allow {refused}"


def _contexts(action: str) -> tuple[tuple[ContextEntry, ...], ...]:
    return tuple((c,) for c in ACTION_CONTEXTS.get(action, ())) or ((),)


def test_conditioned_actions_are_allowed_only_in_their_contexts() -> None:
    policy = load_policy()
    for action in ACTION_CONTEXTS:
        assert not allows(policy, action), f"{action} is allowed whatever the context"
    assert allows(policy, "iam:PassRole", {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allows(policy, "iam:PassRole", {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(
        policy, "iam:CreateServiceLinkedRole", {"iam:AWSServiceName": "ec2.amazonaws.com"}
    )
    assert not allows(policy, "kms:CreateGrant", {"kms:GrantIsForAWSResource": "false"})


def test_the_policy_is_a_managed_policy_grouped_by_service() -> None:
    text = POLICY_PATH.read_text()
    policy = json.loads(text)
    assert policy == load_policy()
    assert policy["Version"] == "2012-10-17"
    assert len(re.sub(r"\s", "", text)) <= MANAGED_POLICY_LIMIT
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = _listed(statement["Action"])
        assert len({a.split(":")[0] for a in actions}) == 1, statement["Sid"]
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{action}: too broad"
            if action.split(":")[0] in ("iam", "kms", "sts"):
                assert "*" not in action, f"{action}: IAM, KMS and STS actions are named"


def test_the_policy_grants_nothing_nobody_needs() -> None:
    wanted = {a.lower() for a in needed()}
    unused = [
        pattern
        for statement in load_policy()["Statement"]
        for pattern in _listed(statement["Action"])
        if not any(fnmatchcase(a, pattern.lower()) for a in wanted)
    ]
    assert not unused, f"granted but needed by nothing: {unused}"


def test_required_actions_are_sorted_distinct_and_the_providers_own() -> None:
    actions = required_actions(["aws_lambda_function", "aws_iam_role", "aws_iam_role_policy"])
    assert actions == sorted(set(actions))
    assert {"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction"} <= set(actions)
    assert {"iam:CreateRole", "iam:DeleteRole", "iam:PassRole", "iam:PutRolePolicy"} <= set(actions)
    assert set(PROVIDER_ACTIONS) <= set(actions)
    assert required_actions([]) == sorted(PROVIDER_ACTIONS)
    assert not set(KEY_ACTIONS) & set(actions)
    keyed = required_actions(["aws_dynamodb_table"], customer_managed_key=True)
    assert set(KEY_ACTIONS) <= set(keyed)


def test_an_unknown_type_is_refused_by_name() -> None:
    with pytest.raises(KeyError) as refused:
        required_actions(["aws_sqs_queue", "aws_new_thing"])
    assert "aws_new_thing" in str(refused.value)


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/Deployer/session-1",
            "arn:aws:iam::123456789012:role/Deployer",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/jane@example.com",
            "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123",
        ),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/Deployer/ci",
            "arn:aws-us-gov:iam::123456789012:role/Deployer",
        ),
        (
            "arn:aws:iam::123456789012:user/ci/deployer",
            "arn:aws:iam::123456789012:user/ci/deployer",
        ),
        ("arn:aws:iam::123456789012:role/Deployer", "arn:aws:iam::123456789012:role/Deployer"),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
    ],
)
def test_the_principal_of_a_caller(caller: str, principal: str) -> None:
    assert principal_for(caller) == principal


def test_a_roles_path_is_read_from_iam_when_a_client_is_given() -> None:
    arn = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"
    with stubbed_client("iam") as (iam, stubber):
        role = {
            "Path": "/aws-reserved/sso.amazonaws.com/",
            "RoleName": "AWSReservedSSO_Admin_0123",
            "RoleId": "AROAEXAMPLEEXAMPLE123",
            "Arn": arn,
            "CreateDate": "2024-01-01T00:00:00Z",
        }
        stubber.add_response("get_role", {"Role": role}, {"RoleName": "AWSReservedSSO_Admin_0123"})
        caller = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/jane"
        assert principal_for(caller, iam) == arn


def _results(actions: list[str], denied: set[str]) -> list[dict[str, str]]:
    return [
        {
            "EvalActionName": a,
            "EvalResourceName": "*",
            "EvalDecision": "implicitDeny" if a in denied else "allowed",
        }
        for a in actions
    ]


def test_the_simulation_is_batched_paged_and_run_per_context() -> None:
    principal = "arn:aws:iam::123456789012:role/Deployer"
    plain = [f"dynamodb:Action{i:03d}" for i in range(SIMULATION_BATCH + 20)]
    first, second = plain[:SIMULATION_BATCH], plain[SIMULATION_BATCH:]
    passed_to = ACTION_CONTEXTS["iam:PassRole"]
    with stubbed_client("iam") as (iam, stubber):
        request = {"PolicySourceArn": principal, "ActionNames": first}
        page_one = {
            "EvaluationResults": _results(first[:60], set()),
            "IsTruncated": True,
            "Marker": "60",
        }
        stubber.add_response("simulate_principal_policy", page_one, request)
        page_two = {"EvaluationResults": _results(first[60:], {first[70]}), "IsTruncated": False}
        stubber.add_response("simulate_principal_policy", page_two, {**request, "Marker": "60"})
        stubber.add_response(
            "simulate_principal_policy",
            {"EvaluationResults": _results(second[:-1], set()), "IsTruncated": False},
            {"PolicySourceArn": principal, "ActionNames": second},
        )
        for context in passed_to:
            denied = {"iam:PassRole"} if context.value == "firehose.amazonaws.com" else set()
            stubber.add_response(
                "simulate_principal_policy",
                {"EvaluationResults": _results(["iam:PassRole"], denied), "IsTruncated": False},
                {
                    "PolicySourceArn": principal,
                    "ActionNames": ["iam:PassRole"],
                    "ContextEntries": [context.entry()],
                },
            )
        missing = missing_actions(iam, principal, [*reversed(plain), "iam:PassRole", plain[0]])
    # denied; never answered; denied in one of its contexts
    assert missing == sorted([first[70], second[-1], "iam:PassRole"])


def test_the_policy_path_is_in_the_repository() -> None:
    assert POLICY_PATH == REPO / "policy" / "cdcbench-aws.json"
    assert permissions.POLICY_PATH.is_file()

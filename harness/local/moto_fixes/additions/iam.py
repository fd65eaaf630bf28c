"""IAM: SimulatePrincipalPolicy, which moto lacks (its server answers HTTP 500, "The
simulate_principal_policy action has not been implemented"). The permissions preflight of
`--target aws` simulates the caller's policies with it; here it answers from moto's own IAM.

What is simulated, as AWS's policy simulator does for a principal's identity policies:
- the policies: a user's inline and attached managed policies and those of its groups; a
  role's inline and attached policies, capped by its permissions boundary; a group's own;
  plus any `PolicyInputList` documents. Resource policies, SCPs, `CallerArn` and
  `ResourceHandlingOption` are not modelled (nor are they on an account without them);
- each action in `ActionNames` against each ARN in `ResourceArns` ("*" when none is given),
  one result each. Actions match case-insensitively, resources as written, both with
  moto's own matcher (`moto.iam.access_control.IAMPolicyStatement`, which moto's access
  control uses); `NotAction` and `NotResource` invert the match;
- conditions against `ContextEntries`. A key that is not given fails its condition (the
  statement does not apply) and is listed in `MissingContextValues`, unless the operator
  ends in `IfExists`, is `Null`, or is a `ForAllValues:` one. Operators: String*, Arn*,
  Bool, Numeric* (with their `Not`, `IgnoreCase` and `IfExists` forms, `ForAnyValue:` and
  `ForAllValues:`); any other (Date*, IpAddress, Binary) fails its condition. moto's own
  evaluator is not used for conditions: it knows StringEquals only, passes a condition
  whose key is missing, and turns an Allow whose condition fails into a deny;
- the decision: an applying Deny is `explicitDeny` (it wins); else an applying Allow (in
  the boundary too, when there is one) is `allowed`; else `implicitDeny`.

The answer has AWS's shape (moto serialises it from botocore's IAM model): under
`SimulatePrincipalPolicyResult`, `EvaluationResults/member/{EvalActionName,
EvalResourceName, EvalDecision, MissingContextValues}`, `IsTruncated`, and `Marker` while
it is. Pages hold `MaxItems` results (100 by default, as on AWS); the marker is the index
of the next result. A source ARN naming no user, group or role is `NoSuchEntity`.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.local.moto_fixes.guard import BotocoreShape, fix

_DEFAULT_PAGE = 100
_PRINCIPAL = re.compile(r"^arn:[^:]+:iam::\d{12}:(user|group|role)/.+$")
ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"


# ---- conditions --------------------------------------------------------------------------


def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern (`*` any run, `?` one character) as a regex."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def matches(given: str, expected: str) -> bool:
        a, b = _number(given), _number(expected)
        return a is not None and b is not None and compare(a, b)

    return matches


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda given, expected: given == expected,
    "StringEqualsIgnoreCase": lambda given, expected: given.lower() == expected.lower(),
    "StringLike": lambda given, expected: bool(_glob(expected).fullmatch(given)),
    # ArnEquals and ArnLike behave alike on AWS: both take wildcards.
    "ArnEquals": lambda given, expected: bool(_glob(expected).fullmatch(given)),
    "ArnLike": lambda given, expected: bool(_glob(expected).fullmatch(given)),
    "Bool": lambda given, expected: given.lower() == expected.lower(),
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _as_strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _condition_holds(
    operator: str, key: str, expected: Any, context: Mapping[str, list[str]], missing: set[str]
) -> bool:
    """Whether one operator's test of one key holds; a key absent from `context` that
    decides the outcome is added to `missing`."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    wanted = _as_strings(expected)
    given = context.get(key.lower())
    if name == "Null":
        return (given is None) == (wanted[0].lower() == "true")
    if given is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        missing.add(key)
        return False
    negated = name in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(name, name))
    if matcher is None:
        return False  # an operator not modelled here: the statement does not apply

    def one(value: str) -> bool:
        return any(matcher(value, e) for e in wanted) != negated

    if qualifier == "ForAllValues":
        return all(one(value) for value in given)
    if negated and qualifier != "ForAnyValue":
        return all(one(value) for value in given)
    return any(one(value) for value in given)


def _conditions_hold(
    statement: Mapping[str, Any], context: Mapping[str, list[str]], missing: set[str]
) -> bool:
    results = [
        _condition_holds(operator, key, expected, context, missing)
        for operator, tests in (statement.get("Condition") or {}).items()
        for key, expected in tests.items()
    ]
    return all(results)


# ---- statements --------------------------------------------------------------------------


def _lowered(value: Any) -> Any:
    return [v.lower() for v in value] if isinstance(value, list) else str(value).lower()


def _matches(statement: Mapping[str, Any], element: str, value: str) -> bool:
    """moto's own match of `value` against a statement's Action or Resource (or their Not
    forms, inverted); a statement with neither resource element matches any resource."""
    from moto.iam.access_control import IAMPolicyStatement

    if element == "Action":
        value = value.lower()
        statement = {k: _lowered(v) for k, v in statement.items() if k in ("Action", "NotAction")}
    not_element = f"Not{element}"
    if element in statement:
        return IAMPolicyStatement(statement)._check_element_matches(element, value)
    if not_element in statement:
        return not IAMPolicyStatement(statement)._check_element_matches(not_element, value)
    return element == "Resource"


def statements_of(policies: Iterable[Any]) -> list[dict[str, Any]]:
    """The statements of policies as moto holds them (managed policy objects, inline
    documents as JSON strings), read by moto's own `IAMPolicy`."""
    from moto.iam.access_control import IAMPolicy

    found: list[dict[str, Any]] = []
    for policy in policies:
        statement = IAMPolicy(policy)._policy_json.get("Statement", [])
        found += statement if isinstance(statement, list) else [statement]
    return found


def decide(
    statements: list[dict[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
    missing: set[str],
) -> str:
    """allowed, explicitDeny or implicitDeny of `action` on `resource` under `statements`."""
    allowed = False
    for statement in statements:
        if not (
            _matches(statement, "Action", action) and _matches(statement, "Resource", resource)
        ):
            continue
        if not _conditions_hold(statement, context, missing):
            continue
        if statement.get("Effect") == "Deny":
            return EXPLICIT_DENY
        allowed = allowed or statement.get("Effect") == "Allow"
    return ALLOWED if allowed else IMPLICIT_DENY


# ---- the principal -----------------------------------------------------------------------


def principal_policies(backend: Any, arn: str) -> tuple[list[Any], list[Any] | None]:
    """(the policies of the user, group or role `arn` names, its permissions boundary's or
    None); NoSuchEntity when it names none, InvalidInput when it is no such ARN."""
    from moto.iam.exceptions import InvalidInput, NoSuchEntity

    if not _PRINCIPAL.match(arn or ""):
        raise InvalidInput(f"Invalid ARN {arn}: expected a user, group or role ARN.")

    def own(entity: Any) -> list[Any]:
        return [*entity.policies.values(), *entity.managed_policies.values()]

    for user in backend.users.values():
        if user.arn == arn:
            groups = backend.get_groups_for_user(user.name)
            return own(user) + [p for group in groups for p in own(group)], None
    for group in backend.groups.values():
        if group.arn == arn:
            return own(group), None
    for role in backend.get_roles():
        if role.arn == arn:
            boundary = backend.managed_policies.get(role.permissions_boundary_arn or "")
            return own(role), None if boundary is None else [boundary]
    raise NoSuchEntity(f"The entity {arn} cannot be found.")


def _context(entries: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    return {
        str(entry["ContextKeyName"]).lower(): [str(v) for v in entry.get("ContextKeyValues", [])]
        for entry in entries or []
    }


def simulate(
    policies: list[Any],
    boundary: list[Any] | None,
    actions: list[str],
    resources: list[str],
    context: Mapping[str, list[str]],
) -> list[dict[str, Any]]:
    """One evaluation result per action and resource, in that order."""
    statements = statements_of(policies)
    limits = None if boundary is None else statements_of(boundary)
    results = []
    for action in actions:
        for resource in resources:
            missing: set[str] = set()
            decision = decide(statements, action, resource, context, missing)
            if decision == ALLOWED and limits is not None:
                decision = decide(limits, action, resource, context, missing)
                decision = ALLOWED if decision == ALLOWED else IMPLICIT_DENY
            results.append(
                {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": decision,
                    "MatchedStatements": [],
                    "MissingContextValues": sorted(missing),
                }
            )
    return results


@fix(
    "moto.iam.responses.IamResponse",
    "moto.iam.responses.IamResponse.backend",
    "moto.iam.access_control.IAMPolicy",
    "moto.iam.access_control.IAMPolicy()._policy_json",
    "moto.iam.access_control.IAMPolicyStatement._check_element_matches",
    "moto.iam.models.IAMBackend().users",
    "moto.iam.models.IAMBackend().groups",
    "moto.iam.models.IAMBackend().managed_policies",
    "moto.iam.models.IAMBackend.get_roles",
    "moto.iam.models.IAMBackend.get_groups_for_user",
    "moto.iam.models.User().policies",
    "moto.iam.models.User().managed_policies",
    "moto.iam.models.Group().policies",
    "moto.iam.models.Group().managed_policies",
    "moto.iam.models.Role().policies",
    "moto.iam.models.Role().managed_policies",
    "moto.iam.models.Role().permissions_boundary_arn",
    "moto.iam.exceptions.InvalidInput",
    "moto.iam.exceptions.NoSuchEntity",
    BotocoreShape("iam", "SimulatePolicyResponse"),
)
def simulate_principal_policy() -> None:
    # Not in moto at all (HTTP 500): added to moto's IAM responses, answered from its IAM.
    from moto.core.responses import ActionResult
    from moto.iam import responses
    from moto.iam.exceptions import InvalidInput

    def simulate_principal_policy(self: Any) -> ActionResult:
        policies, boundary = principal_policies(self.backend, self._get_param("PolicySourceArn"))
        policies += list(self._get_param("PolicyInputList") or [])
        results = simulate(
            policies,
            boundary,
            list(self._get_param("ActionNames") or []),
            list(self._get_param("ResourceArns") or ["*"]),
            _context(self._get_param("ContextEntries")),
        )
        marker = self._get_param("Marker")
        if marker is not None and not (str(marker).isdigit() and int(marker) <= len(results)):
            raise InvalidInput(f"Invalid Marker: {marker}")
        start = int(marker or 0)
        end = start + int(self._get_param("MaxItems") or _DEFAULT_PAGE)
        truncated = end < len(results)
        answer: dict[str, Any] = {"EvaluationResults": results[start:end], "IsTruncated": truncated}
        if truncated:
            answer["Marker"] = str(end)
        return ActionResult(answer)

    responses.IamResponse.simulate_principal_policy = simulate_principal_policy

"""AWS FIS experiments, for the fault kinds FIS has an action for, on the `aws` target.

A fault is one experiment: a template made for it, the experiment started from it, and the
template deleted at once (FIS documents that a running experiment carries on without it), so
nothing is left to clean up. Its action lasts the fault's duration (rounded up to whole
minutes, the granularity FIS's examples use), so an experiment ends by itself even if the
harness dies mid-fault; at the fault's end one still running is stopped.

FIS's Lambda actions act through its Lambda extension on each function: the layer, and
`AWS_FIS_CONFIGURATION_LOCATION` naming the S3 prefix where an experiment writes the
functions' fault configuration (terraform/modules/lambda_fault_injection). That module names
the experiments' role as the bucket, which is how the role is found here. Written by hand:
these are the few FIS calls a fault makes, with no library around them.
"""

import math
import uuid
from typing import Any

from harness.aws import AwsAccess
from harness.nemesis.waiting import await_none

CONFIGURATION_VARIABLE = "AWS_FIS_CONFIGURATION_LOCATION"
"""The function environment variable naming where FIS's Lambda extension reads faults."""

_UNDER_WAY = ("pending", "initiating", "running")
_OVER = ("completed", "stopped", "failed", "cancelled")


def lambda_invocation_errors(aws: AwsAccess, functions: list[str], duration_s: float) -> str:
    """Every invocation of `functions` fails without running (aws:lambda:invocation-error
    with preventExecution) for `duration_s`; the experiment's id once it runs."""
    arns, role, _ = _extended(aws, functions)
    parameters = {"invocationPercentage": "100", "preventExecution": "true"}
    return _on_functions(aws, "aws:lambda:invocation-error", parameters, arns, role, duration_s)


def lambda_invocation_timeouts(aws: AwsAccess, functions: list[str], duration_s: float) -> str:
    """Every invocation of `functions` waits past its timeout before its handler would run
    (aws:lambda:invocation-add-delay, a startup delay a second longer than the longest
    timeout, within FIS's 15 minutes) for `duration_s`; the experiment's id once it runs."""
    arns, role, timeout_s = _extended(aws, functions)
    delay_ms = min(int(timeout_s + 1) * 1000, MAX_DELAY_MS)
    parameters = {"invocationPercentage": "100", "startupDelayMilliseconds": str(delay_ms)}
    return _on_functions(aws, "aws:lambda:invocation-add-delay", parameters, arns, role, duration_s)


MAX_DELAY_MS = 900_000
"""The longest startup delay taken here: Lambda's longest timeout (15 minutes)."""


def _extended(aws: AwsAccess, functions: list[str]) -> tuple[list[str], str, float]:
    """The ARNs of `functions`, the role their experiments run as (named as the bucket their
    extension reads), and their longest timeout. RuntimeError when one carries no FIS
    extension."""
    lambda_ = aws.client("lambda")
    arns, buckets, timeouts = [], set(), []
    for name in functions:
        config = lambda_.get_function_configuration(FunctionName=name)
        location = config.get("Environment", {}).get("Variables", {}).get(CONFIGURATION_VARIABLE)
        if not location:
            raise RuntimeError(
                f"function {name} carries no AWS FIS Lambda extension ({CONFIGURATION_VARIABLE} "
                "unset): deploy it with the lambda_fault_injection variable"
            )
        arns.append(config["FunctionArn"])
        buckets.add(location.split(":::", 1)[-1].split("/", 1)[0])
        timeouts.append(float(config.get("Timeout", 3)))
    role = aws.client("iam").get_role(RoleName=buckets.pop())["Role"]["Arn"]
    return arns, str(role), max(timeouts)


def _on_functions(
    aws: AwsAccess,
    action_id: str,
    parameters: dict[str, str],
    arns: list[str],
    role: str,
    duration_s: float,
) -> str:
    action = {
        "actionId": action_id,
        "parameters": {"duration": _minutes(duration_s), **parameters},
        "targets": {"Functions": "functions"},
    }
    target = {"resourceType": "aws:lambda:function", "resourceArns": arns, "selectionMode": "ALL"}
    return start(aws, role, action, {"functions": target})


def start(aws: AwsAccess, role_arn: str, action: dict[str, Any], targets: dict[str, Any]) -> str:
    """Run one experiment of `action` on `targets` as `role_arn`; its id, once it runs."""
    fis = aws.client("fis")
    template = fis.create_experiment_template(
        clientToken=str(uuid.uuid4()),
        description=f"cdcbench fault: {action['actionId']}",
        stopConditions=[{"source": "none"}],
        targets=targets,
        actions={"fault": action},
        roleArn=role_arn,
    )["experimentTemplate"]["id"]
    try:
        experiment = fis.start_experiment(
            clientToken=str(uuid.uuid4()), experimentTemplateId=template
        )["experiment"]["id"]
    finally:
        fis.delete_experiment_template(id=template)
    await_none(lambda: _unless(fis, experiment, ("running", *_OVER)))
    status, reason = _state(fis, experiment)
    if status not in ("running", "completed"):  # completed: a short fault already over
        raise RuntimeError(f"FIS experiment {experiment} {status}: {reason}")
    return str(experiment)


def stop(aws: AwsAccess, experiment: str) -> None:
    """End `experiment` (stopped if still under way); returns once it is over."""
    fis = aws.client("fis")
    if _state(fis, experiment)[0] in _UNDER_WAY:
        fis.stop_experiment(id=experiment)
    await_none(lambda: _unless(fis, experiment, _OVER))


def _minutes(duration_s: float) -> str:
    """`duration_s` as an ISO 8601 duration in whole minutes, at least one."""
    return f"PT{max(1, math.ceil(duration_s / 60))}M"


def _state(fis: Any, experiment: str) -> tuple[str, str]:
    state = fis.get_experiment(id=experiment)["experiment"]["state"]
    return str(state["status"]), str(state.get("reason", ""))


def _unless(fis: Any, experiment: str, statuses: tuple[str, ...]) -> list[str]:
    """The experiment (named as awaited) unless its status is one of `statuses`."""
    status = _state(fis, experiment)[0]
    return [] if status in statuses else [f"FIS experiment {experiment} ({status})"]

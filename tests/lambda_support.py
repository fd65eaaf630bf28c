"""Real Lambda functions for tests: a one-module Python handler zipped and created through the
Lambda API, and what such a handler recorded."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from harness.aws import AwsAccess

ROLE = "cdcbench-test-lambda-role"


def trust(principal: dict[str, str]) -> dict[str, Any]:
    """A role's trust policy letting `principal` (e.g. {"Service": "lambda.amazonaws.com"})
    assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


LAMBDA_TRUST = trust({"Service": "lambda.amazonaws.com"})


def role_arn(aws: AwsAccess) -> str:
    """The execution role test functions share (created on first use)."""
    iam = aws.client("iam")
    try:
        return str(iam.get_role(RoleName=ROLE)["Role"]["Arn"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    created = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    return str(created["Role"]["Arn"])


def create_function(
    aws: AwsAccess,
    name: str,
    handler_source: str,
    env: dict[str, str] | None = None,
    timeout: int = 3,
) -> str:
    """Create function `name` running `handler_source` as module `app` (handler
    `app.handler`, python3.11); its ARN."""
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", handler_source)
    created = aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn(aws),
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return str(created["FunctionArn"])


RECORDING_HANDLER = """\
import json
import os


def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as out:
        out.write(json.dumps(event) + "\\n")
"""
"""A handler that appends each event it receives, as one JSON line, to $RECORD_TO."""


def recorded(path: Path) -> list[Any]:
    """The events a handler appended to `path` (one JSON line each), oldest first."""
    if not path.exists():
        return []
    complete = path.read_text().split("\n")[:-1]  # a line still being written has no newline
    return [json.loads(line) for line in complete if line]

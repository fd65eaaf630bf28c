"""Lambda event sources served by another moto process (the local target's split,
`harness.local.moto_groups`): the argument `peers` is JSON, boto3 service name -> the
endpoint of the process serving it.

moto's CreateEventSourceMapping looks its source up in this process's SQS, Kinesis and
DynamoDB Streams. A source whose service a peer serves is looked up there, through the API,
with the harness's User-Agent (the usage meter leaves it out) and the mapping's account.
Nothing else ties a mapping to its source here: moto's own delivery is off
(`data_plane.awslambda`) and the local Lambda runtime reads each source at its endpoint.
"""

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from harness.aws import HARNESS_AGENT, AwsAccess
from harness.local.moto_fixes.guard import fix


def _queue(client: Any, arn: str) -> bool:
    _, _, _, _, account, name = arn.split(":", 5)
    client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
    return True


def _stream(client: Any, arn: str) -> bool:
    client.describe_stream_summary(StreamARN=arn)
    return True


def _table_stream(client: Any, arn: str) -> bool:
    table = arn.split(":", 5)[5].split("/")[1]
    streams = client.list_streams(TableName=table)["Streams"]
    return any(stream["StreamArn"] == arn for stream in streams)


_LOOKUPS: dict[str, tuple[str, Callable[[Any, str], bool]]] = {
    "sqs": ("sqs", _queue),
    "kinesis": ("kinesis", _stream),
    "dynamodb": ("dynamodbstreams", _table_stream),
}
"""The ARN's service -> the service answering for it, and whether it holds the source."""


def served_by(arn: str) -> str | None:
    """The service (boto3 name) that answers for the event source `arn`, if it is one."""
    parts = arn.split(":")
    lookup = _LOOKUPS.get(parts[2]) if len(parts) >= 6 else None
    return lookup[0] if lookup else None


def exists_at(endpoint: str, arn: str, region: str, account: str) -> bool:
    """Whether the moto at `endpoint` holds the event source `arn`."""
    service, holds = _LOOKUPS[arn.split(":")[2]]
    access = AwsAccess(
        region,
        endpoint,
        {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
        max_attempts=1,
        agent=HARNESS_AGENT,
    )
    client = access.client(service)

    def as_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign", as_account)
    try:
        return holds(client, arn)
    except ClientError:
        return False


@fix(
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping",
    "moto.awslambda.models.LambdaBackend()._event_source_mappings",
    "moto.awslambda.models.LambdaBackend()._lambdas",
    "moto.awslambda.models.LambdaBackend().account_id",
    "moto.awslambda.models.LambdaBackend().region_name",
    "moto.awslambda.models.EventSourceMapping",
    "moto.core.exceptions.JsonRESTError",
)
def lambda_event_sources(peers: str) -> None:
    # moto answers "Invalid EventSourceArn" for a source its own backends do not hold: a
    # source whose service a peer process serves is looked up there.
    from moto.awslambda.models import EventSourceMapping, LambdaBackend
    from moto.core.exceptions import JsonRESTError

    endpoints: dict[str, str] = json.loads(peers)
    create = LambdaBackend.create_event_source_mapping

    def create_mapping(self: Any, spec: dict[str, Any]) -> Any:
        arn = spec.get("EventSourceArn") or ""
        peer = endpoints.get(served_by(arn) or "")
        if peer is None or not spec.get("FunctionName"):
            return create(self, spec)
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
        if not exists_at(peer, arn, self.region_name, self.account_id):
            raise JsonRESTError("ResourceNotFoundException", "Invalid EventSourceArn")
        mapping = EventSourceMapping(
            {
                **spec,
                "RegionName": self.region_name,
                "AccountId": self.account_id,
                "FunctionArn": function.function_arn,
            }
        )
        self._event_source_mappings[mapping.uuid] = mapping
        return mapping

    LambdaBackend.create_event_source_mapping = create_mapping

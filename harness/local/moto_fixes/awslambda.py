"""Lambda: moto never runs mapped functions itself; the local Lambda runtime does."""

from typing import Any


class _NoMappings(dict[str, Any]):
    """A resource's event-source mappings as moto's data plane sees them: always none."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


def apply() -> None:
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    # moto runs mapped functions itself, through Docker: with none here the invoke fails,
    # SQS messages are received (hidden) and a DynamoDB stream's records are dropped. The
    # mappings stay in the Lambda API; the local Lambda runtime is what runs them.
    none = property(lambda self: _NoMappings(), lambda self, value: None)
    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = none

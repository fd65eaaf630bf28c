"""DMS targets, one module per endpoint engine; `make_target` picks by engine name."""

from harness.local.dms.context import TaskContext
from harness.local.dms.targets.base import DmsTarget


class TargetError(RuntimeError):
    """The target endpoint cannot be used as configured (the task fails with this message)."""


def make_target(ctx: TaskContext) -> DmsTarget:
    """The target for an endpoint's EngineName (s3, kinesis, kafka, dynamodb)."""
    engine = str(ctx.endpoint.get("EngineName", "")).lower()
    if engine == "s3":
        from harness.local.dms.targets.s3 import S3Target

        return S3Target(ctx)
    if engine == "kinesis":
        from harness.local.dms.targets.kinesis import KinesisTarget

        return KinesisTarget(ctx)
    if engine == "kafka":
        from harness.local.dms.targets.kafka import KafkaTarget

        return KafkaTarget(ctx)
    if engine == "dynamodb":
        from harness.local.dms.targets.dynamodb import DynamoDbTarget

        return DynamoDbTarget(ctx)
    raise TargetError(f"target engine {engine!r} is not run by the local DMS engine")

"""Poll cadences of the local Lambda runtime, AWS's by default."""

from pydantic import BaseModel, ConfigDict, Field


class LambdaTiming(BaseModel):
    """How often each kind of event-source mapping looks for records. Defaults follow AWS:
    Kinesis polls each shard about once a second, DynamoDB Streams about four times a
    second, SQS long-polls (20 s), Kafka waits for its batching window. Zero means poll
    again at once (used to measure the runtime's own overhead)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinesis_poll_s: float = Field(1.0, ge=0)
    dynamodb_poll_s: float = Field(0.25, ge=0)
    sqs_wait_s: int = Field(20, ge=0, le=20)
    """ReceiveMessage WaitTimeSeconds (long polling)."""
    kafka_poll_s: float = Field(0.1, ge=0)
    """Consumer poll timeout between batching-window checks."""
    stalled_after_s: float = Field(20.0, gt=0)
    """How long a stream mapping may keep failing one batch before the runtime reports it
    stalled (not an AWS setting: AWS retries until the records expire)."""

"""`dms_msk_lambda`: DMS and Amazon MSK (the seed article's solution 2).

A DMS task writes every row change as a JSON message to one Kafka topic, keyed by the row's
primary key. Two consumers read it: a Lambda projector (MSK event-source mapping) writes the
DynamoDB read model, and MSK Connect's S3 sink archives each message to the S3 event store.

Three projections are observed: the topic itself, the event store (one DMS message per line)
and the read model (its stream). `projector` = "naive" deploys the article's projector
(unconditional puts, no version guard) to show its defects. Deletes must carry the deleted
row's version, so the source tables run with REPLICA IDENTITY FULL.
"""

from typing import Any

from harness.patterns.base import Pattern, Projection
from harness.patterns.read_model import read_model_projection

S3_SINK_PLUGIN = "confluentinc-kafka-connect-s3"


def projector_floor_ms(variables: dict[str, Any]) -> float:
    """Lambda's MSK poller may gather records for MaximumBatchingWindowInSeconds before it
    invokes the projector. DMS's Kafka target has no batch window to configure."""
    return float(variables["projector_batching_window_s"]) * 1000.0


def event_store_floor_ms(variables: dict[str, Any]) -> float:
    """With flush.size 1 the sink writes each record as it reads it; above that a record may
    wait for the scheduled rotation."""
    if int(variables["s3_sink_flush_size"]) == 1:
        return 0.0
    return float(variables["s3_sink_rotate_interval_s"]) * 1000.0


PATTERN = Pattern(
    name="dms_msk_lambda",
    summary=(
        "PostgreSQL -> DMS -> Kafka topic (MSK) -> Lambda projector -> DynamoDB read model, "
        "and MSK Connect S3 sink -> S3 event store"
    ),
    module="dms_msk_lambda",
    projections=(
        Projection(
            name="topic",
            kind="event_log",
            observer="kafka_topic",
            resources={"bootstrap": "bootstrap_brokers", "topic": "topic"},
        ),
        Projection(
            name="event_store",
            kind="event_log",
            observer="s3_objects",
            resources={"bucket": "event_store_bucket", "prefix": "event_store_prefix"},
            options={"format": "dms_json_lines"},
            floor_ms=event_store_floor_ms,
        ),
        read_model_projection(projector_floor_ms),
    ),
    source_access=True,
    replica_identity="full",
    variables={
        "projector": "correct",
        "projector_batch_size": 100,
        "projector_batching_window_s": 0,
        "s3_sink_flush_size": 1,
        "s3_sink_rotate_interval_s": 0,
    },
    connector_plugins={"s3_sink_plugin_package": S3_SINK_PLUGIN},
)

"""`dms_s3_dynamodb`: DMS only (the seed article's solution 1).

Task 1 replicates PostgreSQL into an S3 event store: full-load files led by the op `I`,
then transaction-ordered CDC files with `I`/`U`/`D` rows. Task 2 reads that event store
back as an S3 source and writes one DynamoDB item per row (`pk` = "<table>#<id>").

Both projections are observed: the event store (every row change, in the files task 1
writes) and the read model (its stream). Deletes must carry the deleted row's version,
so the source tables run with REPLICA IDENTITY FULL.
"""

from typing import Any

from harness.patterns.base import Pattern, Projection
from harness.patterns.read_model import read_model_projection

DEFAULT_CDC_MAX_BATCH_INTERVAL_S = 60
"""DMS's default CdcMaxBatchInterval."""
DEFAULT_CDC_MIN_FILE_SIZE_KB = 32000
"""DMS's default CdcMinFileSize."""


def configured_floor_ms(variables: dict[str, Any]) -> float:
    """The batch window a change may wait in: task 1 writes a CDC file at most
    CdcMaxBatchInterval after the oldest change in it. Task 2's S3 source and DynamoDB
    target add no configured window (DMS offers no setting for either)."""
    interval = variables.get("cdc_max_batch_interval", DEFAULT_CDC_MAX_BATCH_INTERVAL_S)
    return float(interval) * 1000.0


PATTERN = Pattern(
    name="dms_s3_dynamodb",
    summary=(
        "PostgreSQL -> DMS -> S3 event store (CSV, op column) -> DMS (S3 source) -> "
        "DynamoDB read model"
    ),
    module="dms_s3_dynamodb",
    projections=(
        Projection(
            name="event_store",
            kind="event_log",
            observer="s3_objects",
            resources={"bucket": "event_store_bucket", "prefix": "event_store_prefix"},
            # the S3Settings of task 1's target endpoint that shape its rows
            options={"format": "dms_csv", "include_op_for_full_load": True},
            floor_ms=configured_floor_ms,
        ),
        read_model_projection(configured_floor_ms),
    ),
    source_access=True,
    replica_identity="full",
    variables={
        "cdc_max_batch_interval": DEFAULT_CDC_MAX_BATCH_INTERVAL_S,
        "cdc_min_file_size": DEFAULT_CDC_MIN_FILE_SIZE_KB,
    },
)

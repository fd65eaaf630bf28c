"""Corrections to moto's behaviour, applied inside the moto server process only.

One module per service; each fix is a small patch with a comment naming the moto
behaviour it corrects. Private routes the local engines use to report state and read
what AWS keeps are reached through `harness.local.private_api`.
"""

from harness.local.moto_fixes import (
    awslambda,
    dms,
    dynamodb,
    firehose,
    kafka,
    kafkaconnect,
    kinesis,
    s3,
    server,
    sqs,
)


def apply(kafka_bootstrap: str | None = None) -> None:
    """Install every fix. Called once by the moto child before it serves requests."""
    server.apply()
    dms.apply()
    dynamodb.apply()
    kinesis.apply()
    firehose.apply()
    awslambda.apply()
    kafkaconnect.apply()
    sqs.apply()
    s3.apply()
    if kafka_bootstrap:
        kafka.apply(kafka_bootstrap)

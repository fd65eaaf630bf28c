"""The registry of patterns: one small descriptor module each."""

from harness.patterns import direct, dms_msk_lambda, dms_s3_dynamodb
from harness.patterns.base import Pattern, PostCommit, Projection

PATTERNS: dict[str, Pattern] = {
    p.name: p for p in (direct.PATTERN, dms_s3_dynamodb.PATTERN, dms_msk_lambda.PATTERN)
}

__all__ = ["PATTERNS", "Pattern", "PostCommit", "Projection"]

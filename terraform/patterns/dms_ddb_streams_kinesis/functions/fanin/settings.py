"""The fan-in functions' environment and Kinesis client."""

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class Settings:
    """STREAM_NAME (the Kinesis stream) and SOURCE_TABLES (JSON: DynamoDB table -> source
    table)."""

    stream_name: str
    source_tables: dict[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        stream = env.get("STREAM_NAME")
        if not stream:
            raise RuntimeError("STREAM_NAME (the Kinesis stream to put changes on) is not set")
        try:
            tables = json.loads(env.get("SOURCE_TABLES") or "")
        except ValueError:
            tables = None
        if not isinstance(tables, dict) or not tables:
            raise RuntimeError("SOURCE_TABLES must map each DynamoDB table to its source table")
        return cls(stream, {str(k): str(v) for k, v in tables.items()})


@functools.cache
def kinesis() -> Any:
    """The Kinesis client, made on first use and kept for later invocations."""
    return boto3.client("kinesis")

"""DMS sources, one module per endpoint engine; `make_source` picks by engine name."""

from harness.local.dms.context import TaskContext
from harness.local.dms.sources.base import DmsSource, SourceError


def make_source(ctx: TaskContext) -> DmsSource:
    """The source for an endpoint's EngineName (postgres, aurora-postgresql, s3)."""
    engine = str(ctx.endpoint.get("EngineName", "")).lower()
    if engine in ("postgres", "aurora-postgresql"):
        from harness.local.dms.sources.postgres import PostgresSource

        return PostgresSource(ctx)
    if engine == "s3":
        from harness.local.dms.sources.s3 import S3Source

        return S3Source(ctx)
    raise SourceError(f"source engine {engine!r} is not run by the local DMS engine")

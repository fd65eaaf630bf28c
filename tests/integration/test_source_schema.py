"""The source schema is created with the scenario's REPLICA IDENTITY."""

import psycopg
import pytest

from harness.load import schema
from harness.targets import Target

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("setting", "expected"), [("default", "d"), ("full", "f")])
def test_reset_applies_replica_identity_to_every_table(
    local_target: Target, setting: schema.ReplicaIdentity, expected: str
) -> None:
    schema.reset(local_target.source_dsn, setting)

    with psycopg.connect(local_target.source_dsn) as conn:
        rows = conn.execute(
            "SELECT relname, relreplident FROM pg_class WHERE relname = ANY(%s)",
            (list(schema.TABLES),),
        ).fetchall()
        assert dict(rows) == {table: expected for table in schema.TABLES}
        assert conn.execute("SELECT count(*) FROM widgets").fetchone() == (0,)

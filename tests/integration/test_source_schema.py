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


def test_ensure_raises_replica_identity_but_never_lowers_it(local_target: Target) -> None:
    """The pipeline sets FULL for a pattern that needs it; Locust's own ensure() with the
    scenario's DEFAULT must not take it back (deletes would lose their versions)."""
    schema.reset(local_target.source_dsn, "default")

    def identities(conn: psycopg.Connection) -> set[str]:
        rows = conn.execute(
            "SELECT relreplident FROM pg_class WHERE relname = ANY(%s)", (list(schema.TABLES),)
        ).fetchall()
        return {r[0] for r in rows}

    with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
        schema.ensure(conn, "full")
        assert identities(conn) == {"f"}
        schema.ensure(conn, "default")
        assert identities(conn) == {"f"}

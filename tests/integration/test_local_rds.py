"""The local RDS engine: an Aurora PostgreSQL cluster created through the RDS API is a real
database in the embedded PostgreSQL, at the endpoint and port the API answers with, for the
master user and password its managed secret holds (over TLS, as RDS offers it); deleting the
cluster drops it; a cluster whose password the API cannot show is a reported failure."""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.load import schema
from harness.observe.postgres_replica import PostgresReplicaObserver
from harness.targets import Target


def eventually(check: Callable[[], Any], timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = check()
        except psycopg.OperationalError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"not in time: {found!r}"
        time.sleep(0.2)


def test_a_cluster_is_a_database_at_its_endpoint_for_its_secrets_user(local_target: Target) -> None:
    rds = local_target.aws.client("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="replica-test",
        Engine="aurora-postgresql",
        DatabaseName="replica_test",
        MasterUsername="replica_admin",
        ManageMasterUserPassword=True,
    )["DBCluster"]
    arn = cluster["MasterUserSecret"]["SecretArn"]
    secret = local_target.aws.client("secretsmanager").get_secret_value(SecretId=arn)
    login = json.loads(secret["SecretString"])
    conninfo = psycopg.conninfo.make_conninfo(
        host=cluster["Endpoint"],
        port=cluster["Port"],
        dbname="replica_test",
        user=login["username"],
        password=login["password"],
        sslmode="require",
    )
    try:
        with eventually(lambda: psycopg.connect(conninfo)) as conn:
            row = conn.execute(
                "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            )
            assert row.fetchone() == ("replica_admin", True)
            conn.execute("CREATE TABLE t (id int)")  # the master user owns the database
        wrong = conninfo.replace(login["password"], "not-the-password")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong)
    finally:
        rds.delete_db_cluster(DBClusterIdentifier="replica-test", SkipFinalSnapshot=True)
    with psycopg.connect(local_target.source_dsn) as admin:
        gone = "SELECT 1 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'replica_test')"
        eventually(lambda: admin.execute(gone).fetchone())


def test_the_replica_observer_reads_a_cluster_through_its_secret_as_its_tables_appear_and_grow(
    local_target: Target, tmp_path: Path
) -> None:
    """The postgres_replica observer reached as the poller pattern reaches its replica: by
    endpoint, port, database and secret. Tables its writer has not made yet read as empty; a
    column the writer adds mid-run does not break its reads."""
    rds = local_target.aws.client("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="observed",
        Engine="aurora-postgresql",
        DatabaseName="observed",
        MasterUsername="writer",
        ManageMasterUserPassword=True,
    )["DBCluster"]
    arn = cluster["MasterUserSecret"]["SecretArn"]
    login = json.loads(
        local_target.aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    )
    where = {"host": cluster["Endpoint"], "port": cluster["Port"], "database": "observed"}
    writer_dsn = psycopg.conninfo.make_conninfo(
        **{k.replace("database", "dbname"): v for k, v in where.items()},
        user=login["username"],
        password=login["password"],
    )
    observer = PostgresReplicaObserver(
        "replica", tmp_path / "obs.csv", local_target.aws, secret_arn=arn, **where
    )

    def shown() -> int:
        return observer.state.get(("widgets", "1"), (0, True))[0]

    try:
        writer = eventually(lambda: psycopg.connect(writer_dsn, autocommit=True))
        observer.start()
        time.sleep(0.5)  # polls of a replica without tables
        assert observer.error is None and not observer.state
        with writer:
            schema.ensure(writer)
            add = "INSERT INTO widgets (version, written_at, name) VALUES (1, now(), 'w')"
            writer.execute(add)
            bump = "UPDATE widgets SET version = version + 1 WHERE id = 1"
            for version in range(2, 10):  # enough reads of the row for psycopg to prepare one
                writer.execute(bump)
                eventually(lambda v=version: shown() >= v or observer.error)  # type: ignore[misc]
                assert observer.error is None, observer.error
            writer.execute("ALTER TABLE widgets ADD COLUMN colour text")
            writer.execute("UPDATE widgets SET version = 10, colour = 'red' WHERE id = 1")
            eventually(lambda: shown() >= 10 or observer.error)
            assert observer.error is None, observer.error
    finally:
        observer.stop()
        rds.delete_db_cluster(DBClusterIdentifier="observed", SkipFinalSnapshot=True)
    assert observer.error is None


def test_a_cluster_without_a_managed_secret_is_a_reported_failure(local_target: Target) -> None:
    rds = local_target.aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="unmanaged",
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword="given-directly",
    )
    try:
        failures = eventually(
            lambda: {k: v for k, v in local_target.engine_failures().items() if "unmanaged" in k}
        )
        assert failures == {
            "RDS database unmanaged": "no master user secret: the local RDS engine reads the "
            "master password from Secrets Manager (set manage_master_user_password)"
        }
    finally:
        rds.delete_db_cluster(DBClusterIdentifier="unmanaged", SkipFinalSnapshot=True)
    eventually(lambda: "RDS database unmanaged" not in local_target.engine_failures())

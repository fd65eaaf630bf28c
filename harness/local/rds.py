"""The local RDS engine: each PostgreSQL-compatible database the RDS API holds (an Aurora
PostgreSQL cluster, an RDS PostgreSQL instance) is a real database in the embedded
PostgreSQL server, which moto names as its endpoint (`moto_fixes.data_plane.rds`).

It polls DescribeDBClusters and DescribeDBInstances. For a database that appears it reads
what the API shows (the database name, the master user's secret in Secrets Manager, as
`manage_master_user_password` makes it) and creates that login role with that password and
the database owned by it, so clients that read the secret and connect to the endpoint get
in as on AWS. A database that disappears (deleted) is dropped with its role; stopping the
engine drops every one it made. The API never shows a password it was given directly, so a
database without a managed secret is reported as a failure.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from harness.aws import HARNESS_AGENT, AwsAccess
from harness.local.control_loop import ControlLoop

log = logging.getLogger("harness.local.rds")

POLL_S = 0.5
ENGINES = ("aurora-postgresql", "postgres")


@dataclass(frozen=True)
class Database:
    """A database the API shows: its identifier and what the engine made for it."""

    identifier: str
    name: str
    user: str


class RdsEngine(ControlLoop):
    title = "RDS engine"
    serves = "rds"
    subject = "RDS database"

    def __init__(self, aws: AwsAccess, admin_dsn: str, poll_s: float = POLL_S) -> None:
        """`admin_dsn`: a superuser connection to the embedded PostgreSQL server."""
        super().__init__("rds-engine", poll_s)
        self.aws = aws
        self.admin_dsn = admin_dsn
        self.made: dict[str, Database] = {}
        self._rds: Any = None
        self._secrets: Any = None

    def connect(self) -> None:
        self._rds = self.aws.client("rds")
        # reading the master user's secret is the emulation's, not the pattern's: not metered
        self._secrets = replace(self.aws, agent=HARNESS_AGENT).client("secretsmanager")

    def step(self) -> None:
        shown = {d["identifier"]: d for d in self._shown()}
        for identifier in [i for i in self.made if i not in shown]:
            self._drop(self.made.pop(identifier))
        for identifier in [i for i in self._failures if i not in shown]:
            del self._failures[identifier]  # a deleted database's failure goes with it
        for identifier, described in shown.items():
            if identifier not in self.made and identifier not in self._failures:
                self._make(described)

    def stopped(self) -> None:
        while self.made:
            self._drop(self.made.popitem()[1])

    def _shown(self) -> list[dict[str, Any]]:
        """Every PostgreSQL-compatible database the API shows (a cluster's instances are
        its cluster's)."""
        clusters = self._rds.describe_db_clusters()["DBClusters"]
        instances = [
            i
            for i in self._rds.describe_db_instances()["DBInstances"]
            if not i.get("DBClusterIdentifier")
        ]
        shown = [
            {"identifier": c["DBClusterIdentifier"], "name": c.get("DatabaseName"), **c}
            for c in clusters
        ] + [
            {"identifier": i["DBInstanceIdentifier"], "name": i.get("DBName"), **i}
            for i in instances
        ]
        return [d for d in shown if d.get("Engine") in ENGINES]

    def _make(self, described: dict[str, Any]) -> None:
        identifier = described["identifier"]
        secret = (described.get("MasterUserSecret") or {}).get("SecretArn")
        if not secret:
            self._failures[identifier] = (
                "no master user secret: the local RDS engine reads the master password from "
                "Secrets Manager (set manage_master_user_password)"
            )
            return
        credentials = json.loads(self._secrets.get_secret_value(SecretId=secret)["SecretString"])
        name = described.get("name") or "postgres"
        database = Database(identifier, name, credentials["username"])
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            role = sql.Identifier(database.user)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (database.user,))
            verb = "ALTER" if exists.fetchone() else "CREATE"
            password = sql.Literal(credentials["password"])
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(role, password)
            )
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), role))
        self.made[identifier] = database
        log.info("RDS database %s: %s owned by %s", identifier, name, database.user)

    def _drop(self, database: Database) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            name = sql.Identifier(database.name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            if not any(d.user == database.user for d in self.made.values()):
                conn.execute(
                    sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.user))
                )

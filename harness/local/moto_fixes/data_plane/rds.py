"""RDS: a PostgreSQL-compatible cluster or instance is served by the local target's embedded
PostgreSQL (`harness.local.rds`, the local RDS engine, makes its database and master user):
moto answers with that server's address and port as its endpoint, so clients connect to
what the API returns, as they would on AWS."""

from typing import Any

from harness.local.moto_fixes.guard import fix

_POSTGRES_ENGINES = ("aurora-postgresql", "postgres")


@fix(
    "moto.rds.models.DBCluster.endpoint",
    "moto.rds.models.DBCluster.reader_endpoint",
    "moto.rds.models.DBCluster.__init__",
    "moto.rds.models.DBCluster().port",
    "moto.rds.models.DBCluster().engine",
    "moto.rds.models.DBInstance.address",
    "moto.rds.models.DBInstance.__init__",
    "moto.rds.models.DBInstance().port",
    "moto.rds.models.DBInstance().engine",
)
def local_endpoints(address: str) -> None:
    # moto makes up a host name (`<id>.cluster-<x>.<region>.rds.amazonaws.com`) that
    # resolves nowhere; `address` is the embedded PostgreSQL's `host:port`.
    from moto.rds import models

    host, port = address.rsplit(":", 1)

    def served(kind: Any, name: str) -> None:
        made = getattr(kind, name)

        def local(self: Any) -> Any:
            return host if self.engine in _POSTGRES_ENGINES else made.fget(self)

        setattr(kind, name, property(local))

    def on_local_port(kind: Any) -> None:
        init = kind.__init__

        def init_local(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            if self.engine in _POSTGRES_ENGINES:
                self.port = int(port)

        kind.__init__ = init_local

    served(models.DBCluster, "endpoint")
    served(models.DBCluster, "reader_endpoint")
    served(models.DBInstance, "address")
    on_local_port(models.DBCluster)
    on_local_port(models.DBInstance)

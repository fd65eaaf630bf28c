"""RDS: a master user secret that RDS manages holds the database's own master user name and
a generated password."""

import json
import secrets
from typing import Any

from harness.local.moto_fixes.guard import fix


@fix(
    "moto.rds.models.MasterUserSecret._generate_secret_string",
    "moto.rds.models.MasterUserSecret().resource",
    "moto.rds.models.DBCluster().master_username",
)
def managed_secret_username() -> None:
    # moto's managed secret is {"username": "admin", "password": "P@55w0rd!"} whatever the
    # master user is; RDS stores the cluster's (or instance's) master user name and a random
    # password, and clients log in with what the secret says.
    from moto.rds.models import MasterUserSecret

    def secret_string(self: Any) -> str:
        username = self.resource.master_username
        return json.dumps({"username": username, "password": secrets.token_urlsafe(24)})

    MasterUserSecret._generate_secret_string = secret_string

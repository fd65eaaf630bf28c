"""moto's server as the AWS API, in its own child process.

moto is GIL-bound at about one core; in the harness's process it would starve
the load generator and observers, so it always runs as a separate process.
"""

import json
import subprocess
import urllib.request
from pathlib import Path

from harness.errors import UserError
from harness.local.component import Component
from harness.local.moto_fixes.additions.usage import USAGE_PATH
from harness.process import read_json_line, spawn, stop

_READY_TIMEOUT_S = 60.0


class MotoServer(Component):
    title = "moto server"

    def __init__(
        self,
        log_dir: Path,
        kafka_bootstrap: str | None = None,
        postgres_address: str | None = None,
        account_id: str | None = None,
    ) -> None:
        """`kafka_bootstrap`: the brokers behind every MSK cluster; `postgres_address`: the
        `host:port` of the PostgreSQL server behind every PostgreSQL-compatible database;
        `account_id`: the account it answers as (moto's own by default), e.g. that of the
        API it serves beside."""
        self.account_id = account_id
        self.log_path = log_dir / "moto.log"
        self.kafka_bootstrap = kafka_bootstrap
        self.postgres_address = postgres_address
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def processes(self) -> dict[str, int]:
        return {"moto": self.pid} if self.pid is not None else {}

    def usage(self) -> dict[str, float]:
        """The meter of `moto_fixes.additions.usage`."""
        if not self.port:
            return {}
        with urllib.request.urlopen(f"{self.endpoint_url}{USAGE_PATH}", timeout=10) as answer:
            return {k: float(v) for k, v in json.loads(answer.read()).items()}

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = ["--kafka-bootstrap", self.kafka_bootstrap] if self.kafka_bootstrap else []
        if self.postgres_address:
            args += ["--postgres-address", self.postgres_address]
        env = {"MOTO_ACCOUNT_ID": self.account_id} if self.account_id else None
        self._proc = spawn("harness.local.moto_child", args, self.log_path, env)
        try:
            ready = read_json_line(self._proc, _READY_TIMEOUT_S)
            if "error" in ready:  # a moto fix does not fit the installed moto: one line
                self.stop()
                raise UserError(str(ready["error"]))
            self.port = int(str(ready["port"]))
        except (ValueError, KeyError):
            self.stop()
            raise UserError(f"moto server did not start (log: {self.log_path})") from None

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

"""moto's server as the AWS API, in child processes of its own.

moto is GIL-bound at about one core; in the harness's process it would starve the load
generator and observers, so it always runs as separate processes: one (`moto`) serving
every service, or with a split (`harness.local.moto_groups`) also one per group of
data-plane services (`moto-dynamodb`, ...), each on its own port.
"""

import json
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

from harness.errors import UserError
from harness.local.component import Component
from harness.local.moto_fixes.additions.usage import USAGE_PATH
from harness.local.moto_groups import MAIN, Split, process_name
from harness.process import read_json_line, spawn, stop

_READY_TIMEOUT_S = 60.0


class _Child:
    """One moto server process: the services it is there for (empty: every other)."""

    def __init__(self, name: str, services: tuple[str, ...], log_dir: Path) -> None:
        self.name = name
        self.services = services
        self.log_path = log_dir / f"{name}.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, args: list[str], env: dict[str, str] | None) -> None:
        self.proc = spawn("harness.local.moto_child", args, self.log_path, env)

    def ready(self) -> None:
        """Wait for its port; UserError (one line) when it does not come."""
        assert self.proc is not None
        try:
            answer = read_json_line(self.proc, _READY_TIMEOUT_S)
            if "error" in answer:  # a moto fix does not fit the installed moto: one line
                raise UserError(str(answer["error"]))
            self.port = int(str(answer["port"]))
        except (ValueError, KeyError):
            raise UserError(f"moto server did not start (log: {self.log_path})") from None

    def usage(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.endpoint_url}{USAGE_PATH}", timeout=10) as answer:
            return {k: float(v) for k, v in json.loads(answer.read()).items()}

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


class MotoServer(Component):
    title = "moto server"

    def __init__(
        self,
        log_dir: Path,
        kafka_bootstrap: str | None = None,
        postgres_address: str | None = None,
        account_id: str | None = None,
        split: Split = (),
    ) -> None:
        """`kafka_bootstrap`: the brokers behind every MSK cluster; `postgres_address`: the
        `host:port` of the PostgreSQL server behind every PostgreSQL-compatible database;
        `account_id`: the account every process answers as (moto's own by default), e.g.
        that of the API it serves beside; `split`: groups of services served by a process
        of their own (none: one process serves all)."""
        self.account_id = account_id
        self.kafka_bootstrap = kafka_bootstrap
        self.postgres_address = postgres_address
        self.split = split
        self._main = _Child(MAIN, (), log_dir)
        self._groups = [_Child(process_name(group), group, log_dir) for group in split]

    @property
    def port(self) -> int:
        """The main process's port (0 until started)."""
        return self._main.port

    @property
    def pid(self) -> int | None:
        """The main process's pid."""
        return self._main.proc.pid if self._main.proc else None

    @property
    def endpoint_url(self) -> str:
        """The main process's endpoint: every service without one of its own."""
        return self._main.endpoint_url

    @property
    def endpoints(self) -> dict[str, str]:
        """Service (boto3 name) -> its group's endpoint, for the services split off."""
        return {s: child.endpoint_url for child in self._groups for s in child.services}

    def endpoint(self, service: str) -> str:
        """Where `service` (a boto3 name) is served."""
        return self.endpoints.get(service, self.endpoint_url)

    def processes(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in self._children() if c.proc is not None}

    def usage(self) -> dict[str, float]:
        """The meters of `moto_fixes.additions.usage`, summed over the processes."""
        totals: Counter[str] = Counter()
        for child in self._children():
            if child.port:
                totals.update(child.usage())
        return dict(totals)

    def start(self) -> None:
        """The groups' processes first, side by side, then the main one, told where they
        are (it looks a Lambda event source up in its group's process)."""
        args = ["--kafka-bootstrap", self.kafka_bootstrap] if self.kafka_bootstrap else []
        if self.postgres_address:
            args += ["--postgres-address", self.postgres_address]
        env = {"MOTO_ACCOUNT_ID": self.account_id} if self.account_id else None
        try:
            for child in self._groups:
                child.spawn([*args, "--services", "+".join(child.services)], env)
            for child in self._groups:
                child.ready()
            peers = ["--peers", json.dumps(self.endpoints)] if self._groups else []
            self._main.spawn(args + peers, env)
            self._main.ready()
        except UserError:
            self.stop()
            raise

    def stop(self) -> None:
        for child in self._children():  # all told at once: each takes about a second
            child.terminate()
        for child in self._children():
            child.stop()

    def _children(self) -> list[_Child]:
        return [self._main, *self._groups]

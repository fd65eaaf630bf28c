"""moto's server as the AWS API, in its own child process.

moto is GIL-bound at about one core; in the harness's process it would starve
the load generator and observers, so it always runs as a separate process.
"""

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

from harness.errors import UserError
from harness.local.process import stop

_READY_TIMEOUT_S = 60.0


class MotoServer:
    def __init__(self, log_dir: Path, kafka_bootstrap: str | None = None) -> None:
        self.log_path = log_dir / "moto.log"
        self.kafka_bootstrap = kafka_bootstrap
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "harness.local.moto_child", "--parent-pid", str(os.getpid())]
        if self.kafka_bootstrap:
            cmd += ["--kafka-bootstrap", self.kafka_bootstrap]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            ready = sel.select(_READY_TIMEOUT_S)
        line = self._proc.stdout.readline() if ready else b""
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError):
            self.stop()
            raise UserError(f"moto server did not start (log: {self.log_path})") from None

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None

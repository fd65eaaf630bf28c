"""A stand-in for a LocalStack endpoint, for tests: moto with the project's corrections (what
makes it answer as AWS does; none of the embedded cloud's additions or data planes), as
LocalStack's default account (`MOTO_ACCOUNT_ID`, set by the caller), plus `GET
/_localstack/health` answered from a recorded health file. Run by `spawn`: prints
`{"port": N}` and serves until its parent goes.
"""

import argparse
import importlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from harness.local.moto_fixes import MODULES
from harness.local.moto_fixes.guard import check_all, fixes_in

HEALTH_PATH = "/_localstack/health"
HEALTH = Path(__file__).parent / "data" / "localstack" / "health-community.json"
"""The shape of LocalStack's documented health answer (docs.localstack.cloud, Internal
Endpoints: `/_localstack/health`), with the services a 4.x community image serves."""
ACCOUNT = "000000000000"
"""LocalStack's default account."""
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@contextmanager
def standin(log_path: Path, health: Path = HEALTH) -> Iterator[str]:
    """A stand-in running for the block: its endpoint URL."""
    from harness.process import read_json_line, spawn, stop

    env = {"MOTO_ACCOUNT_ID": ACCOUNT, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = spawn(Path(__file__), ["--health", str(health)], log_path, env)
    try:
        yield f"http://127.0.0.1:{read_json_line(proc, 60)['port']}"
    finally:
        stop(proc)


def with_health(app: Wsgi, health: bytes) -> Wsgi:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ["REQUEST_METHOD"] == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [health]
        return app(environ, start_response)

    return serve


def install_corrections() -> None:
    package = "harness.local.moto_fixes"
    chosen = [
        one
        for name in MODULES
        if name.startswith("corrections.")
        for one in fixes_in(importlib.import_module(f"{package}.{name}"))
    ]
    check_all(chosen)
    for one in chosen:
        one.install()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--health", type=Path, required=True)
    args = parser.parse_args()
    install_corrections()
    app = with_health(DomainDispatcherApplication(create_backend_app), args.health.read_bytes())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    print(json.dumps({"port": server.server_port}), flush=True)
    while not done.wait(1.0):
        if os.getppid() != args.parent_pid:
            break
    server.shutdown()


if __name__ == "__main__":
    main()

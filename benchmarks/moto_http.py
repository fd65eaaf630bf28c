"""What keep-alive connections save: moto served by werkzeug's development server (moto's
own, a connection per request) against `harness.local.moto_http.serve` (cheroot, keep-alive), each
in a server process of its own with the moto fixes, on the same S3 round trips (PutObject
and GetObject of 300-byte objects, as an S3 sink and its observer make them) from one
client thread here.

Prints per server requests/s and CPU milliseconds per request, the client's and the
server's, then `moto_http_cpu_ratio: <keep-alive / per-request CPU, both sides>` last.

    .venv/bin/python benchmarks/moto_http.py [--requests 4000]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import boto3
from botocore.config import Config

from bench_util import Console, proc_cpu_s

_console = Console("moto_http")
_SERVERS = {
    "per-request (werkzeug)": (
        "from harness.local import moto_fixes; moto_fixes.apply()\n"
        "import logging; logging.getLogger('werkzeug').setLevel(logging.WARNING)\n"
        "from moto.server import ThreadedMotoServer\n"
        "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
        "server.start(); port = server.get_host_and_port()[1]\n"
    ),
    "keep-alive (cheroot)": (
        "from harness.local import moto_fixes; moto_fixes.apply()\n"
        "from harness.local import moto_http\n"
        "port = moto_http.serve()\n"
    ),
}
_SERVE = (
    "import json, os, sys\n{start}print(json.dumps({{'port': port}}), flush=True)\n"
    "sys.stdin.read(); os._exit(0)\n"
)


def measure(start: str, requests: int) -> dict[str, float]:
    """Requests/s and CPU ms per request (client, server) for `requests` S3 calls."""
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE.format(start=start)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = json.loads(server.stdout.readline())["port"]  # type: ignore[union-attr]
        s3: Any = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )
        s3.create_bucket(Bucket="moto-http")
        rounds = requests // 2
        server_cpu, client_cpu = proc_cpu_s(server.pid), time.process_time()
        started = time.perf_counter()
        for n in range(rounds):
            s3.put_object(Bucket="moto-http", Key=f"events/{n:08d}.json", Body=b"x" * 300)
            s3.get_object(Bucket="moto-http", Key=f"events/{n:08d}.json")["Body"].read()
        wall = time.perf_counter() - started
        client = time.process_time() - client_cpu
        served = proc_cpu_s(server.pid) - server_cpu
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()
    done = 2 * rounds
    return {
        "per_s": done / wall,
        "client_ms": client / done * 1e3,
        "server_ms": served / done * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="S3 calls per server (4000)")
    args = parser.parse_args()
    if args.requests < 2:
        _console.fail("--requests must be 2 or more")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    figures: dict[str, dict[str, float]] = {}
    for name, start in _SERVERS.items():
        _console.log(f"{name}: {args.requests} S3 calls …")
        figures[name] = got = measure(start, args.requests)
        print(
            f"{name}: {got['per_s']:.0f} requests/s, CPU per request "
            f"{got['client_ms']:.2f} ms client + {got['server_ms']:.2f} ms server"
        )
    before, after = figures.values()
    ratio = (after["client_ms"] + after["server_ms"]) / (before["client_ms"] + before["server_ms"])
    print(f"moto_http_cpu_ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()

"""Entry point of the moto server child process: `python -m harness.local.moto_child`.

Applies the moto fixes (`--peers`: the services other moto processes serve, where this one
looks up what it would otherwise look up in-process), serves on an OS-chosen port with
keep-alive connections (`moto_http`), prints `{"port": N}` on one line of stdout, and exits
at once on SIGTERM/SIGINT or when its parent goes away. When a fix no longer fits the
installed moto (`moto_fixes.guard`), it prints `{"error": "<one line>"}` instead and exits
with code 2.
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading

from harness.local import moto_fixes, moto_http
from harness.local.moto_fixes.guard import MotoFixOutdated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--kafka-bootstrap", help="the brokers every MSK cluster answers with")
    parser.add_argument("--postgres-address", help="host:port every PostgreSQL database has")
    parser.add_argument("--peers", help="JSON: service -> endpoint of the moto serving it")
    parser.add_argument("--services", help="those it is there for (a label in process lists)")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        moto_fixes.apply(
            kafka_bootstrap=args.kafka_bootstrap,
            postgres_address=args.postgres_address,
            peers=args.peers,
        )
    except MotoFixOutdated as outdated:
        print(json.dumps({"error": str(outdated)}), flush=True)
        sys.exit(2)
    port = moto_http.serve(args.host)

    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    print(json.dumps({"port": port}), flush=True)
    while not done.wait(1.0):
        if os.getppid() != args.parent_pid:
            break
    # at once, not after the requests in flight: a long poll would hold a clean stop 20 s
    os._exit(0)


if __name__ == "__main__":
    main()

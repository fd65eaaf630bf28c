"""Clears a run's scratch folder if the run dies without ending (`kill -9`).

A child of the run (`harness.scratch`) in its own session: it watches its parent and, once
the parent is gone, stops every process marked with the run's scratch folder (Terraform, the
emulators, Locust, the source database, ...) and removes the folder. A run that ends stops
it first (SIGTERM).

`python -m harness.run_reaper --parent-pid P --scratch DIR`
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from harness.scratch import clear

_WATCH_S = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the run's
    while os.getppid() == args.parent_pid:
        time.sleep(_WATCH_S)
    for line in clear(args.scratch):
        print(f"stopped {line}", file=sys.stderr, flush=True)  # its log


if __name__ == "__main__":
    main()

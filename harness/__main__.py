"""`python -m harness` is the `cdcbench` command."""

from harness.cli import main

raise SystemExit(main())

"""Shared fixtures: a temp root every OS user can traverse, and the local target."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.settings import Settings
from harness.targets import Target, make_target


@pytest.fixture(scope="session")
def shared_tmp() -> Iterator[Path]:
    """A temp root PostgreSQL's OS user can reach (pytest's own tmp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="cdcbench-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def local_target(shared_tmp: Path) -> Iterator[Target]:
    """One local target for the whole session (starting one costs a few seconds)."""
    with make_target("local", Settings(), shared_tmp / "session-target") as target:
        yield target

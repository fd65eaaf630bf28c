"""Targets: where a run's source database and AWS API live."""

from pathlib import Path

from harness.settings import Settings
from harness.targets.base import Target
from harness.targets.local import LocalTarget

TARGETS: dict[str, type[Target]] = {t.name: t for t in (LocalTarget,)}


def make_target(name: str, settings: Settings, log_dir: Path) -> Target:
    return TARGETS[name](settings, log_dir)


__all__ = ["TARGETS", "Target", "make_target"]

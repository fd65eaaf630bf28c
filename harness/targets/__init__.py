"""Targets: where a run's source database and AWS API live."""

from pathlib import Path

from harness.settings import Settings
from harness.targets.aws import AwsTarget
from harness.targets.base import Target, TargetOptions
from harness.targets.local import LocalTarget
from harness.targets.localstack import LocalStackTarget

TARGETS: dict[str, type[Target]] = {t.name: t for t in (LocalTarget, LocalStackTarget, AwsTarget)}


def make_target(
    name: str, settings: Settings, log_dir: Path, options: TargetOptions | None = None
) -> Target:
    return TARGETS[name](settings, log_dir, options)


__all__ = ["TARGETS", "Target", "TargetOptions", "make_target"]

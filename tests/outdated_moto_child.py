"""The moto child, run against a moto that no longer fits the fixes: `python -m
tests.outdated_moto_child` behaves as `harness.local.moto_child` after making the installed
moto look like another release. `OUTDATED_MOTO_VERSION`: the version `importlib.metadata`
reports for moto; `OUTDATED_MOTO_DROP`: a dotted `module.Class.attribute` deleted first."""

import importlib
import importlib.metadata
import os

from harness.local import moto_child

_real_version = importlib.metadata.version


def _outdate() -> None:
    fake = os.environ.get("OUTDATED_MOTO_VERSION")
    if fake:
        importlib.metadata.version = lambda name: fake if name == "moto" else _real_version(name)
    drop = os.environ.get("OUTDATED_MOTO_DROP")
    if drop:
        module, cls, attribute = drop.rsplit(".", 2)
        delattr(getattr(importlib.import_module(module), cls), attribute)


if __name__ == "__main__":
    _outdate()
    moto_child.main()

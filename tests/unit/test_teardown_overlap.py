"""A teardown's background destroys end before an apply that would meet what they delete: the
same root module, or an account's once-held resource (DMS's dms-vpc-role) of another."""

import threading
from typing import Any, cast

from harness.terraform import Deployment, Teardown


class _Destroying:
    """Stands in for a deployment whose destroy takes until it is released."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.release = threading.Event()
        self.destroyed = False

    def stop(self) -> None:
        pass

    def destroy(self) -> None:
        self.release.wait(10)
        self.destroyed = True


def _later(teardown: Teardown, module: str, owner: int | None) -> _Destroying:
    deployment = _Destroying(module)
    teardown.later([cast(Deployment, deployment)], owner)
    return deployment


def _cleared(teardown: Teardown, deployment: _Destroying, **clear: Any) -> bool:
    """Whether `clear_of(**clear)` waited for the destroy (released after 0.2 s)."""
    threading.Timer(0.2, deployment.release.set).start()
    teardown.clear_of(**clear)
    waited = deployment.destroyed
    deployment.release.set()
    teardown.finish()
    return waited


def test_another_module_applies_while_a_destroy_runs() -> None:
    teardown = Teardown()
    deployment = _later(teardown, "dms_s3_dynamodb", owner=0)

    assert not _cleared(teardown, deployment, modules=["direct"])


def test_the_same_module_waits_for_its_destroy() -> None:
    teardown = Teardown()
    deployment = _later(teardown, "direct", owner=None)

    assert _cleared(teardown, deployment, modules=["direct"])


def test_an_account_wide_resource_waits_for_the_destroy_that_deletes_it() -> None:
    teardown = Teardown()
    deployment = _later(teardown, "dms_s3_dynamodb", owner=0)

    assert _cleared(teardown, deployment, modules=["dms_msk_lambda"], account_wide=True)


def test_an_account_wide_resource_does_not_wait_for_a_destroy_without_one() -> None:
    teardown = Teardown()
    deployment = _later(teardown, "poller_dynamodb", owner=None)

    assert not _cleared(teardown, deployment, modules=["dms_msk_lambda"], account_wide=True)

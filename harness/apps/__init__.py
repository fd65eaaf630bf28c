"""What the application itself does, in patterns where it writes or emits after its own
commits (the `direct` floor writes the read model; a gateway sends an event). One module per
behaviour, named by a pattern descriptor's `application`; each exposes
`post_commit(outputs, aws) -> PostCommit`, built in every load process from the applied root
module's outputs."""

import importlib
from collections.abc import Callable
from typing import Any

from harness.aws import AwsAccess
from harness.load.ledger import Change

PostCommit = Callable[[Change, dict[str, Any] | None], None]
"""Called by the load generator after each commit, for every change of the transaction: the
change and its row image (None: a delete)."""


def post_commit(application: str, outputs: dict[str, Any], aws: AwsAccess) -> PostCommit:
    """The hook of `harness.apps.<application>` for a deployment with these outputs."""
    module = importlib.import_module(f"{__name__}.{application}")
    hook: PostCommit = module.post_commit(outputs, aws)
    return hook

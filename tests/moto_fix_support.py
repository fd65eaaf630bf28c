"""Apply chosen moto fixes inside the test process, then put moto back as released.

The fix tests run the same calls against moto as released and with one fix applied
(`applied("dynamodb.atomic_writes")`), in process, under `moto.mock_aws`. What a fix patches
is what its guard declares (`harness.local.moto_fixes.guard`): those attributes are saved
before the fix is installed and restored after, so other tests see moto unpatched.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.local import moto_fixes
from harness.local.moto_fixes.guard import Fix, resolve

_ABSENT = object()


def fix_named(name: str) -> Fix:
    (found,) = [one for one in moto_fixes.all_fixes() if one.name == name]
    return found


def _patched_places(one: Fix) -> list[tuple[Any, str]]:
    """(owner, attribute) of each declared target a fix may replace."""
    places = []
    for target in one.targets:
        if not isinstance(target, str):
            continue
        path = target.split("(", 1)[0] if target.endswith(")") and "()." not in target else target
        owner, _, attribute = path.replace("().", ".").rpartition(".")
        places.append((resolve(owner), attribute))
    return places


@contextmanager
def applied(*names: str) -> Iterator[None]:
    """Within the block, moto has these fixes (checked by the guard first)."""
    chosen = [fix_named(name) for name in names]
    saved = [
        (owner, attribute, vars(owner).get(attribute, _ABSENT))
        for one in chosen
        for owner, attribute in _patched_places(one)
    ]
    try:
        for one in chosen:
            one.apply()
        yield
    finally:
        for owner, attribute, value in reversed(saved):
            if vars(owner).get(attribute, _ABSENT) is value:
                continue  # untouched (or something the fix only reads)
            if value is _ABSENT:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, value)


def fixed_upstream(name: str) -> str:
    """The message of a failed 'moto still behaves wrongly' assertion."""
    version = importlib.metadata.version("moto")
    return (
        f"moto {version} no longer shows what fix {name} changes: "
        f"the fix (and this part of its test) can go"
    )

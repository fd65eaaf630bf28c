"""Which of a run's entries share one load (`load.isolation`).

`sequential`: every entry alone. `shared`: entries deployed at once observe one load, the
fairest comparison (the same changes for every pattern). An entry whose pattern has an
application of its own (it writes or emits around its commits, inside the load) cannot share:
the others would measure its hooks too. Two entries of one pattern cannot be deployed at once
(their resources take the same names), so a pattern's second variant starts another group;
and of a resource an account holds once (DMS's `dms-vpc-role`), only the first creates it.
"""

from collections.abc import Callable
from typing import Any

from harness.scenario import Entry

ONCE_PER_ACCOUNT = ("create_dms_vpc_role",)
"""Variables (true: create) of resources an AWS account holds once, under a fixed name."""


def groups(
    entries: list[Entry], isolation: str, has_application: Callable[[str], bool]
) -> list[list[Entry]]:
    """The entries in groups that each get one load, in the order the first of each is
    listed; `has_application(pattern)` says whether a pattern's application takes part."""
    if isolation == "sequential":
        return [[entry] for entry in entries]
    ordered: list[list[Entry]] = []
    open_groups: list[list[Entry]] = []
    for entry in entries:
        if has_application(entry.pattern):
            ordered.append([entry])
            continue
        group = next((g for g in open_groups if entry.pattern not in {e.pattern for e in g}), None)
        if group is None:
            group = []
            open_groups.append(group)
            ordered.append(group)
        group.append(entry)
    return ordered


def account_owner(variables: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int | None]:
    """For deployments applied at once, given each one's effective variables: what each must
    set besides, so that only the first to create a once-per-account resource creates it, and
    which one that is (it must be destroyed last; None when none creates one)."""
    extra: list[dict[str, Any]] = [{} for _ in variables]
    owner = None
    for index, values in enumerate(variables):
        for name in ONCE_PER_ACCOUNT:
            if values.get(name) is True:
                if owner is None or owner == index:
                    owner = index
                else:
                    extra[index][name] = False
    return extra, owner


def failures_of(failures: dict[str, str], mine: set[str], others: list[set[str]]) -> dict[str, str]:
    """Of the failures of emulated services (by name: reason), those that are one
    deployment's: naming one of its resources (`mine`: ids, names, ARNs), or no other's."""
    return {
        name: why
        for name, why in failures.items()
        if any(n in name for n in mine) or not any(n in name for o in others for n in o)
    }


def usage_of(used: dict[str, float], mine: set[str], others: set[str]) -> dict[str, float]:
    """Of what the target counted under a shared load (by price key), one deployment's: the
    prices only its resources incur (`mine`, and `others` for the rest of the group). The
    rest cannot be told apart: it is left out, and its cost shows as not counted."""
    return {key: n for key, n in used.items() if key in mine and key not in others}

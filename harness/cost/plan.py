"""What a pattern would pay for, read from a Terraform plan before anything exists.

`terraform show -json` of a saved plan describes each resource the apply would leave, in
`planned_values`: per module, one object per instance with its `values` (those unknown
until apply are absent) and `sensitive_values` (the same shape, `true` where Terraform
marks a value sensitive). `resources_from_plan` regroups those objects into the version-4
state shape `extract_resources` reads, so a plan and a state are priced by the same code.
"""

from collections import Counter
from collections.abc import Iterator
from typing import Any

from harness.cost.prices import PriceTable
from harness.cost.resources import Resource, extract_resources

_CREATING = "create"


def _modules(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`module` and every module nested in it, parents first."""
    yield module
    for child in module.get("child_modules") or []:
        yield from _modules(child)


def _sensitive_paths(marks: Any, path: tuple[dict[str, Any], ...] = ()) -> list[list[Any]]:
    """A plan's `sensitive_values` as a state's `sensitive_attributes`: one path of steps per
    value marked `true`."""
    if marks is True:
        return [list(path)] if path else []
    if isinstance(marks, dict):
        return [
            found
            for name, inner in marks.items()
            for found in _sensitive_paths(inner, (*path, {"type": "get_attr", "value": name}))
        ]
    if isinstance(marks, list):
        return [
            found
            for index, inner in enumerate(marks)
            for found in _sensitive_paths(
                inner, (*path, {"type": "index", "value": {"value": index, "type": "number"}})
            )
        ]
    return []


def plan_as_state(plan: dict[str, Any]) -> dict[str, Any]:
    """The resources of a plan's `planned_values` in a version-4 state's shape: one entry per
    module, mode, type and name, with an instance per planned object."""
    root = (plan.get("planned_values") or {}).get("root_module") or {}
    grouped: dict[tuple[str | None, str, str, str], dict[str, Any]] = {}
    for module in _modules(root):
        module_address = module.get("address")  # absent for the root module
        for planned in module.get("resources") or []:
            identity = (module_address, planned["mode"], planned["type"], planned["name"])
            if identity not in grouped:
                module_key = {"module": module_address} if module_address else {}
                grouped[identity] = module_key | {
                    "mode": planned["mode"],
                    "type": planned["type"],
                    "name": planned["name"],
                    "instances": [],
                }
            instance: dict[str, Any] = {
                "attributes": planned.get("values") or {},
                "sensitive_attributes": _sensitive_paths(planned.get("sensitive_values")),
            }
            if planned.get("index") is not None:
                instance["index_key"] = planned["index"]
            grouped[identity]["instances"].append(instance)
    return {"version": 4, "resources": list(grouped.values())}


def resources_from_plan(plan: dict[str, Any], prices: PriceTable | None = None) -> list[Resource]:
    """The billable Resources a parsed JSON plan (`terraform show -json PLANFILE`) would
    leave deployed, priced as `extract_resources` prices a state."""
    return extract_resources(plan_as_state(plan), prices)


def created(plan: dict[str, Any]) -> Counter[str]:
    """How many managed resources of each type the plan creates (replacements included)."""
    return Counter(
        change["type"]
        for change in plan.get("resource_changes") or []
        if change.get("mode") == "managed"
        and _CREATING in (change.get("change") or {}).get("actions", [])
    )


def planned_types(plan: dict[str, Any]) -> list[str]:
    """The distinct types of the managed resources the plan creates, sorted."""
    return sorted(created(plan))

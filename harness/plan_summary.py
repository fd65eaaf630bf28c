"""What `cdcbench run --plan-only` prints: per pattern, the resources its plan would create
(by type) and their fixed charges per hour from the cost model; then the total."""

from typing import Any

from harness.cost.estimate import hourly_cost
from harness.cost.plan import created, resources_from_plan


def print_plans(plans: dict[str, dict[str, Any]]) -> float:
    """Print each plan's resources and hourly cost; the total per hour in USD."""
    total = 0.0
    for name, plan in plans.items():
        planned = created(plan)
        cost = hourly_cost(resources_from_plan(plan))
        total += cost.usd_per_hour
        print(f"{name}: {sum(planned.values())} resources, about ${cost.usd_per_hour:,.3f}/hour")
        for kind, count in sorted(planned.items()):
            print(f"  {count:>3} {kind}")
        for unpriced in cost.unpriced:
            print(f"  not priced: {unpriced.address} ({unpriced.reason})")
        if cost.per_use_keys:
            print(f"  plus per use: {', '.join(cost.per_use_keys)}")
    print(f"Total: about ${total:,.3f} per hour while deployed (fixed charges)")
    return total

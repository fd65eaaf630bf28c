"""Cost per month of a deployed pattern: a dated AWS price table (`prices.yaml`, each line
with its public source), the billable resources read from a Terraform state, and the
estimate at a given rate of changes per second."""

from harness.cost.estimate import CostEstimate, CostLine, monthly_cost
from harness.cost.prices import Price, PriceTable, default_prices, load_price_table
from harness.cost.resources import Resource, extract_resources, summarize_state

__all__ = [
    "CostEstimate",
    "CostLine",
    "Price",
    "PriceTable",
    "Resource",
    "default_prices",
    "extract_resources",
    "load_price_table",
    "monthly_cost",
    "summarize_state",
]

"""Cost per month of a deployed pattern at a given rate of changes per second.

Fixed lines come from the deployed Resources (units x 730 hours for hourly prices, units
for monthly ones). Per-use lines come from a usage model: for each per-use price, the
quantity one change consumes in that price's units (0.01 Lambda requests per change when
a batch carries a hundred changes, one PUT payload unit per change, ...), scaled by the
rate over a 730-hour month. Every line carries its unit price and the page it comes from;
the assumptions name the table's date and Region and what could not be priced.

`hourly_cost` gives what the same resources cost per hour before any change flows (a
preflight's figure): the fixed lines only, monthly prices spread over the 730 hours, and
the per-use prices they would incur named beside it.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from harness.cost.prices import Price, PriceTable, default_prices
from harness.cost.resources import Resource

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


class CostLine(BaseModel):
    """One priced quantity: `quantity_per_month` units at `usd` per `per` units."""

    model_config = ConfigDict(frozen=True)

    price_key: str
    basis: Literal["fixed", "per use"]
    what: str  # the resource address, or "usage model"
    quantity_per_month: float
    usd: float
    per: float
    unit: str
    usd_per_month: float
    source: str


class Unpriced(BaseModel):
    """A deployed resource the table cannot price, and why."""

    model_config = ConfigDict(frozen=True)

    address: str
    kind: str
    reason: str


class Assumptions(BaseModel):
    """What every figure of an estimate rests on."""

    model_config = ConfigDict(frozen=True)

    hours_per_month: int
    prices_as_of: str
    region: str
    unpriced: list[Unpriced]
    usage_not_given: list[str]  # per-use prices deployed resources incur, costed at 0


class HourlyLine(BaseModel):
    """One fixed charge per hour of a resource."""

    model_config = ConfigDict(frozen=True)

    address: str
    price_key: str
    usd_per_hour: float


class HourlyCost(BaseModel):
    """What resources cost per hour with nothing flowing: fixed charges only (monthly ones
    spread over `HOURS_PER_MONTH`); `per_use_keys` are the per-use prices they would incur
    on top, and `unpriced` what the table cannot price."""

    model_config = ConfigDict(frozen=True)

    usd_per_hour: float
    lines: list[HourlyLine]
    unpriced: list[Unpriced]
    per_use_keys: list[str]


class CostEstimate(BaseModel):
    """A monthly cost: its lines, fixed and per-use subtotals, total and assumptions."""

    model_config = ConfigDict(frozen=True)

    changes_per_s: float
    lines: list[CostLine]
    fixed_usd_per_month: float
    per_use_usd_per_month: float
    total_usd_per_month: float
    assumptions: Assumptions


def monthly_cost(
    resources: Iterable[Resource],
    usage_per_change: Mapping[str, float],
    changes_per_s: float,
    prices: PriceTable | None = None,
) -> CostEstimate:
    """The monthly cost of `resources` when `changes_per_s` changes flow through them.

    `usage_per_change` maps per-use price keys to the quantity one change consumes, in the
    price's units. ValueError for a negative rate or quantity, an unknown key, or a key
    that is not a per-use price.
    """
    table = prices or default_prices()
    if changes_per_s < 0:
        raise ValueError(f"changes per second must be >= 0, got {changes_per_s}")
    resources = list(resources)
    lines = [
        _line(price.key, "fixed", resource.address, _units_per_month(resource, price), table)
        for resource, price in _fixed_prices(resources, table)
    ]

    for key, per_change in usage_per_change.items():
        if key not in table.prices:
            raise ValueError(f"usage per change: no price for {key} in the table")
        if table.price(key).charged != "use":
            raise ValueError(f"usage per change: {key} is not a per-use price")
        if per_change < 0:
            raise ValueError(f"usage per change: {key} must be >= 0, got {per_change}")
        quantity = per_change * changes_per_s * SECONDS_PER_MONTH
        lines.append(_line(key, "per use", "usage model", quantity, table))

    fixed = sum(line.usd_per_month for line in lines if line.basis == "fixed")
    per_use = sum(line.usd_per_month for line in lines if line.basis == "per use")
    return CostEstimate(
        changes_per_s=changes_per_s,
        lines=lines,
        fixed_usd_per_month=fixed,
        per_use_usd_per_month=per_use,
        total_usd_per_month=fixed + per_use,
        assumptions=Assumptions(
            hours_per_month=HOURS_PER_MONTH,
            prices_as_of=table.as_of.isoformat(),
            region=table.region,
            unpriced=_unpriced(resources),
            usage_not_given=sorted(_incurred(resources) - set(usage_per_change)),
        ),
    )


def hourly_cost(resources: Iterable[Resource], prices: PriceTable | None = None) -> HourlyCost:
    """The fixed cost per hour of `resources` (e.g. those a plan would create): hourly prices
    as they are, monthly ones divided by `HOURS_PER_MONTH`; per-use prices are only named.
    ValueError for a resource whose price key is a per-use price."""
    table = prices or default_prices()
    resources = list(resources)
    lines = [
        HourlyLine(
            address=resource.address,
            price_key=price.key,
            usd_per_hour=price.usd_for(_units_per_month(resource, price)) / HOURS_PER_MONTH,
        )
        for resource, price in _fixed_prices(resources, table)
    ]
    return HourlyCost(
        usd_per_hour=sum(line.usd_per_hour for line in lines),
        lines=lines,
        unpriced=_unpriced(resources),
        per_use_keys=sorted(_incurred(resources)),
    )


def _fixed_prices(resources: list[Resource], table: PriceTable) -> Iterator[tuple[Resource, Price]]:
    """Each resource with a fixed price, and that price; ValueError for a per-use one."""
    for resource in resources:
        if resource.price_key is None:
            continue
        price = table.price(resource.price_key)
        if price.charged == "use":
            raise ValueError(f"{resource.address}: {price.key} is a per-use price, not a fixed one")
        yield resource, price


def _units_per_month(resource: Resource, price: Price) -> float:
    """The units a month of `resource` bills at its fixed `price`."""
    return resource.count * (HOURS_PER_MONTH if price.charged == "hour" else 1)


def _unpriced(resources: list[Resource]) -> list[Unpriced]:
    return [
        Unpriced(address=r.address, kind=r.kind, reason=r.reason)
        for r in resources
        if r.price_key is None and r.reason is not None
    ]


def _incurred(resources: list[Resource]) -> set[str]:
    """The per-use prices `resources` incur as they work."""
    return {key for resource in resources for key in resource.usage_keys}


def _line(
    key: str, basis: Literal["fixed", "per use"], what: str, quantity: float, table: PriceTable
) -> CostLine:
    price = table.price(key)
    return CostLine(
        price_key=key,
        basis=basis,
        what=what,
        quantity_per_month=quantity,
        usd=price.usd,
        per=price.per,
        unit=price.unit,
        usd_per_month=price.usd_for(quantity),
        source=price.source,
    )

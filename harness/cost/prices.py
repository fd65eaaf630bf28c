"""The price table: AWS list prices as dated data with a public source per line.

`prices.yaml` beside this module is the default table (one Region, one `as_of` date). Each
entry prices `per` units (the multiplier carries "per million" and the like, so no unit text
is ever parsed) and says how units accrue: per provisioned unit and hour, per unit and
month, or per unit consumed. Loading validates every entry and names the bad one.
"""

import datetime
import functools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_TABLE = Path(__file__).with_name("prices.yaml")

Charged = Literal["hour", "month", "use"]


class Price(BaseModel):
    """One price line: `usd` buys `per` units of `unit`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1)
    usd: float = Field(gt=0)
    per: float = Field(gt=0)
    unit: str = Field(min_length=1)
    charged: Charged
    source: str
    checked: bool

    @field_validator("source")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL")
        return value

    def usd_for(self, quantity: float) -> float:
        """The price of `quantity` units."""
        return quantity * self.usd / self.per


class PriceTable(BaseModel):
    """The prices of one Region on one date."""

    model_config = ConfigDict(frozen=True)

    as_of: datetime.date
    region: str
    prices: dict[str, Price]

    def price(self, key: str) -> Price:
        """The price under `key`; KeyError naming it when the table has none."""
        try:
            return self.prices[key]
        except KeyError:
            raise KeyError(f"no price for {key} in the table") from None

    def has(self, key: str) -> bool:
        return key in self.prices


_TOP_LEVEL = {"as_of", "region", "prices"}


def parse_price_table(data: Any, origin: str = "price table") -> PriceTable:
    """A table from its YAML document; ValueError naming `origin` and the bad entry."""
    if not isinstance(data, dict):
        raise ValueError(f"{origin}: expected a mapping with {sorted(_TOP_LEVEL)}")
    unknown = sorted(set(data) - _TOP_LEVEL)
    missing = sorted(_TOP_LEVEL - set(data))
    if unknown or missing:
        raise ValueError(f"{origin}: unknown keys {unknown}, missing keys {missing}")
    if not isinstance(data["region"], str) or not data["region"]:
        raise ValueError(f"{origin}: region must be a Region name")
    as_of = data["as_of"]
    if isinstance(as_of, str):
        try:
            as_of = datetime.date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"{origin}: as_of must be a date (YYYY-MM-DD)") from None
    if not isinstance(as_of, datetime.date):
        raise ValueError(f"{origin}: as_of must be a date (YYYY-MM-DD)")
    if not isinstance(data["prices"], list) or not data["prices"]:
        raise ValueError(f"{origin}: prices must be a non-empty list of entries")

    prices: dict[str, Price] = {}
    for index, entry in enumerate(data["prices"]):
        name = entry.get("key") if isinstance(entry, dict) else None
        label = f"entry {name}" if isinstance(name, str) and name else f"entry #{index + 1}"
        try:
            price = Price.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'entry'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"{origin}: {label}: {problems}") from None
        if price.key in prices:
            raise ValueError(f"{origin}: {label}: key appears twice")
        prices[price.key] = price
    return PriceTable(as_of=as_of, region=data["region"], prices=prices)


def load_price_table(path: Path) -> PriceTable:
    """The table in the YAML file at `path`."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the price table: {exc}") from None
    return parse_price_table(data, str(path))


@functools.cache
def default_prices() -> PriceTable:
    """The table shipped beside this module, loaded once."""
    return load_price_table(DEFAULT_TABLE)

"""The dated, sourced tax rate table (`oms/tax/data/sales_tax_rates.json`), read once per container.

Every US state and the District of Columbia: the general state rate, whether localities add their own
sales taxes, and whether shipping is commonly taxed; a few countries' standard VAT/GST rates. The file
names its sources and the date the rates apply from; a change is reviewed like code (decision 0021).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from oms.domain.pricing import TaxLevel

TABLE_FILE = Path(__file__).resolve().parent / "data" / "sales_tax_rates.json"


@dataclass(frozen=True)
class RateComponent:
    title: str
    rate: Decimal
    level: TaxLevel


@dataclass(frozen=True)
class Jurisdiction:
    key: str
    """"US-CA", "GB", "CA-ON"."""
    name: str
    components: tuple[RateComponent, ...]
    local_taxes: bool
    """Whether counties, cities or districts add sales taxes of their own (US)."""
    shipping_taxable: bool
    state_only_rate: Decimal | None = None
    """The state's own part where `rate` includes a statewide local rate (California, Utah, Virginia)."""

    @property
    def rate(self) -> Decimal:
        return sum((c.rate for c in self.components), Decimal(0))

    @property
    def state_rates(self) -> frozenset[Decimal]:
        """Rates a channel's STATE-level tax line may show for this jurisdiction."""
        rates = {self.rate}
        if self.state_only_rate is not None:
            rates.add(self.state_only_rate)
        return frozenset(rates)


@dataclass(frozen=True)
class RateTable:
    version: str
    sources: dict[str, Any]
    jurisdictions: dict[str, Jurisdiction]

    def get(self, key: str) -> Jurisdiction | None:
        return self.jurisdictions.get(key)

    @property
    def source(self) -> str:
        """Short, for the order's record: the data file names the sources in full."""
        return f"rate table {self.version}"


def _jurisdiction(key: str, raw: dict[str, Any]) -> Jurisdiction:
    if "components" in raw:
        components = tuple(
            RateComponent(c["title"], Decimal(c["rate"]), TaxLevel(c["level"])) for c in raw["components"]
        )
    else:
        code = key.split("-", 1)[1]
        components = (RateComponent(f"{code} State Tax", Decimal(raw["rate"]), TaxLevel.STATE),)
    state_only = raw.get("state_only_rate")
    return Jurisdiction(
        key=key,
        name=raw["name"],
        components=components,
        local_taxes=bool(raw.get("local_taxes", False)),
        shipping_taxable=bool(raw["shipping_taxable"]),
        state_only_rate=Decimal(state_only) if state_only is not None else None,
    )


@cache
def load_rate_table(path: Path = TABLE_FILE) -> RateTable:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return RateTable(
        version=raw["version"],
        sources=raw["sources"],
        jurisdictions={key: _jurisdiction(key, value) for key, value in raw["jurisdictions"].items()},
    )


_LEVEL_WORDS: tuple[tuple[re.Pattern[str], TaxLevel], ...] = (
    (
        re.compile(r"\b(district|special|transit|transportation|mta|stadium|rta|spd)\b", re.I),
        TaxLevel.DISTRICT,
    ),
    (re.compile(r"\b(county|parish|borough)\b", re.I), TaxLevel.COUNTY),
    (re.compile(r"\b(city|municipal|town|village)\b", re.I), TaxLevel.CITY),
    (re.compile(r"\b(state|province|provincial|pst|qst|rst)\b", re.I), TaxLevel.STATE),
    (re.compile(r"\b(vat|gst|mwst|tva|btw|iva|federal)\b", re.I), TaxLevel.COUNTRY),
)


def guess_level(title: str) -> TaxLevel:
    """The level of a channel's tax line from its title ("Los Angeles County Tax" → COUNTY); COMBINED when
    the title does not say ("Sales Tax", "Tax")."""
    for pattern, level in _LEVEL_WORDS:
        if pattern.search(title):
            return level
    return TaxLevel.COMBINED

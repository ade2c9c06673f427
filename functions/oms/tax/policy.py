"""Which tax calculator a channel's orders are checked with, and its settings (part of the pricing policy
in SSM `PricingPolicyParameter`, so finance changes them without a deploy)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oms.domain.pricing import TaxRounding

CalculatorName = Literal["rate_table", "channel", "engine"]
DEFAULT = "default"


class TaxPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    calculator: CalculatorName = "rate_table"
    """rate_table: the dated table (oms/tax/data); channel: the channel is the calculator of record (its tax
    lines are accepted when their rates are plausible for the destination); engine: the external engine."""
    rounding: TaxRounding | None = None
    """Overrides the channel adapter's convention (WooCommerce's "round tax at subtotal level" is a store
    setting the webhook does not carry)."""
    nexus: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]] | None = None
    """Where the seller collects tax ("US-NJ", or "GB" for a whole country); None: everywhere in the table.
    Elsewhere the rate table expects no tax."""
    shipping_taxable: dict[str, bool] = Field(default_factory=dict)
    """Per jurisdiction, overrides the table's common case of whether shipping is taxed."""
    max_local_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.2"))] = Decimal("0.09")
    """The largest local (county + city + district) rate taken as plausible on top of a state's rate."""

    def collects_in(self, jurisdiction: str) -> bool:
        if self.nexus is None:
            return True
        country = jurisdiction.split("-", 1)[0]
        return jurisdiction in self.nexus or country in self.nexus

    def ships_taxed(self, jurisdiction: str, table_default: bool) -> bool:
        return self.shipping_taxable.get(jurisdiction, table_default)


class TaxEngineSettings(BaseModel):
    """Where the external engine quotes from (TaxJar's `from_*` fields); its URL and token are in Secrets
    Manager (`TaxEngineCredentials`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["taxjar"] = "taxjar"
    from_country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    from_state: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")] | None = None
    from_zip: Annotated[str, StringConstraints(max_length=20)] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 4.0


def tax_policy_for(policies: dict[str, TaxPolicy], channel: str) -> TaxPolicy:
    return policies.get(channel) or policies.get(DEFAULT) or TaxPolicy()

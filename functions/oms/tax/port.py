"""The tax port: what validation asks a tax calculator, and what it gets back.

A `TaxRequest` describes what is taxed (each line, shipping line and fee, with the amount after discounts,
and the tax the channel charged on it) and where it goes; a calculator answers a `TaxQuote`: the tax lines
it expects on each item, or the problems that keep it from quoting (an unknown jurisdiction, a channel rate
that is not plausible). Validation compares the quote with what the channel charged (`oms.pricing.checks`).

Adapters: `RateTableCalculator` (the dated table in `oms/tax/data`), `ChannelCalculator` (the channel is
the calculator of record), `TaxEngineCalculator` (an external engine over HTTP, TaxJar's request/response
shape). The pricing policy names one per channel.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from oms.domain.order import Address
from oms.domain.pricing import ItemKind, TaxLine
from oms.domain.status import HoldReason
from oms.money import ZERO, round_money
from oms.pricing.taxmath import RateSpec, exact_taxes
from oms.privacy.classification import classified


class TaxableItem(BaseModel):
    """One thing the order charges for, as the channel priced it."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    """Unique within the request: "line:<id>", "shipping:<id>", "fee:<id>"."""
    kind: ItemKind
    description: str
    sku: str | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    discount: Decimal = ZERO
    amount: Decimal
    """After discounts; tax-inclusive when the request's prices are."""
    taxable: bool = True
    """The channel's flag (Shopify `taxable`, WooCommerce fee `tax_status`)."""
    channel_taxes: list[TaxLine] = Field(default_factory=list)
    """The tax lines the channel charged (may be empty)."""
    channel_tax: Decimal = ZERO


@classified(
    personal=("destination",), financial=("currency", "prices_include_tax", "items"), operational=("channel",)
)
class TaxRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    currency: str
    destination: Address
    prices_include_tax: bool = False
    items: list[TaxableItem]


class ItemTax(BaseModel):
    """The tax a calculator expects on one item: lines with rounded amounts, and the unrounded amounts."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    lines: list[TaxLine] = Field(default_factory=list)
    exact: list[Decimal] = Field(default_factory=list)
    """Unrounded amount of each line (for channels that round once per order)."""

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def rate(self) -> Decimal:
        return sum((line.rate or ZERO for line in self.lines), ZERO)


class TaxProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: HoldReason
    message: str
    item_id: str | None = None


class TaxQuote(BaseModel):
    model_config = ConfigDict(frozen=True)

    calculator: str
    source: str
    """Where the rates came from (the table's version and source, the engine, the channel)."""
    items: list[ItemTax] = Field(default_factory=list)
    problems: list[TaxProblem] = Field(default_factory=list)

    def for_item(self, item_id: str) -> ItemTax | None:
        return next((item for item in self.items if item.item_id == item_id), None)


class TaxCalculator(Protocol):
    name: str

    def quote(self, request: TaxRequest) -> TaxQuote:
        """Expected tax per item, or the problems that keep the calculator from quoting."""


class TaxEngineUnavailableError(Exception):
    """The external tax engine could not be reached or answered garbage: the validation step is retried."""


def priced(
    item: TaxableItem, rates: list[tuple[RateSpec, TaxLine]], *, inclusive: bool, currency: str
) -> ItemTax:
    """The expected tax lines of `item` at `rates` (each a spec and the line template it becomes)."""
    exact = exact_taxes(item.amount, [spec for spec, _ in rates], inclusive=inclusive)
    lines = [
        template.model_copy(update={"amount": round_money(value, currency), "rate": spec.rate})
        for (spec, template), value in zip(rates, exact, strict=True)
    ]
    return ItemTax(item_id=item.item_id, lines=lines, exact=exact)

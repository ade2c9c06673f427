"""The pricing components of an order, as every channel's payload is turned into them (docs/decisions/0020).

One model for Shopify, WooCommerce, the web shop and the ERP: lines (unit price, quantity, discount
allocations, tax lines), order-level discounts with the amount the channel states for each, shipping lines and
fees with their own discounts and tax, tax-inclusive or tax-exclusive prices, and the channel's rounding
convention. `oms.pricing` computes the breakdown (what the invoice shows) and checks every total the channel
sent against it.

Amounts are the channel's, in the currency's minor unit. With `prices_include_tax`, unit prices, discounts,
shipping and fees include their tax (as Shopify's `taxes_included` and WooCommerce's `prices_include_tax`
shops show them); the tax lines then say how much of each amount is tax.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from oms.money import ZERO, Money, NonNegativeMoney

TITLE_MAX = 255
"""Tax line titles, discount codes and titles, shipping method titles: Shopify's limit for its string
fields (255, see `oms.channels.fields`); WooCommerce stores them in `text` columns."""

Title = Annotated[str, Field(max_length=TITLE_MAX)]


def _rate(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError("a tax rate must be given as a string or Decimal, not a float")
    try:
        result = Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError("must be a decimal rate") from exc
    return result


def _rate_range(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 1:
        raise ValueError("a tax rate is a fraction between 0 and 1 (0.0725 for 7.25 %)")
    if value != value.quantize(Decimal("0.0000001")):
        raise ValueError("a tax rate has at most 7 decimals (5 after the percent's point)")
    return value.normalize() if value else Decimal(0)


TaxRate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    AfterValidator(_rate_range),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
"""A tax rate as a fraction (Decimal('0.0725') for 7.25 %); a string in JSON."""


class TaxLevel(StrEnum):
    """Which government levies a tax line (US sales tax is levied by several at once)."""

    COUNTRY = "COUNTRY"
    """VAT, GST: one national rate."""
    STATE = "STATE"
    """A US state's (or a Canadian province's) own rate."""
    COUNTY = "COUNTY"
    CITY = "CITY"
    DISTRICT = "DISTRICT"
    """A special taxing district (transit, stadium, …)."""
    COMBINED = "COMBINED"
    """One line for several levels together (a shop that shows "Sales Tax 8.875 %")."""


class ItemKind(StrEnum):
    LINE = "LINE"
    SHIPPING = "SHIPPING"
    FEE = "FEE"


class TaxLine(BaseModel):
    """One tax on one item (a line, a shipping line or a fee), as a channel or a tax calculator states it."""

    model_config = ConfigDict(frozen=True)

    title: Title
    """As shown to the customer ("CA State Tax", "Los Angeles County Tax", "VAT")."""
    rate: TaxRate | None = None
    """None when the channel states an amount without a rate."""
    amount: Money
    """Negative only on a negative fee (a WooCommerce fee used as a discount)."""
    level: TaxLevel = TaxLevel.COMBINED
    jurisdiction: Annotated[str, Field(max_length=64)] | None = None
    """ISO 3166 key of the government it belongs to where known ("US-CA"); local ones add a name."""
    compound: bool = False
    """Charged on the amount plus the other (non-compound) taxes of the item (WooCommerce compound rates)."""

    @property
    def key(self) -> tuple[str, Decimal | None]:
        """What identifies a jurisdiction's tax across the items of an order: its title and rate."""
        return (self.title, self.rate)


class DiscountAllocation(BaseModel):
    """The part of an order discount (by its key) carried by one item."""

    model_config = ConfigDict(frozen=True)

    discount: Title
    """The `OrderDiscount.key` it belongs to; "line" for a discount the channel gives on the line only."""
    amount: NonNegativeMoney


LINE_DISCOUNT = "line"
"""The key of a discount a channel gives on a line without naming an order discount."""

DiscountKind = Literal["code", "automatic", "manual", "script", "coupon", "line"]
DiscountTarget = Literal["line_item", "shipping_line"]


class OrderDiscount(BaseModel):
    """A discount of the order as the channel declares it (Shopify `discount_applications` with the amounts of
    `discount_codes`; WooCommerce `coupon_lines`; the web shop's `discounts`)."""

    model_config = ConfigDict(frozen=True)

    key: Title
    """Unique within the order: the code, else the title, else the position."""
    kind: DiscountKind = "code"
    code: Title | None = None
    title: Title | None = None
    target: DiscountTarget = "line_item"
    value_type: Literal["percentage", "fixed_amount"] | None = None
    value: Annotated[Decimal, Field(ge=0, le=Decimal("1000000000"))] | None = None
    """Percent (10 for 10 %) or money, as `value_type` says."""
    allocation_method: Literal["across", "each", "one"] | None = None
    target_selection: Literal["all", "entitled", "explicit"] | None = None
    amount: NonNegativeMoney | None = None
    """What the channel says the discount is worth in total (None when it does not say)."""

    @property
    def label(self) -> str:
        return self.code or self.title or self.key


class Charge(BaseModel):
    """A shipping line or a fee: its own amount, discount and tax."""

    model_config = ConfigDict(frozen=True)

    charge_id: Annotated[str, Field(min_length=1, max_length=80)]
    title: Title
    amount: Money
    """Before its discount; tax-inclusive when the order's prices are. Negative only for a fee."""
    discount: NonNegativeMoney = ZERO
    discounts: list[DiscountAllocation] = Field(default_factory=list, max_length=50)
    tax: Money = ZERO
    taxes: list[TaxLine] = Field(default_factory=list, max_length=20)
    taxable: bool = True

    @property
    def net(self) -> Decimal:
        return self.amount - self.discount

    @model_validator(mode="after")
    def _check(self) -> Charge:
        if self.discounts and sum((d.amount for d in self.discounts), ZERO) != self.discount:
            raise ValueError(f"{self.charge_id}: the discount allocations do not add up to the discount")
        if self.taxes and sum((t.amount for t in self.taxes), ZERO) != self.tax:
            raise ValueError(f"{self.charge_id}: the tax lines do not add up to the tax")
        if self.amount >= 0 and self.discount > self.amount:
            raise ValueError(f"{self.charge_id}: the discount exceeds the amount")
        return self


class ChannelTotals(BaseModel):
    """Totals a channel states beyond the tax and grand totals (each checked against the components when
    given; None when the channel does not send it)."""

    model_config = ConfigDict(frozen=True)

    subtotal: Money | None = None
    """Σ unit price x quantity, before discounts (Shopify `total_line_items_price`)."""
    net_subtotal: Money | None = None
    """Σ line amounts after their discounts (Shopify `subtotal_price`)."""
    discount_total: Money | None = None
    """Σ discounts (Shopify `total_discounts`, WooCommerce `discount_total` [+ `discount_tax`])."""
    shipping_tax: Money | None = None
    fee_total: Money | None = None
    tax_lines: list[TaxLine] = Field(default_factory=list, max_length=50)
    """The order-level tax lines (per jurisdiction, over every item), e.g. Shopify's and WooCommerce's
    order `tax_lines`."""


TaxRounding = Literal["line", "order"]
"""Where the channel rounds tax: per item and tax line (Shopify; WooCommerce by default), or once per
jurisdiction over the order (WooCommerce's "round tax at subtotal level")."""


# --- the breakdown: what the invoice shows (computed by oms.pricing.breakdown) -------------------------


class ItemBreakdown(BaseModel):
    """One line, shipping line or fee of the invoice."""

    model_config = ConfigDict(frozen=True)

    kind: ItemKind
    item_id: str
    sku: str | None = None
    description: str
    quantity: int = 1
    unit_price: Money | None = None
    gross: Money
    discounts: list[DiscountAllocation] = Field(default_factory=list)
    discount: Money = ZERO
    net: Money
    """gross - discount (tax-inclusive when prices are)."""
    taxes: list[TaxLine] = Field(default_factory=list)
    tax: Money = ZERO
    tax_rate: TaxRate | None = None
    """The item's combined rate when every tax line has one."""
    taxable_amount: Money
    """The amount tax is charged on: net, or net less its tax when prices include tax."""
    total: Money
    """What the item costs the customer: net + tax, or net when prices include tax."""


class DiscountSummary(BaseModel):
    """One discount of the order and where it went."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    kind: str
    on_lines: Money = ZERO
    on_shipping: Money = ZERO
    on_fees: Money = ZERO

    @property
    def amount(self) -> Decimal:
        return self.on_lines + self.on_shipping + self.on_fees


class JurisdictionTax(BaseModel):
    """The tax of one jurisdiction (one title and rate) over every item of the order."""

    model_config = ConfigDict(frozen=True)

    title: str
    rate: TaxRate | None = None
    level: TaxLevel = TaxLevel.COMBINED
    jurisdiction: str | None = None
    taxable_amount: Money
    amount: Money


class PriceBreakdown(BaseModel):
    """Every amount of an order's price, from its components."""

    model_config = ConfigDict(frozen=True)

    currency: str
    prices_include_tax: bool
    tax_rounding: TaxRounding
    lines: list[ItemBreakdown]
    shipping: list[ItemBreakdown] = Field(default_factory=list)
    fees: list[ItemBreakdown] = Field(default_factory=list)
    discounts: list[DiscountSummary] = Field(default_factory=list)
    taxes: list[JurisdictionTax] = Field(default_factory=list)
    subtotal: Money
    """Σ unit price x quantity of the lines."""
    line_discount_total: Money
    line_net_total: Money
    shipping_discount_total: Money
    shipping_total: Money
    """Σ shipping after its discounts."""
    fee_total: Money
    line_tax: Money
    shipping_tax: Money
    fee_tax: Money
    tax_total: Money
    grand_total: Money
    """line_net_total + shipping_total + fee_total (+ tax_total when prices exclude tax)."""

    @property
    def items(self) -> list[ItemBreakdown]:
        return [*self.lines, *self.shipping, *self.fees]

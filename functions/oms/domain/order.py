"""The canonical order: what every sales channel's payload is turned into before anything else happens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from oms.domain.pricing import (
    LINE_DISCOUNT,
    ChannelTotals,
    Charge,
    DiscountAllocation,
    ItemKind,
    OrderDiscount,
    PriceBreakdown,
    TaxLine,
    TaxRounding,
)
from oms.domain.status import BillingStatus, HoldReason, OrderStatus
from oms.money import MINOR_UNITS, ZERO, Money, NonNegativeMoney, round_money, scale_violation
from oms.privacy.classification import classified

MAX_LINES_PER_ORDER = 40
"""All lines of an order reserve in one DynamoDB transaction (100 items at most); see docs/decisions."""

_ORDER_ID_NAMESPACE = uuid.UUID("6f1c0a52-3c1e-4d8e-9a57-5b8b8f0e2c11")

# Identifiers from outside end up in DynamoDB keys, S3 keys and Step Functions execution names:
# a conservative alphabet keeps every one of them safe.
SafeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,79}$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_text(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


TEXT_MAX = 255
"""Names and address lines: Shopify's hard limit for its address and title fields is 255 characters (a
Shopify engineer in Shopify/active_shipping#290; "Shopify allows up to 255" in
frappe/ecommerce_integrations#234). WooCommerce keeps them in `text` columns (up to 64 KB: the
`wc_order_addresses` schema in woocommerce/woocommerce, src/Internal/DataStores/Orders/
OrdersTableDataStore.php), so a longer WooCommerce address is refused with the field named, and a longer
name is shortened to this length."""

Text = Annotated[str, StringConstraints(max_length=TEXT_MAX), AfterValidator(_clean_text)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def order_id_for(channel: str, external_id: str) -> str:
    """Derived from (channel, external id): one channel order can only ever be one OMS order."""
    return "ord_" + uuid.uuid5(_ORDER_ID_NAMESPACE, f"{channel}\x1f{external_id}").hex[:24]


@classified(personal=("name", "line1", "line2", "city", "postal_code"), operational=("region", "country"))
class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Text
    line1: Text
    line2: Text | None = None
    city: Text
    region: RegionCode | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: CountryCode

    @property
    def jurisdiction(self) -> str:
        """The tax jurisdiction key: country, or country-region where the region matters (US-CA)."""
        return f"{self.country}-{self.region}" if self.region else self.country


@classified(personal=("name", "email"), operational=("customer_id",))
class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: SafeId
    name: Text
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


@classified(
    financial=("unit_price", "discount", "tax", "discounts", "taxes", "taxable"),
    operational=("line_id", "sku", "name", "quantity"),
)
class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: SafeId
    sku: Sku
    name: Text
    quantity: int = Field(gt=0, le=10_000)
    unit_price: NonNegativeMoney
    discount: NonNegativeMoney = ZERO
    """Total discount on this line (not per unit)."""
    tax: NonNegativeMoney = ZERO
    """Tax the channel charged on this line."""
    discounts: list[DiscountAllocation] = Field(default_factory=list, max_length=50)
    """The line's discount by order discount (Shopify `discount_allocations`); empty when the channel
    gives the line's discount only as a total."""
    taxes: list[TaxLine] = Field(default_factory=list, max_length=20)
    """The line's tax by jurisdiction (state, county, city, district); empty when the channel gives only
    the total."""
    taxable: bool = True

    @property
    def gross_amount(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def net_amount(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount

    @property
    def discount_allocations(self) -> list[DiscountAllocation]:
        """The discount by order discount; a line-only discount when the channel did not itemize it."""
        if self.discounts or not self.discount:
            return list(self.discounts)
        return [DiscountAllocation(discount=LINE_DISCOUNT, amount=self.discount)]

    @model_validator(mode="after")
    def _check_details(self) -> OrderLine:
        if self.discounts and sum((d.amount for d in self.discounts), ZERO) != self.discount:
            raise ValueError(f"line {self.line_id}: the discount allocations do not add up to the discount")
        if self.taxes and sum((t.amount for t in self.taxes), ZERO) != self.tax:
            raise ValueError(f"line {self.line_id}: the tax lines do not add up to the tax")
        if self.discount > self.gross_amount:
            raise ValueError(f"line {self.line_id}: the discount exceeds the line amount")
        return self


@classified(financial=("amount", "paid_at", "reference"))
class ChannelPayment(BaseModel):
    """What the customer paid at the channel's checkout (Shopify `financial_status` paid or partially paid,
    WooCommerce `date_paid`): recorded as a payment and applied when the order is invoiced."""

    model_config = ConfigDict(frozen=True)

    amount: NonNegativeMoney
    paid_at: datetime
    reference: Annotated[str, StringConstraints(max_length=120)] | None = None


@classified(
    personal=("customer", "shipping_address"),
    financial=(
        "currency",
        "lines",
        "shipping_total",
        "tax_total",
        "grand_total",
        "prices_include_tax",
        "tax_rounding",
        "discounts",
        "shipping_lines",
        "fees",
        "channel_totals",
        "channel_payment",
    ),
    operational=("channel", "external_id", "placed_at", "entered_by"),
)
class CanonicalOrder(BaseModel):
    """An order as a channel sent it, after parsing and structural validation; amounts are the channel's."""

    model_config = ConfigDict(frozen=True)

    channel: SafeId
    external_id: SafeId
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    customer: Customer
    shipping_address: Address
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)
    shipping_total: NonNegativeMoney = ZERO
    """What the channel says shipping costs, after shipping discounts (tax-inclusive when prices are)."""
    tax_total: NonNegativeMoney
    grand_total: NonNegativeMoney
    placed_at: datetime
    entered_by: SafeId
    """Who entered the order: the channel integration (e.g. `channel:shopify`) or an ERP user."""
    prices_include_tax: bool = False
    tax_rounding: TaxRounding = "line"
    discounts: list[OrderDiscount] = Field(default_factory=list, max_length=50)
    shipping_lines: list[Charge] = Field(default_factory=list, max_length=20)
    """Empty when the channel gives shipping only as `shipping_total` (then one untaxed charge)."""
    fees: list[Charge] = Field(default_factory=list, max_length=20)
    channel_totals: ChannelTotals = Field(default_factory=ChannelTotals)
    channel_payment: ChannelPayment | None = None

    @model_validator(mode="after")
    def _check_money(self) -> CanonicalOrder:
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {self.currency}")
        if self.placed_at.tzinfo is None:
            raise ValueError("placed_at must carry a time zone")
        amounts: list[tuple[str, Decimal]] = [
            ("shipping_total", self.shipping_total),
            ("tax_total", self.tax_total),
            ("grand_total", self.grand_total),
        ]
        for line in self.lines:
            amounts += [
                (f"lines[{line.line_id}].unit_price", line.unit_price),
                (f"lines[{line.line_id}].discount", line.discount),
                (f"lines[{line.line_id}].tax", line.tax),
            ]
            amounts += [(f"lines[{line.line_id}].taxes", t.amount) for t in line.taxes]
            amounts += [(f"lines[{line.line_id}].discounts", d.amount) for d in line.discounts]
        for kind, charges in (("shipping_lines", self.shipping_lines), ("fees", self.fees)):
            for charge in charges:
                amounts += [
                    (f"{kind}[{charge.charge_id}].amount", charge.amount),
                    (f"{kind}[{charge.charge_id}].discount", charge.discount),
                    (f"{kind}[{charge.charge_id}].tax", charge.tax),
                ]
                amounts += [(f"{kind}[{charge.charge_id}].taxes", t.amount) for t in charge.taxes]
        amounts += [(f"discounts[{d.key}].amount", d.amount) for d in self.discounts if d.amount is not None]
        totals = self.channel_totals
        amounts += [
            (f"channel_totals.{name}", value)
            for name in ("subtotal", "net_subtotal", "discount_total", "shipping_tax", "fee_total")
            if (value := getattr(totals, name)) is not None
        ]
        amounts += [("channel_totals.tax_lines", t.amount) for t in totals.tax_lines]
        field = scale_violation(amounts, self.currency)
        if field is not None:
            raise ValueError(f"{field} has more decimals than {self.currency} allows")
        line_ids = [line.line_id for line in self.lines]
        if len(set(line_ids)) != len(line_ids):
            raise ValueError("line ids must be unique within an order")
        charge_ids = [c.charge_id for c in (*self.shipping_lines, *self.fees)]
        if len(set(charge_ids)) != len(charge_ids):
            raise ValueError("shipping line and fee ids must be unique within an order")
        keys = [d.key for d in self.discounts]
        if len(set(keys)) != len(keys):
            raise ValueError("discount keys must be unique within an order")
        return self

    @property
    def order_id(self) -> str:
        return order_id_for(self.channel, self.external_id)

    @property
    def subtotal(self) -> Decimal:
        return round_money(sum((line.unit_price * line.quantity for line in self.lines), ZERO), self.currency)

    @property
    def discount_total(self) -> Decimal:
        return round_money(sum((line.discount for line in self.lines), ZERO), self.currency)


class PricingInput(BaseModel):
    """An order's pricing components, whatever channel they came from."""

    model_config = ConfigDict(frozen=True)

    currency: str
    prices_include_tax: bool = False
    tax_rounding: TaxRounding = "line"
    lines: list[OrderLine]
    shipping_lines: list[Charge] = Field(default_factory=list)
    fees: list[Charge] = Field(default_factory=list)
    discounts: list[OrderDiscount] = Field(default_factory=list)
    shipping_total: Money = ZERO
    """Stated by the channel (net of shipping discounts)."""
    tax_total: Money
    """Stated by the channel."""
    grand_total: Money
    """Stated by the channel."""
    channel_totals: ChannelTotals = Field(default_factory=ChannelTotals)

    @property
    def charges(self) -> list[tuple[ItemKind, Charge]]:
        return [(ItemKind.SHIPPING, c) for c in self.shipping_lines] + [(ItemKind.FEE, c) for c in self.fees]


def shipping_charges(shipping_lines: Sequence[Charge], shipping_total: Decimal) -> list[Charge]:
    """The shipping lines, or one untaxed charge of `shipping_total` for a channel that sends only that."""
    if shipping_lines or not shipping_total:
        return list(shipping_lines)
    return [Charge(charge_id="shipping", title="Shipping", amount=shipping_total)]


def pricing_input_of(order: CanonicalOrder) -> PricingInput:
    """The pricing components of a channel's order."""
    return PricingInput(
        currency=order.currency,
        prices_include_tax=order.prices_include_tax,
        tax_rounding=order.tax_rounding,
        lines=list(order.lines),
        shipping_lines=shipping_charges(order.shipping_lines, order.shipping_total),
        fees=list(order.fees),
        discounts=list(order.discounts),
        shipping_total=order.shipping_total,
        tax_total=order.tax_total,
        grand_total=order.grand_total,
        channel_totals=order.channel_totals,
    )


@classified(operational=("status", "previous", "at", "by", "reason"))
class StatusChange(BaseModel):
    """One entry of an order's audit history: who moved it, when, from where to where, and why."""

    status: OrderStatus | BillingStatus
    previous: OrderStatus | BillingStatus | None = None
    at: datetime
    by: str
    reason: str | None = None


@classified(
    financial=("currency", "subtotal", "discount_total", "shipping_total", "tax_total", "grand_total")
)
class Totals(BaseModel):
    currency: str
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    tax_total: Money
    grand_total: Money


class AllocationLine(BaseModel):
    sku: Sku
    warehouse_id: SafeId
    quantity: int = Field(gt=0)


class BackorderLine(BaseModel):
    sku: Sku
    quantity: int = Field(gt=0)


@classified(
    personal=("customer", "shipping_address"),
    financial=(
        "payment_status",
        "lines",
        "totals",
        "computed_tax_total",
        "pricing",
        "tax_calculator",
        "invoice_number",
        "invoice_pdf_key",
    ),
    operational=(
        "order_id",
        "channel",
        "external_id",
        "status",
        "billing_status",
        "hold_reason",
        "failure_code",
        "failure_reason",
        "shipment_exception",
        "allocation",
        "allocation_reason",
        "allocation_choices",
        "backorder",
        "backorder_order_id",
        "split_from_order_id",
        "tracking_number",
        "carrier",
        "placed_at",
        "received_at",
        "updated_at",
        "entered_by",
        "history",
    ),
)
class OrderView(BaseModel):
    """An order as the API shows it."""

    order_id: str
    channel: str
    external_id: str
    status: OrderStatus
    billing_status: BillingStatus
    payment_status: str | None = None
    """Once invoiced: UNPAID, PARTIALLY_PAID, PAID, OVERDUE or REFUNDED (oms.cash.ledger.PaymentStatus)."""
    hold_reason: HoldReason | None = None
    failure_code: str | None = None
    """FAILED: RETRIES_EXHAUSTED (AWS kept failing: retry it) or STEP_FAILED (an unexpected error)."""
    failure_reason: str | None = None
    """FAILED: what happened, as a sentence (the full error is in the logs and `python -m ops show`)."""
    shipment_exception: str | None = None
    """A warehouse shipped after the order's stock was released: what a person must do about it."""
    customer: Customer
    shipping_address: Address
    lines: list[OrderLine]
    totals: Totals
    computed_tax_total: Money | None = None
    pricing: PriceBreakdown | None = None
    """Every amount of the order's price: lines, shipping and fees with their discounts and tax by
    jurisdiction, discounts per code, tax per jurisdiction (what its invoice shows)."""
    tax_calculator: str | None = None
    """Which tax calculator validation checked the order with (and the rate table's version)."""
    allocation: list[AllocationLine] = Field(default_factory=list)
    allocation_reason: str | None = None
    """The allocation decision: strategy, shipments, and what is short (backordered) if anything."""
    allocation_choices: list[str] = Field(default_factory=list)
    """Why each warehouse was chosen, one sentence per warehouse."""
    backorder: list[BackorderLine] = Field(default_factory=list)
    """While BACKORDERED: units per SKU the order waits for."""
    backorder_order_id: str | None = None
    """Ship-what-is-available: the child order that carries this order's backordered units."""
    split_from_order_id: str | None = None
    """Ship-what-is-available: the order this backorder order was split from."""
    invoice_number: str | None = None
    invoice_pdf_key: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    placed_at: datetime
    received_at: datetime
    updated_at: datetime
    entered_by: str
    history: list[StatusChange]

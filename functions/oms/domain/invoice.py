"""The invoice document: what finance receives as JSON (and as a PDF rendered from it).

Built from an order's price breakdown (`oms.pricing.breakdown`): lines with their discounts and tax by
jurisdiction, shipping lines and fees with their own tax, the discounts per code, the tax per jurisdiction.
An `InvoiceDocument` can only exist when its amounts add up: every line's net is its gross less its
discount, every item's tax lines add up to its tax, the header sums are the item sums, the tax per
jurisdiction adds up to the tax total, and subtotal - discounts + shipping + fees (+ tax, when prices are
tax-exclusive) = grand total, all exactly in the currency's minor unit. Money serialises as strings in
JSON, so no consumer reads it as a float.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from oms.domain.order import Address, SafeId, Sku, Text
from oms.domain.pricing import TaxLevel, TaxRate, Title
from oms.money import MINOR_UNITS, ZERO, Money, NonNegativeMoney, scale_violation
from oms.privacy.classification import classified

__all__ = ["TaxRate"]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("issued_at must carry a time zone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def due_date_for(issued_at: datetime, payment_terms_days: int) -> date:
    """The due date of an invoice issued at `issued_at` (UTC business date) with the given terms."""
    return issued_at.astimezone(UTC).date() + timedelta(days=payment_terms_days)


@classified(personal=("name", "address_lines", "email"), financial=("tax_id",))
class Party(BaseModel):
    """Seller or bill-to party as printed on the invoice."""

    model_config = ConfigDict(frozen=True)

    name: Text
    address_lines: list[Text] = Field(default_factory=list, max_length=8)
    tax_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


class InvoiceTax(BaseModel):
    """A tax on one item, or (in `InvoiceDocument.taxes`) one jurisdiction's tax over the whole invoice."""

    model_config = ConfigDict(frozen=True)

    title: Title
    rate: TaxRate | None = None
    level: TaxLevel = TaxLevel.COMBINED
    jurisdiction: Annotated[str, StringConstraints(max_length=64)] | None = None
    taxable_amount: Money | None = None
    """On the whole-invoice lines: the amount the jurisdiction taxed."""
    amount: Money


class InvoiceDiscountShare(BaseModel):
    """The part of one discount carried by one line."""

    model_config = ConfigDict(frozen=True)

    discount: Title
    amount: NonNegativeMoney


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: Sku
    description: Text
    quantity: int = Field(gt=0, le=10_000)
    unit_price: NonNegativeMoney
    discount: NonNegativeMoney = ZERO
    """Total discount on the line (not per unit)."""
    discounts: list[InvoiceDiscountShare] = Field(default_factory=list)
    net_amount: NonNegativeMoney
    """unit_price * quantity - discount."""
    tax_rate: TaxRate | None = None
    """The line's combined rate (None when a tax was stated without a rate)."""
    tax_amount: NonNegativeMoney
    taxes: list[InvoiceTax] = Field(default_factory=list)

    @property
    def gross_amount(self) -> Decimal:
        return self.unit_price * self.quantity

    @model_validator(mode="after")
    def _check_net(self) -> InvoiceLine:
        if self.discount > self.gross_amount:
            raise ValueError(f"line {self.sku}: discount {self.discount} exceeds the line amount")
        if self.net_amount != self.gross_amount - self.discount:
            raise ValueError(
                f"line {self.sku}: net_amount {self.net_amount} is not "
                f"{self.unit_price} x {self.quantity} - {self.discount}"
            )
        if self.discounts and sum((d.amount for d in self.discounts), ZERO) != self.discount:
            raise ValueError(f"line {self.sku}: the discounts do not add up to {self.discount}")
        if self.taxes and sum((t.amount for t in self.taxes), ZERO) != self.tax_amount:
            raise ValueError(f"line {self.sku}: the tax lines do not add up to {self.tax_amount}")
        return self


class InvoiceCharge(BaseModel):
    """A shipping line or a fee on the invoice, with its own discount and tax."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["SHIPPING", "FEE"]
    description: Title
    amount: Money
    discount: NonNegativeMoney = ZERO
    net_amount: Money
    tax_rate: TaxRate | None = None
    tax_amount: Money = ZERO
    taxes: list[InvoiceTax] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> InvoiceCharge:
        if self.net_amount != self.amount - self.discount:
            raise ValueError(f"{self.description}: net_amount is not amount - discount")
        if self.taxes and sum((t.amount for t in self.taxes), ZERO) != self.tax_amount:
            raise ValueError(f"{self.description}: the tax lines do not add up to {self.tax_amount}")
        return self


class InvoiceDiscount(BaseModel):
    """One discount of the order (a code, an automatic discount, a coupon) and where it went."""

    model_config = ConfigDict(frozen=True)

    label: Title
    kind: str
    on_lines: NonNegativeMoney = ZERO
    on_shipping: NonNegativeMoney = ZERO
    on_fees: NonNegativeMoney = ZERO

    @property
    def amount(self) -> Decimal:
        return self.on_lines + self.on_shipping + self.on_fees


@classified(
    personal=("seller", "bill_to", "ship_to"),
    financial=(
        "invoice_number",
        "issued_at",
        "due_date",
        "payment_terms_days",
        "currency",
        "prices_include_tax",
        "lines",
        "charges",
        "discounts",
        "taxes",
        "subtotal",
        "discount_total",
        "shipping_total",
        "shipping_tax",
        "fee_total",
        "fee_tax",
        "tax_total",
        "grand_total",
    ),
    operational=("order_id", "external_id", "channel"),
)
class InvoiceDocument(BaseModel):
    """A numbered invoice for one order, with amounts that add up to the cent."""

    model_config = ConfigDict(frozen=True)

    invoice_number: SafeId
    order_id: SafeId
    external_id: Annotated[str, StringConstraints(max_length=100)]
    channel: SafeId
    issued_at: UtcDatetime
    due_date: date
    payment_terms_days: int = Field(ge=0, le=365)
    seller: Party
    bill_to: Party
    ship_to: Address
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    prices_include_tax: bool = False
    """When true, line prices, shipping and fees include their tax: the tax is shown, not added."""
    lines: list[InvoiceLine] = Field(min_length=1)
    charges: list[InvoiceCharge] = Field(default_factory=list)
    """Shipping lines and fees (when empty, `shipping_total` and `shipping_tax` stand alone)."""
    discounts: list[InvoiceDiscount] = Field(default_factory=list)
    """The discounts per code (their line parts are already in the lines' discounts)."""
    taxes: list[InvoiceTax] = Field(default_factory=list)
    """The tax per jurisdiction over the whole invoice."""
    subtotal: NonNegativeMoney
    """Sum of the lines' unit_price * quantity (before discounts)."""
    discount_total: NonNegativeMoney
    """Sum of the lines' discounts (shipping discounts are in the shipping charges)."""
    shipping_total: NonNegativeMoney
    """Shipping after its discounts."""
    shipping_tax: NonNegativeMoney = ZERO
    """Tax charged on shipping; part of tax_total, on no line."""
    fee_total: Money = ZERO
    fee_tax: Money = ZERO
    tax_total: NonNegativeMoney
    grand_total: NonNegativeMoney

    @property
    def net_total(self) -> Decimal:
        return self.subtotal - self.discount_total

    @model_validator(mode="after")
    def _check_totals(self) -> InvoiceDocument:
        currency = self.currency
        if currency not in MINOR_UNITS:
            raise ValueError(f"unsupported currency {currency}")
        amounts: list[tuple[str, Decimal]] = [
            ("subtotal", self.subtotal),
            ("discount_total", self.discount_total),
            ("shipping_total", self.shipping_total),
            ("shipping_tax", self.shipping_tax),
            ("fee_total", self.fee_total),
            ("fee_tax", self.fee_tax),
            ("tax_total", self.tax_total),
            ("grand_total", self.grand_total),
        ]
        for i, line in enumerate(self.lines):
            amounts += [
                (f"lines[{i}].unit_price", line.unit_price),
                (f"lines[{i}].discount", line.discount),
                (f"lines[{i}].net_amount", line.net_amount),
                (f"lines[{i}].tax_amount", line.tax_amount),
            ]
            amounts += [(f"lines[{i}].taxes", t.amount) for t in line.taxes]
        for i, charge in enumerate(self.charges):
            amounts += [
                (f"charges[{i}].amount", charge.amount),
                (f"charges[{i}].discount", charge.discount),
                (f"charges[{i}].tax_amount", charge.tax_amount),
            ]
        amounts += [(f"taxes[{i}].amount", t.amount) for i, t in enumerate(self.taxes)]
        name = scale_violation(amounts, currency)
        if name is not None:
            raise ValueError(f"{name} has more decimals than {currency} allows")

        def must_equal(name: str, stated: Decimal, computed: Decimal) -> None:
            if stated != computed:
                raise ValueError(f"{name} {stated} does not match the lines ({computed})")

        must_equal("subtotal", self.subtotal, sum((line.gross_amount for line in self.lines), ZERO))
        must_equal("discount_total", self.discount_total, sum((line.discount for line in self.lines), ZERO))
        if self.charges:
            shipping = [c for c in self.charges if c.kind == "SHIPPING"]
            fees = [c for c in self.charges if c.kind == "FEE"]
            must_equal("shipping_total", self.shipping_total, sum((c.net_amount for c in shipping), ZERO))
            must_equal("shipping_tax", self.shipping_tax, sum((c.tax_amount for c in shipping), ZERO))
            must_equal("fee_total", self.fee_total, sum((c.net_amount for c in fees), ZERO))
            must_equal("fee_tax", self.fee_tax, sum((c.tax_amount for c in fees), ZERO))
        line_tax = sum((line.tax_amount for line in self.lines), ZERO)
        must_equal("tax_total", self.tax_total, line_tax + self.shipping_tax + self.fee_tax)
        if self.taxes:
            must_equal("tax_total", self.tax_total, sum((t.amount for t in self.taxes), ZERO))
        expected_grand = self.subtotal - self.discount_total + self.shipping_total + self.fee_total
        if not self.prices_include_tax:
            expected_grand += self.tax_total
        if self.grand_total != expected_grand:
            added = "" if self.prices_include_tax else " + tax_total"
            raise ValueError(
                f"grand_total {self.grand_total} is not subtotal - discount_total + shipping_total"
                f" + fee_total{added} ({expected_grand})"
            )
        if self.due_date < self.issued_at.date():
            raise ValueError("due_date is before the invoice date")
        return self

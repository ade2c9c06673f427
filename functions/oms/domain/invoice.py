"""The invoice document: what finance receives as JSON (and as a PDF rendered from it).

An `InvoiceDocument` can only exist when its amounts add up: every line's net is its gross less its discount,
the header sums are the line sums, and subtotal - discounts + shipping + tax = grand total, all exactly in the
currency's minor unit. Money serialises as strings in JSON, so no consumer reads it as a float.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from oms.domain.order import Address, SafeId, Sku, Text
from oms.money import MINOR_UNITS, ZERO, NonNegativeMoney, scale_violation


def _rate(value: object) -> Decimal:
    if isinstance(value, float | bool):
        raise ValueError("a tax rate must be given as a string or Decimal, not a float")
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError(f"not a decimal rate: {value!r}") from exc


def _rate_range(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 1:
        raise ValueError("a tax rate is a fraction between 0 and 1 (0.0725 for 7.25 %)")
    return value


TaxRate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    AfterValidator(_rate_range),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
"""A tax rate as a fraction (Decimal('0.0725') for 7.25 %); a string in JSON."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("issued_at must carry a time zone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def due_date_for(issued_at: datetime, payment_terms_days: int) -> date:
    """The due date of an invoice issued at `issued_at` (UTC business date) with the given terms."""
    return issued_at.astimezone(UTC).date() + timedelta(days=payment_terms_days)


class Party(BaseModel):
    """Seller or bill-to party as printed on the invoice."""

    model_config = ConfigDict(frozen=True)

    name: Text
    address_lines: list[Text] = Field(default_factory=list, max_length=8)
    tax_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: Sku
    description: Text
    quantity: int = Field(gt=0, le=10_000)
    unit_price: NonNegativeMoney
    discount: NonNegativeMoney = ZERO
    """Total discount on the line (not per unit)."""
    net_amount: NonNegativeMoney
    """unit_price * quantity - discount."""
    tax_rate: TaxRate
    tax_amount: NonNegativeMoney

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
        return self


class InvoiceDocument(BaseModel):
    """A numbered invoice for one order, with amounts that add up to the cent."""

    model_config = ConfigDict(frozen=True)

    invoice_number: SafeId
    order_id: SafeId
    external_id: SafeId
    channel: SafeId
    issued_at: UtcDatetime
    due_date: date
    payment_terms_days: int = Field(ge=0, le=365)
    seller: Party
    bill_to: Party
    ship_to: Address
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    lines: list[InvoiceLine] = Field(min_length=1)
    subtotal: NonNegativeMoney
    """Sum of the lines' unit_price * quantity (before discounts)."""
    discount_total: NonNegativeMoney
    shipping_total: NonNegativeMoney
    shipping_tax: NonNegativeMoney = ZERO
    """Tax charged on shipping (some jurisdictions tax it); part of tax_total, on no line."""
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
        name = scale_violation(amounts, currency)
        if name is not None:
            raise ValueError(f"{name} has more decimals than {currency} allows")

        def must_equal(name: str, stated: Decimal, computed: Decimal) -> None:
            if stated != computed:
                raise ValueError(f"{name} {stated} does not match the lines ({computed})")

        must_equal("subtotal", self.subtotal, sum((line.gross_amount for line in self.lines), ZERO))
        must_equal("discount_total", self.discount_total, sum((line.discount for line in self.lines), ZERO))
        line_tax = sum((line.tax_amount for line in self.lines), ZERO)
        must_equal("tax_total", self.tax_total, line_tax + self.shipping_tax)
        expected_grand = self.subtotal - self.discount_total + self.shipping_total + self.tax_total
        if self.grand_total != expected_grand:
            raise ValueError(
                f"grand_total {self.grand_total} is not subtotal - discount_total + shipping_total"
                f" + tax_total ({expected_grand})"
            )
        if self.due_date < self.issued_at.date():
            raise ValueError("due_date is before the invoice date")
        return self

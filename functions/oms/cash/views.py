"""What the cash API takes and answers (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oms.domain.order import SafeId
from oms.money import Money, NonNegativeMoney

Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$")]
InvoiceNumber = Annotated[str, StringConstraints(pattern=r"^INV-\d{4}-\d{7}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ApplicationLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_number: InvoiceNumber
    amount: NonNegativeMoney


class PaymentBody(BaseModel):
    """A payment a finance user records (a cheque, a transfer seen in online banking)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: Reference
    """The idempotency key: the same reference again answers the first payment."""
    customer_id: SafeId | None = None
    amount: NonNegativeMoney
    currency: Currency
    received_on: date
    method: Annotated[str, StringConstraints(max_length=40)] = "BANK_TRANSFER"
    remittance: Annotated[str, StringConstraints(max_length=500)] | None = None
    """What the payer wrote: invoice numbers found here are matched when `applications` is not given."""
    applications: list[ApplicationLine] | None = Field(default=None, max_length=20)


class ApplyBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    applications: list[ApplicationLine] | None = Field(default=None, max_length=20)
    """None: to the customer's open invoices, oldest first."""
    customer_id: SafeId | None = None
    """Who paid, for a payment whose payer was not identified."""
    note: Note | None = None


class ReversalBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_~\-]{1,64}$")]
    reason: Note


class WriteOffBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: NonNegativeMoney
    reason: Note


class CreditHoldBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on_hold: bool
    reason: Note


class RefundBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    refund_id: Reference
    payment_id: Annotated[str, StringConstraints(pattern=r"^pay_[A-Za-z0-9_\-]{1,80}$")]
    amount: NonNegativeMoney
    reason: Note
    rma_id: SafeId | None = None


class ExecutionBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """The bank transfer's or the provider's refund reference."""


class LedgerEntryView(BaseModel):
    entry_id: str
    source_id: str
    source_kind: str
    amount: Money
    at: datetime
    by: str
    reason: str
    reverses: str | None = None


class InvoiceBalance(BaseModel):
    invoice_number: str
    order_id: str
    customer_id: str
    currency: str
    total: Money
    applied: Money
    credited: Money
    outstanding: Money
    payment_status: str
    issued_on: date
    due_on: date
    paid_on: date | None = None
    dunning_level: int = 0
    entries: list[LedgerEntryView] = Field(default_factory=list)


class PaymentView(BaseModel):
    payment_id: str
    source: str
    currency: str
    amount: Money
    applied: Money
    refunded: Money
    unapplied: Money
    customer_id: str | None = None
    order_id: str | None = None
    received_on: date
    reference: str | None = None
    recorded_by: str
    recorded_at: datetime
    duplicate: bool = False
    exception: str | None = None
    entries: list[LedgerEntryView] = Field(default_factory=list)


class RefundView(BaseModel):
    refund_id: str
    payment_id: str
    currency: str
    amount: Money
    state: str
    reason: str
    granted_by: str
    granted_at: datetime
    executed_by: str | None = None
    executed_at: datetime | None = None
    execution_ref: str | None = None


class AccountView(BaseModel):
    customer_id: str
    credit_hold: bool
    credit_hold_reason: str | None = None
    accounts: list[dict[str, str | int]]
    open_invoices: list[InvoiceBalance]
    open_credits: list[dict[str, str]]


class CashExceptionView(BaseModel):
    exception_id: str
    kind: str
    subject: str
    reason: str
    amount: Money | None = None
    currency: str | None = None
    customer_id: str | None = None
    created_at: datetime

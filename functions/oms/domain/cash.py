"""The states of cash, without I/O: an invoice's balance (a receivable), a payment or credit note (a source),
a ledger entry, and the order's payment status. The rules that change them are oms.cash.ledger; the data
layer reads and writes them (oms.data.cash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from oms.money import ZERO


class SourceKind(StrEnum):
    PAYMENT = "PAYMENT"
    """Money received: a bank credit, a card payment, a channel's checkout, a payment a person recorded."""
    CREDIT_NOTE = "CREDIT_NOTE"
    """Goods returned or a price corrected: the customer owes less."""
    WRITE_OFF = "WRITE_OFF"
    """A small difference the policy's tolerance lets finance stop chasing."""


class PaymentStatus(StrEnum):
    """The order's payment dimension, next to its billing status (oms.domain.status)."""

    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    """Past its due date with something outstanding (set by the daily receivables run, cleared by payment)."""
    REFUNDED = "REFUNDED"
    """Settled entirely by credit notes: the goods came back (what was paid went back or stays as credit)."""


@dataclass(frozen=True)
class Receivable:
    """An invoice's balance."""

    invoice_number: str
    order_id: str
    customer_id: str
    currency: str
    total: Decimal
    applied: Decimal = ZERO
    """Paid, credited and written off, net of reversals."""
    credited: Decimal = ZERO
    """Of `applied`, what credit notes settled."""
    issued_on: date | None = None
    due_on: date | None = None
    paid_on: date | None = None
    """When the outstanding last reached zero (None while something is outstanding)."""
    overdue: bool = False
    """Marked by the daily receivables run once past due with something outstanding."""

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.applied

    @property
    def status(self) -> PaymentStatus:
        return payment_status(self)


@dataclass(frozen=True)
class CashSource:
    """A payment or a credit note: an amount that can be applied to invoices (and, a payment, refunded)."""

    source_id: str
    kind: SourceKind
    currency: str
    amount: Decimal
    customer_id: str | None = None
    """None while the payer is not identified (unapplied cash for a person)."""
    applied: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def unapplied(self) -> Decimal:
        return self.amount - self.applied - self.refunded


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    invoice_number: str
    order_id: str
    customer_id: str
    currency: str
    source_id: str
    source_kind: SourceKind
    amount: Decimal
    """Positive for an application, negative for a reversal."""
    at: datetime
    by: str
    reason: str
    reverses: str | None = None


def payment_status(receivable: Receivable) -> PaymentStatus:
    if receivable.outstanding == 0:
        if receivable.total > 0 and receivable.credited == receivable.total:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PAID
    if receivable.overdue:
        return PaymentStatus.OVERDUE
    return PaymentStatus.UNPAID if receivable.applied == 0 else PaymentStatus.PARTIALLY_PAID

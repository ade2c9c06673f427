"""The application ledger's rules, pure: what applying, reversing, writing off and refunding do to an
invoice's balance and to the balance of the cash that pays it.

Every change is a new ledger entry {source -> invoice, amount, when, who, why, reversal of}; nothing is ever
edited or deleted. A reversal is an entry of the opposite amount whose id is the reversed entry's id with
`~R`, so the same entry cannot be reversed twice (its Put is conditional on the id being new). The
invariants, held by every function here and checked again over a snapshot (oms.governance.invariants):

* for every invoice, outstanding = total - applied, and 0 <= outstanding <= total;
* for every source (payment, credit note), 0 <= applied + refunded <= amount;
* applied on an invoice = the sum of its ledger entries; applied of a source = the sum of the entries it made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from oms.domain.cash import (
    CashSource,
    LedgerEntry,
    PaymentStatus,
    Receivable,
    SourceKind,
    payment_status,
)
from oms.domain.errors import OmsError
from oms.money import ZERO, has_valid_scale


# --------------------------------------------------------------------------------------------- errors
class CashError(OmsError):
    code = "CASH_ERROR"


class OverApplicationError(CashError):
    """More than the invoice's outstanding, or more than the source has left (409)."""

    code = "OVER_APPLICATION"


class CurrencyMismatchError(CashError):
    code = "CURRENCY_MISMATCH"


class CustomerMismatchError(CashError):
    code = "CUSTOMER_MISMATCH"


class InvalidAmountError(CashError):
    code = "INVALID_AMOUNT"


class AlreadyReversedError(CashError):
    code = "ALREADY_REVERSED"


class RefundAboveAvailableError(CashError):
    """A refund above what was paid, or above what of it is not applied to invoices (409)."""

    code = "REFUND_ABOVE_AVAILABLE"


class WriteOffAboveToleranceError(CashError):
    code = "WRITE_OFF_ABOVE_TOLERANCE"


class UnknownInvoiceError(CashError):
    code = "UNKNOWN_INVOICE"


class UnknownSourceError(CashError):
    code = "UNKNOWN_SOURCE"


@dataclass(frozen=True)
class Applied:
    """What one application (or reversal, or write-off) changes: the new balances and the entry."""

    receivable: Receivable
    entry: LedgerEntry
    source: CashSource | None
    """None for a write-off (it has no balance of its own)."""


__all__ = [
    "CashSource",
    "LedgerEntry",
    "PaymentStatus",
    "Receivable",
    "SourceKind",
    "payment_status",
]


def _positive(amount: Decimal, currency: str) -> None:
    if not amount.is_finite() or amount <= 0 or not has_valid_scale(amount, currency):
        raise InvalidAmountError(f"amount {amount} must be positive, in whole {currency} minor units")


def _settled(receivable: Receivable, applied: Decimal, credited: Decimal, on: date) -> Receivable:
    paid_on = receivable.paid_on
    paid_on = (paid_on if receivable.outstanding == 0 else on) if receivable.total - applied == 0 else None
    overdue = receivable.overdue and receivable.total - applied > 0
    return replace(receivable, applied=applied, credited=credited, paid_on=paid_on, overdue=overdue)


def apply(
    source: CashSource,
    receivable: Receivable,
    amount: Decimal,
    *,
    entry_id: str,
    at: datetime,
    by: str,
    reason: str,
) -> Applied:
    """Apply `amount` of `source` to `receivable`. Refuses over-application (of either), another currency
    and another customer's invoice."""
    _positive(amount, receivable.currency)
    if source.currency != receivable.currency:
        raise CurrencyMismatchError(
            f"{source.source_id} is in {source.currency}, invoice {receivable.invoice_number} in "
            f"{receivable.currency}"
        )
    if source.customer_id is not None and source.customer_id != receivable.customer_id:
        raise CustomerMismatchError(
            f"{source.source_id} belongs to {source.customer_id}, invoice {receivable.invoice_number} to "
            f"{receivable.customer_id}"
        )
    if amount > receivable.outstanding:
        raise OverApplicationError(
            f"{amount} would over-apply invoice {receivable.invoice_number}: {receivable.outstanding} "
            f"outstanding of {receivable.total}"
        )
    if amount > source.unapplied:
        raise OverApplicationError(
            f"{amount} is more than {source.source_id} has left to apply "
            f"({source.unapplied} of {source.amount})"
        )
    credited = receivable.credited + (amount if source.kind is SourceKind.CREDIT_NOTE else ZERO)
    entry = LedgerEntry(
        entry_id=entry_id,
        invoice_number=receivable.invoice_number,
        order_id=receivable.order_id,
        customer_id=receivable.customer_id,
        currency=receivable.currency,
        source_id=source.source_id,
        source_kind=source.kind,
        amount=amount,
        at=at,
        by=by,
        reason=reason,
    )
    return Applied(
        receivable=_settled(receivable, receivable.applied + amount, credited, at.date()),
        entry=entry,
        source=replace(source, applied=source.applied + amount, customer_id=receivable.customer_id),
    )


def reversal_id(entry_id: str) -> str:
    return f"{entry_id}~R"


def reverse(
    entry: LedgerEntry,
    source: CashSource | None,
    receivable: Receivable,
    *,
    at: datetime,
    by: str,
    reason: str,
    already_reversed: bool = False,
) -> Applied:
    """The entry that undoes `entry` (an application or write-off): the invoice owes it again and the source
    has it to apply again. A reversal is not reversed (apply again instead)."""
    if entry.reverses is not None or entry.amount <= 0:
        raise AlreadyReversedError(f"{entry.entry_id} is itself a reversal; apply the amount again instead")
    if already_reversed:
        raise AlreadyReversedError(f"{entry.entry_id} was reversed already")
    credited = receivable.credited - (entry.amount if entry.source_kind is SourceKind.CREDIT_NOTE else ZERO)
    reversal = replace(
        entry,
        entry_id=reversal_id(entry.entry_id),
        amount=-entry.amount,
        at=at,
        by=by,
        reason=reason,
        reverses=entry.entry_id,
    )
    new_source = None
    if source is not None:
        if source.applied < entry.amount:
            raise OverApplicationError(f"{source.source_id} has only {source.applied} applied")
        new_source = replace(source, applied=source.applied - entry.amount)
    return Applied(
        receivable=_settled(receivable, receivable.applied - entry.amount, credited, at.date()),
        entry=reversal,
        source=new_source,
    )


def write_off(
    receivable: Receivable,
    amount: Decimal,
    *,
    tolerance: Decimal,
    entry_id: str,
    at: datetime,
    by: str,
    reason: str,
) -> Applied:
    """Write off a small remainder (at most `tolerance`, and at most what is outstanding)."""
    _positive(amount, receivable.currency)
    if amount > receivable.outstanding:
        raise OverApplicationError(
            f"write-off {amount} is more than invoice {receivable.invoice_number} owes "
            f"({receivable.outstanding})"
        )
    if amount > tolerance:
        raise WriteOffAboveToleranceError(
            f"write-off {amount} is above the tolerance {tolerance}: issue a credit note instead"
        )
    source = CashSource(f"wo_{receivable.invoice_number}", SourceKind.WRITE_OFF, receivable.currency, amount)
    return replace(
        apply(source, receivable, amount, entry_id=entry_id, at=at, by=by, reason=reason), source=None
    )


def refund(source: CashSource, amount: Decimal) -> CashSource:
    """Take `amount` back out of a payment's unapplied balance (money returned to the payer)."""
    _positive(amount, source.currency)
    if source.kind is not SourceKind.PAYMENT:
        raise RefundAboveAvailableError(
            f"{source.source_id} is a {source.kind.value.lower().replace('_', ' ')}: "
            "only payments are refunded"
        )
    if amount > source.amount - source.refunded:
        raise RefundAboveAvailableError(
            f"refund {amount} is above what was paid: {source.amount} received, {source.refunded} refunded"
        )
    if amount > source.unapplied:
        raise RefundAboveAvailableError(
            f"refund {amount} is above what {source.source_id} has not applied to invoices "
            f"({source.unapplied}); "
            "credit the invoice first (a return's credit note frees the payment)"
        )
    return replace(source, refunded=source.refunded + amount)


def unrefund(source: CashSource, amount: Decimal) -> CashSource:
    """A granted refund withdrawn before it was executed: the amount is the payer's credit again."""
    return replace(source, refunded=source.refunded - amount)


def allocation(amount: Decimal, receivables: Sequence[Receivable]) -> list[tuple[Receivable, Decimal]]:
    """`amount` spread over `receivables` in the order given (oldest first), each up to its outstanding."""
    left = amount
    shares: list[tuple[Receivable, Decimal]] = []
    for receivable in receivables:
        if left <= 0:
            break
        share = min(left, receivable.outstanding)
        if share > 0:
            shares.append((receivable, share))
            left -= share
    return shares

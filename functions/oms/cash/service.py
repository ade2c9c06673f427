"""The cash logic the handlers call: payments recorded and applied (from a statement, a card provider, a
channel's checkout, a finance user), applications reversed, small differences written off, open credit
applied to a new invoice. Knows nothing about Lambda; commits through oms.data.cash, one transaction per
decision, re-reading and deciding again when a balance changed meanwhile.

Idempotency: a payment's id is what identifies it at its source (the bank's reference, Stripe's payment
intent, the channel order), an entry's id is derived from the payment and the invoice; a second delivery of
the same statement, event or request finds what the first recorded and changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from oms.cash import ledger
from oms.cash.ledger import (
    CashSource,
    CustomerMismatchError,
    InvalidAmountError,
    OverApplicationError,
    Receivable,
    SourceKind,
    UnknownInvoiceError,
    UnknownSourceError,
)
from oms.cash.matching import Match, match_credit
from oms.cash.policy import CashPolicy
from oms.data import cash as store
from oms.data.cash import CashCommit, CashConflictError, NewPayment
from oms.data.credit import ExposureChange, counted_orders
from oms.data.models import CustomerRecord, OrderRecord, PaymentRecord
from oms.money import MINOR_UNITS, ZERO, has_valid_scale
from oms.observability import MetricUnit, logger, metrics

MAX_ATTEMPTS = 6
T = TypeVar("T")


def retrying(decide: Callable[[], T]) -> T:
    """Run a read-decide-commit until it commits without a concurrent change in between."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return decide()
        except CashConflictError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            logger.debug("cash balances changed meanwhile: deciding again")
    raise AssertionError("unreachable")


def commit(change: CashCommit) -> None:
    """Commit a cash decision with the credit exposure it moves (decision 0028): what a customer owes on
    the invoice of an order that counted in its exposure is part of that exposure, so every change to the
    invoice's outstanding amount (a payment or credit applied, a write-off, a reversal) moves the exposure
    by as much, in the same transaction. A customer whose invoices are paid can order again within its
    limit."""
    moved = {
        becomes.order_id: becomes.outstanding - read.outstanding
        for read, becomes in change.receivables.values()
        if becomes.outstanding != read.outstanding
    }
    by_customer: dict[str, Decimal] = {}
    for order_id, customer_id in counted_orders(moved).items():
        by_customer[customer_id] = by_customer.get(customer_id, ZERO) + moved[order_id]
    change.exposure = [ExposureChange(customer, delta) for customer, delta in by_customer.items() if delta]
    store.commit(change)


def entry_id_for(source_id: str, invoice_number: str, salt: str = "") -> str:
    """Deterministic: the same application decided twice is the same entry (its Put refuses the second)."""
    digest = hashlib.sha256(f"{source_id}|{invoice_number}|{salt}".encode()).hexdigest()[:16]
    return f"app_{digest}"


def credit_since(at: datetime, source_id: str) -> str:
    return f"{at.isoformat(timespec='microseconds')}#{source_id}"


@dataclass(frozen=True)
class PaymentOutcome:
    payment_id: str
    duplicate: bool
    applied: Decimal
    unapplied: Decimal
    invoices: list[str]
    exception: str | None = None
    how: str = ""


def _receivable(invoice_number: str) -> Receivable:
    record = store.invoice_by_number(invoice_number)
    if record is None:
        raise UnknownInvoiceError(f"no invoice {invoice_number}")
    return store.receivable_of(record)


def _lookups(policy: CashPolicy) -> dict[str, Callable[..., object]]:
    def invoice(number: str) -> Receivable | None:
        record = store.invoice_by_number(number)
        return store.receivable_of(record) if record is not None else None

    def with_amount(amount: Decimal, tolerance: Decimal) -> list[Receivable]:
        return [store.receivable_of(r) for r in store.open_invoices_with_amount(amount, tolerance)]

    def of_customer(customer_id: str) -> list[Receivable]:
        return [store.receivable_of(r) for r in store.open_invoices_of(customer_id)]

    return {"invoice": invoice, "open_with_amount": with_amount, "open_of_customer": of_customer}


def _customer_named(text: str) -> str | None:
    """A customer whose account name the remittance text contains (the payer's name on the transfer)."""
    lowered = text.lower()
    named = [c.customer_id for c in CustomerRecord.scan() if len(c.name) >= 6 and c.name.lower() in lowered]
    return named[0] if len(named) == 1 else None


def _apply_shares(
    change: CashCommit,
    source: CashSource,
    shares: Sequence[tuple[Receivable, Decimal]],
    *,
    at: datetime,
    by: str,
    reason: str,
    policy: CashPolicy,
    write_off_short: bool,
    salt: str = "",
) -> tuple[CashSource, list[str]]:
    """Apply `shares` of `source` into `change`; the last invoice's remainder within the write-off tolerance
    is written off when `write_off_short` (an underpayment the payer meant as payment in full)."""
    invoices: list[str] = []
    for index, (receivable, amount) in enumerate(shares):
        current = change.receivables.get(receivable.invoice_number, (receivable, receivable))[1]
        applied = ledger.apply(
            source,
            current,
            amount,
            entry_id=entry_id_for(source.source_id, current.invoice_number, salt),
            at=at,
            by=by,
            reason=reason,
        )
        assert applied.source is not None
        after = applied.receivable
        change.entries.append(applied.entry)
        change.move_account(current.customer_id, current.currency, receivables=-amount)
        last = index == len(shares) - 1
        if write_off_short and last and 0 < after.outstanding <= policy.write_off_tolerance:
            written = ledger.write_off(
                after,
                after.outstanding,
                tolerance=policy.write_off_tolerance,
                entry_id=entry_id_for(source.source_id, current.invoice_number, "write-off"),
                at=at,
                by="service:cash",
                reason=f"underpaid by {after.outstanding}: within the write-off tolerance "
                f"{policy.write_off_tolerance} ({source.source_id})",
            )
            change.entries.append(written.entry)
            change.move_account(current.customer_id, current.currency, receivables=-after.outstanding)
            after = written.receivable
        change.receivable(receivable, after)
        source = applied.source
        invoices.append(current.invoice_number)
    return source, invoices


def record_payment(
    *,
    payment_id: str,
    source: str,
    amount: Decimal,
    currency: str,
    received_on: date,
    at: datetime,
    by: str,
    policy: CashPolicy,
    customer_id: str | None = None,
    order_id: str | None = None,
    reference: str | None = None,
    provider_ref: str | None = None,
    statement_id: str | None = None,
    applications: Sequence[tuple[str, Decimal]] | None = None,
    texts: Sequence[str | None] = (),
    note: str | None = None,
    extra: Sequence[Callable[..., None]] = (),
) -> PaymentOutcome:
    """Record a payment once and apply it: to the invoices given (`applications`), else to the invoice of the
    order it was paid for, else as the remittance information matches. What is left is the customer's
    credit (or, from an unknown payer, unapplied cash with an exception record)."""
    if currency not in MINOR_UNITS:
        raise ledger.CurrencyMismatchError(f"currency {currency!r} is not one the OMS keeps")
    if amount <= 0 or not has_valid_scale(amount, currency):
        raise InvalidAmountError(f"amount {amount} must be positive, in whole {currency} minor units")

    def decide() -> PaymentOutcome:
        existing = store.find_payment(payment_id)
        if existing is not None:
            return PaymentOutcome(
                payment_id, True, existing.applied, existing.unapplied, [], None, "recorded before"
            )
        match = _plan(amount, currency, customer_id, order_id, applications, texts, policy)
        payment = CashSource(payment_id, SourceKind.PAYMENT, currency, amount, match.customer_id)
        change = CashCommit(credit_since=credit_since(at, payment_id))
        after, invoices = _apply_shares(
            change,
            payment,
            match.shares,
            at=at,
            by=by,
            reason=f"{source.lower()} payment {payment_id}: {match.how}"[:500],
            policy=policy,
            write_off_short=applications is None,
        )
        change.new_payments.append(
            NewPayment(
                after,
                source=source,
                received_on=received_on,
                recorded_at=at,
                recorded_by=by,
                order_id=order_id,
                reference=reference,
                provider_ref=provider_ref,
                statement_id=statement_id,
                note=note,
            )
        )
        if after.unapplied > 0 and after.customer_id:
            change.move_account(after.customer_id, currency, credit=after.unapplied)
        exception = match.exception if after.unapplied > 0 else None
        if exception is not None:
            change.extra.append(
                lambda tx: store.save_exception(
                    tx,
                    exception_id=f"{exception}:{payment_id}",
                    kind=exception,
                    subject=f"payment:{payment_id}",
                    reason=f"{after.unapplied} {currency} of {amount} not applied: {match.how}",
                    at=at,
                    amount=after.unapplied,
                    currency=currency,
                    customer_id=after.customer_id,
                )
            )
        change.extra += list(extra)
        try:
            commit(change)
        except CashConflictError:
            if store.find_payment(payment_id) is not None:  # recorded meanwhile by another delivery
                existing = store.find_payment(payment_id)
                assert existing is not None
                return PaymentOutcome(
                    payment_id, True, existing.applied, existing.unapplied, [], None, "recorded before"
                )
            raise
        metrics.add_metric(name="PaymentsRecorded", unit=MetricUnit.Count, value=1)
        if exception:
            metrics.add_metric(name="UnappliedCash", unit=MetricUnit.Count, value=1)
        return PaymentOutcome(
            payment_id, False, after.applied, after.unapplied, invoices, exception, match.how
        )

    return retrying(decide)


def _plan(
    amount: Decimal,
    currency: str,
    customer_id: str | None,
    order_id: str | None,
    applications: Sequence[tuple[str, Decimal]] | None,
    texts: Sequence[str | None],
    policy: CashPolicy,
) -> Match:
    if applications is not None:
        shares = []
        for number, share in applications:
            receivable = _receivable(number)
            if customer_id is not None and receivable.customer_id != customer_id:
                raise CustomerMismatchError(f"invoice {number} is not {customer_id}'s")
            if receivable.currency != currency:
                raise ledger.CurrencyMismatchError(
                    f"invoice {number} is in {receivable.currency}, not {currency}"
                )
            shares.append((receivable, share))
        if sum((s for _, s in shares), ZERO) > amount:
            raise OverApplicationError(f"the applications add up to more than the payment's {amount}")
        customers = {r.customer_id for r, _ in shares}
        return Match(customer_id or (customers.pop() if len(customers) == 1 else None), shares, "as recorded")
    if order_id is not None:
        invoice = store.invoice_of_order(order_id)
        if invoice is not None:
            receivable = store.receivable_of(invoice)
            if receivable.currency != currency:
                return Match(
                    receivable.customer_id,
                    how=f"paid in {currency} for order {order_id}, invoiced in {receivable.currency}",
                    exception="CURRENCY_MISMATCH",
                )
            shares = ledger.allocation(amount, [receivable])
            return Match(receivable.customer_id, shares, f"for order {order_id}")
        order = _order_customer(order_id)
        return Match(
            customer_id or order, how=f"for order {order_id}, not invoiced yet: applied at invoicing"
        )
    lookups = _lookups(policy)
    match = match_credit(
        amount=amount,
        currency=currency,
        texts=texts,
        invoice=lookups["invoice"],  # type: ignore[arg-type]
        open_with_amount=lookups["open_with_amount"],  # type: ignore[arg-type]
        customer_named=(lambda text: customer_id) if customer_id else _customer_named,
        open_of_customer=lookups["open_of_customer"],  # type: ignore[arg-type]
        tolerance=policy.match_amount_tolerance,
        limit=policy.max_invoices_per_payment,
    )
    return match


def _order_customer(order_id: str) -> str | None:
    try:
        return str(OrderRecord.get(order_id, consistent_read=True).customer.customer_id)
    except OrderRecord.DoesNotExist:
        return None


def apply_credit(
    source_id: str,
    *,
    at: datetime,
    by: str,
    policy: CashPolicy,
    applications: Sequence[tuple[str, Decimal]] | None = None,
    reason: str = "",
    order_first: str | None = None,
) -> list[str]:
    """Apply what `source_id` has left: to the invoices given, else to its customer's open invoices, oldest
    first (the invoice of `order_first` before the others). Returns the invoices it was applied to."""

    def decide() -> list[str]:
        source = store.source_of(source_id)
        if source is None:
            raise UnknownSourceError(f"no payment or credit note {source_id}")
        if applications is not None:
            shares = []
            for number, amount in applications:
                shares.append((_receivable(number), amount))
        else:
            if source.customer_id is None or source.unapplied <= 0:
                return []
            candidates = [store.receivable_of(r) for r in store.open_invoices_of(source.customer_id)]
            candidates = [r for r in candidates if r.currency == source.currency]
            candidates.sort(key=lambda r: (r.order_id != order_first,))
            shares = ledger.allocation(source.unapplied, candidates[: policy.max_invoices_per_payment])
        if not shares:
            return []
        change = CashCommit(credit_since=credit_since(at, source_id))
        salt = at.isoformat()
        after, invoices = _apply_shares(
            change,
            source,
            shares,
            at=at,
            by=by,
            reason=reason or f"credit of {source_id} applied",
            policy=policy,
            write_off_short=False,
            salt=salt,
        )
        change.source(source, after)
        applied = source.unapplied - after.unapplied
        if applied and source.customer_id is not None:
            change.move_account(source.customer_id, source.currency, credit=-applied)
        elif applied and after.customer_id is not None:
            pass  # an unidentified payment was never the customer's credit
        if after.unapplied == 0:
            for kind in ("UNAPPLIED_CASH", "CURRENCY_MISMATCH"):
                existing = store.find_exception(f"{kind}:{source_id}")
                if existing is not None and existing.state == "OPEN":
                    change.extra.append(
                        _resolver(
                            f"{kind}:{source_id}", by=by, at=at, how=f"applied to {', '.join(invoices)}"
                        )
                    )
        commit(change)
        return invoices

    return retrying(decide)


def _resolver(exception_id: str, *, by: str, at: datetime, how: str) -> Callable[..., None]:
    def write(tx: object) -> None:
        store.resolve_exceptions(tx, [exception_id], by=by, at=at, how=how)  # type: ignore[arg-type]

    return write


def reverse_entry(
    invoice_number: str, entry_id: str, *, at: datetime, by: str, reason: str
) -> ledger.LedgerEntry:
    """Undo an application by a reversing entry (the ledger itself is never edited)."""

    def decide() -> ledger.LedgerEntry:
        entry = store.find_entry(invoice_number, entry_id)
        if entry is None:
            raise UnknownSourceError(f"no ledger entry {entry_id} on invoice {invoice_number}")
        already = store.find_entry(invoice_number, ledger.reversal_id(entry_id)) is not None
        source = store.source_of(entry.source_id) if entry.source_kind is not SourceKind.WRITE_OFF else None
        receivable = _receivable(invoice_number)
        undone = ledger.reverse(
            entry, source, receivable, at=at, by=by, reason=reason, already_reversed=already
        )
        change = CashCommit(credit_since=credit_since(at, entry.source_id))
        change.entries.append(undone.entry)
        change.receivable(receivable, undone.receivable)
        change.move_account(receivable.customer_id, receivable.currency, receivables=entry.amount)
        if source is not None and undone.source is not None:
            change.source(source, undone.source)
            change.move_account(receivable.customer_id, receivable.currency, credit=entry.amount)
        commit(change)
        return undone.entry

    return retrying(decide)


def write_off(
    invoice_number: str, amount: Decimal, *, at: datetime, by: str, reason: str, policy: CashPolicy
) -> ledger.LedgerEntry:
    def decide() -> ledger.LedgerEntry:
        receivable = _receivable(invoice_number)
        written = ledger.write_off(
            receivable,
            amount,
            tolerance=policy.write_off_tolerance,
            entry_id=entry_id_for(f"wo_{invoice_number}", invoice_number, at.isoformat()),
            at=at,
            by=by,
            reason=reason,
        )
        change = CashCommit()
        change.entries.append(written.entry)
        change.receivable(receivable, written.receivable)
        change.move_account(receivable.customer_id, receivable.currency, receivables=-amount)
        commit(change)
        return written.entry

    return retrying(decide)


def on_invoice_issued(order_id: str, *, at: datetime, policy: CashPolicy) -> list[str]:
    """A new invoice: record what the customer paid at the channel's checkout and apply it, then apply the
    customer's open credit (what was paid for this order first, then the oldest). Safe to repeat."""
    invoice = store.invoice_of_order(order_id)
    if invoice is None:
        return []
    try:
        order = OrderRecord.get(order_id, consistent_read=True)
    except OrderRecord.DoesNotExist:
        return []
    applied: list[str] = []
    if order.channel_paid and order.channel_paid > 0:
        outcome = record_payment(
            payment_id=f"pay_chn_{order_id}",
            source="CHANNEL",
            amount=order.channel_paid,
            currency=order.currency,
            received_on=(order.channel_paid_at or at).date(),
            at=at,
            by=f"channel:{order.channel}",
            policy=policy,
            customer_id=order.customer.customer_id,
            order_id=order_id,
            provider_ref=order.channel_payment_ref,
            note="paid at the channel's checkout",
        )
        applied += outcome.invoices
    receivable = store.receivable_of(store.invoice_of_order(order_id) or invoice)
    if receivable.outstanding <= 0:
        return applied
    credits = store.open_credits(receivable.customer_id)
    credits += [
        store.source_of(p.payment_id)  # type: ignore[misc]
        for p in store.unidentified_payments()
        if p.order_id == order_id
    ]
    credits.sort(key=lambda s: 0 if _earmarked(s, order_id) else 1)
    for credit in credits:
        if credit is None or credit.currency != receivable.currency or credit.unapplied <= 0:
            continue
        applied += apply_credit(
            credit.source_id,
            at=at,
            by="service:cash",
            policy=policy,
            reason=f"open credit of {credit.source_id} applied to the new invoice of {order_id}",
            applications=[(receivable.invoice_number, min(credit.unapplied, receivable.outstanding))],
        )
        current = store.invoice_of_order(order_id)
        receivable = store.receivable_of(current) if current is not None else receivable
        if receivable.outstanding <= 0:
            break
    return applied


def _earmarked(source: CashSource | None, order_id: str) -> bool:
    if source is None or source.kind is not SourceKind.PAYMENT:
        return False
    record = store.find_payment(source.source_id)
    return record is not None and record.order_id == order_id


def payment_record(payment_id: str) -> PaymentRecord:
    record = store.find_payment(payment_id)
    if record is None:
        raise UnknownSourceError(f"no payment {payment_id}")
    return record


def identify_payer(payment_id: str, customer_id: str, *, at: datetime, by: str) -> None:
    """A person says who paid an unidentified payment: it becomes that customer's credit."""

    def decide() -> None:
        source = store.source_of(payment_id)
        if source is None or source.kind is not SourceKind.PAYMENT:
            raise UnknownSourceError(f"no payment {payment_id}")
        if source.customer_id == customer_id:
            return
        if source.customer_id is not None:
            raise CustomerMismatchError(f"{payment_id} is {source.customer_id}'s already")
        change = CashCommit(credit_since=credit_since(at, payment_id))
        change.source(source, replace(source, customer_id=customer_id))
        change.move_account(customer_id, source.currency, credit=source.unapplied)
        commit(change)

    retrying(decide)

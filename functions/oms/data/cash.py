"""Cash persistence: receivables (the invoices' balances), payments, credit notes, the application ledger,
customer accounts, refunds, returns, statements and exceptions.

No business rule lives here. Readers turn items into the domain's states (oms.cash.ledger); `commit` writes
what the logic decided in one TransactWriteItems: every balance it changes is conditional on the value the
logic read (a concurrent change makes the whole commit fail with `CashConflictError`, and the logic reads
and decides again), every ledger entry and every new payment is a Put that fails if it exists (so nothing
is recorded twice), and the customers' accounts move by the same amounts in the same transaction, as does
the credit exposure credit control reads (`CashCommit.exposure`, decided by the logic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from oms.data.credit import ExposureChange, exposure_update
from oms.data.models import (
    CashExceptionRecord,
    CreditNoteRecord,
    CustomerAccountRecord,
    CustomerRecord,
    InvoiceRecord,
    LedgerEntryRecord,
    OrderRecord,
    PaymentRecord,
)
from oms.domain.cash import CashSource, LedgerEntry, Receivable, SourceKind, payment_status
from oms.money import ZERO

UNIDENTIFIED = "UNIDENTIFIED"
MAX_TRANSACTION_ITEMS = 100


class CashConflictError(Exception):
    """A balance changed between the read and the commit (or an entry exists): read and decide again."""


class AlreadyRecordedError(Exception):
    """The payment, entry or event of this commit's idempotency key exists: it was recorded before."""


def snapshot_key(day: date, name: str) -> str:
    """Where the daily receivables snapshot `name` of `day` is kept in the documents bucket."""
    return f"receivables/{name}/date={day.isoformat()}/{name}.json"


def account_key(currency: str) -> str:
    return f"ACCOUNT#{currency}"


# ----------------------------------------------------------------------------------------- receivables
def receivable_of(record: InvoiceRecord) -> Receivable:
    applied = record.applied if record.applied is not None else ZERO
    overdue = bool(record.overdue)
    return Receivable(
        invoice_number=record.invoice_number,
        order_id=record.order_id,
        customer_id=record.customer_id,
        currency=record.currency,
        total=record.grand_total,
        applied=applied,
        credited=record.credited if record.credited is not None else ZERO,
        issued_on=record.issued_at.date(),
        due_on=date.fromisoformat(record.due_date),
        paid_on=date.fromisoformat(record.paid_on) if record.paid_on else None,
        overdue=overdue,
    )


def invoice_by_number(invoice_number: str) -> InvoiceRecord | None:
    """The invoice with this number (the index finds its order; the item is then read consistently)."""
    for hit in InvoiceRecord.by_number.query(invoice_number, limit=1):
        try:
            return InvoiceRecord.get(hit.order_id, consistent_read=True)
        except DoesNotExist:
            return None
    return None


def invoice_of_order(order_id: str) -> InvoiceRecord | None:
    try:
        record = InvoiceRecord.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None
    return None if order_id.startswith("SEQUENCE#") else record


def open_invoices_of(customer_id: str) -> list[InvoiceRecord]:
    """A customer's open invoices, oldest due date first."""
    return list(InvoiceRecord.open_by_customer.query(customer_id))


def open_invoices(due_until: str | None = None) -> Iterator[InvoiceRecord]:
    """Every open invoice, oldest due date first (`due_until`: only those due on or before that date)."""
    condition = InvoiceRecord.due_key <= f"{due_until}#~" if due_until else None
    return iter(InvoiceRecord.open_by_due.query("OPEN", range_key_condition=condition))


def open_invoices_with_amount(amount: Decimal, tolerance: Decimal) -> list[InvoiceRecord]:
    return list(
        InvoiceRecord.open_by_due.query(
            "OPEN", filter_condition=InvoiceRecord.outstanding.between(amount - tolerance, amount + tolerance)
        )
    )


def invoices_paid_since(day: date) -> list[InvoiceRecord]:
    """Invoices paid in full on or after `day` (their payment behaviour)."""
    return [
        r
        for r in InvoiceRecord.scan(InvoiceRecord.paid_on >= day.isoformat())
        if not r.order_id.startswith("SEQUENCE#")
    ]


def all_invoices() -> list[InvoiceRecord]:
    return [r for r in InvoiceRecord.scan() if not r.order_id.startswith("SEQUENCE#")]


# ---------------------------------------------------------------------------------------------- sources
def _payment_source(record: PaymentRecord) -> CashSource:
    return CashSource(
        record.payment_id,
        SourceKind.PAYMENT,
        record.currency,
        record.amount,
        record.customer_id,
        record.applied,
        record.refunded,
    )


def _credit_note_source(record: CreditNoteRecord) -> CashSource:
    assert record.currency is not None
    assert record.amount is not None
    return CashSource(
        record.credit_note_id,
        SourceKind.CREDIT_NOTE,
        record.currency,
        record.amount,
        record.customer_id,
        record.applied or ZERO,
    )


def find_payment(payment_id: str) -> PaymentRecord | None:
    try:
        return PaymentRecord.get(payment_id, consistent_read=True)
    except DoesNotExist:
        return None


def find_credit_note(credit_note_id: str) -> CreditNoteRecord | None:
    try:
        return CreditNoteRecord.get(credit_note_id, consistent_read=True)
    except DoesNotExist:
        return None


def source_of(source_id: str) -> CashSource | None:
    if source_id.startswith("cn_"):
        note = find_credit_note(source_id)
        return _credit_note_source(note) if note is not None and note.amount is not None else None
    payment = find_payment(source_id)
    return _payment_source(payment) if payment is not None else None


def open_credits(customer_id: str) -> list[CashSource]:
    """A customer's payments and credit notes with something left to apply, oldest first."""
    found: list[tuple[str, CashSource]] = []
    for payment in PaymentRecord.open_credit.query(customer_id):
        found.append((payment.credit_since or "", _payment_source(payment)))
    for note in CreditNoteRecord.open_credit.query(customer_id):
        found.append((note.credit_since or "", _credit_note_source(note)))
    return [source for _, source in sorted(found, key=lambda pair: pair[0])]


def unidentified_payments() -> list[PaymentRecord]:
    return list(PaymentRecord.open_credit.query(UNIDENTIFIED))


# ----------------------------------------------------------------------------------------------- ledger
def entry_of(record: LedgerEntryRecord) -> LedgerEntry:
    return LedgerEntry(
        entry_id=record.entry_id,
        invoice_number=record.invoice_number,
        order_id=record.order_id,
        customer_id=record.customer_id,
        currency=record.currency,
        source_id=record.source_id,
        source_kind=SourceKind(record.source_kind),
        amount=record.amount,
        at=record.at,
        by=record.by,
        reason=record.reason,
        reverses=record.reverses,
    )


def entries_of_invoice(invoice_number: str) -> list[LedgerEntry]:
    return [entry_of(r) for r in LedgerEntryRecord.query(invoice_number, consistent_read=True)]


def entries_of_source(source_id: str) -> list[LedgerEntry]:
    return [entry_of(r) for r in LedgerEntryRecord.by_source.query(source_id)]


def find_entry(invoice_number: str, entry_id: str) -> LedgerEntry | None:
    try:
        return entry_of(LedgerEntryRecord.get(invoice_number, entry_id, consistent_read=True))
    except DoesNotExist:
        return None


def account(customer_id: str, currency: str) -> CustomerAccountRecord | None:
    try:
        return CustomerAccountRecord.get(customer_id, account_key(currency), consistent_read=True)
    except DoesNotExist:
        return None


def accounts_of(customer_id: str) -> list[CustomerAccountRecord]:
    """A customer's balances, one per currency."""
    return list(
        CustomerAccountRecord.query(
            customer_id, CustomerAccountRecord.entry.startswith("ACCOUNT#"), consistent_read=True
        )
    )


def accounts() -> list[CustomerAccountRecord]:
    return [a for a in CustomerAccountRecord.scan() if a.entry.startswith("ACCOUNT#")]


# ----------------------------------------------------------------------------------------------- commit
@dataclass
class NewPayment:
    payment: CashSource
    """As it stands after this commit (with what the commit applies)."""
    source: str
    received_on: date
    recorded_at: datetime
    recorded_by: str
    order_id: str | None = None
    reference: str | None = None
    provider_ref: str | None = None
    statement_id: str | None = None
    note: str | None = None


@dataclass
class CashCommit:
    """Everything one decision changes, committed together or not at all."""

    new_payments: list[NewPayment] = field(default_factory=list)
    sources: dict[str, tuple[CashSource, CashSource]] = field(default_factory=dict)
    """source id -> (as read, as it becomes)."""
    receivables: dict[str, tuple[Receivable, Receivable]] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)
    accounts: dict[tuple[str, str], list[Decimal]] = field(default_factory=dict)
    """(customer, currency) -> [open receivables delta, unapplied credit delta, open invoices delta]."""
    extra: list[Callable[[TransactWrite], None]] = field(default_factory=list)
    """Further writes of the same decision (a refund, a return, an exception record, a provider event)."""
    exposure: list[ExposureChange] = field(default_factory=list)
    """Customers' credit exposure moves (one per customer), in the same transaction as the balances."""
    credit_since: str = ""

    def source(self, before: CashSource, after: CashSource) -> None:
        first = self.sources.get(before.source_id, (before, before))[0]
        self.sources[before.source_id] = (first, after)

    def receivable(self, before: Receivable, after: Receivable) -> None:
        first = self.receivables.get(before.invoice_number, (before, before))[0]
        self.receivables[before.invoice_number] = (first, after)

    def move_account(
        self,
        customer_id: str,
        currency: str,
        *,
        receivables: Decimal = ZERO,
        credit: Decimal = ZERO,
        invoices: int = 0,
    ) -> None:
        deltas = self.accounts.setdefault((customer_id, currency), [ZERO, ZERO, Decimal(0)])
        deltas[0] += receivables
        deltas[1] += credit
        deltas[2] += invoices

    @property
    def items(self) -> int:
        orders = {after.order_id for _, after in self.receivables.values()}
        return (
            len(self.new_payments)
            + len(self.sources)
            + len(self.receivables)
            + len(orders)
            + len(self.entries)
            + len(self.accounts)
            + len(self.exposure)
            + len(self.extra)
        )


def _credit_attributes(
    model: type[PaymentRecord] | type[CreditNoteRecord], after: CashSource, since: str
) -> list[Action]:
    if after.unapplied > 0:
        return [
            model.credit_customer.set(after.customer_id or UNIDENTIFIED),
            model.credit_since.set(since),
        ]
    return [model.credit_customer.remove(), model.credit_since.remove()]


def _receivable_actions(after: Receivable) -> list[Action]:
    actions: list[Action] = [
        InvoiceRecord.applied.set(after.applied),
        InvoiceRecord.credited.set(after.credited),
        InvoiceRecord.outstanding.set(after.outstanding),
        InvoiceRecord.payment_status.set(payment_status(after).value),
        InvoiceRecord.overdue.set(after.overdue),
    ]
    actions.append(
        InvoiceRecord.paid_on.set(after.paid_on.isoformat())
        if after.paid_on
        else InvoiceRecord.paid_on.remove()
    )
    if after.outstanding > 0:
        due = (after.due_on or after.issued_on or datetime.now(UTC).date()).isoformat()
        actions += [
            InvoiceRecord.open_state.set("OPEN"),
            InvoiceRecord.open_customer.set(after.customer_id),
            InvoiceRecord.due_key.set(f"{due}#{after.invoice_number}"),
        ]
    else:
        actions += [InvoiceRecord.open_state.remove(), InvoiceRecord.open_customer.remove()]
    return actions


def receivable_open_attributes(receivable: Receivable) -> dict[str, Any]:
    """The receivable attributes of a new invoice record (nothing applied yet)."""
    due = (receivable.due_on or receivable.issued_on or datetime.now(UTC).date()).isoformat()
    values: dict[str, Any] = {
        "applied": ZERO,
        "credited": ZERO,
        "outstanding": receivable.outstanding,
        "payment_status": payment_status(receivable).value,
        "due_key": f"{due}#{receivable.invoice_number}",
    }
    if receivable.outstanding > 0:
        values |= {"open_state": "OPEN", "open_customer": receivable.customer_id}
    else:
        values["paid_on"] = (receivable.issued_on or datetime.now(UTC).date()).isoformat()
    return values


def account_move(
    customer_id: str, currency: str, deltas: list[Decimal]
) -> tuple[CustomerAccountRecord, list[Action]]:
    record = CustomerAccountRecord(customer_id, account_key(currency))
    actions: list[Action] = [CustomerAccountRecord.currency.set(currency)]
    if deltas[0]:
        actions.append(CustomerAccountRecord.open_receivables.add(deltas[0]))
    if deltas[1]:
        actions.append(CustomerAccountRecord.unapplied_credit.add(deltas[1]))
    if deltas[2]:
        actions.append(CustomerAccountRecord.open_invoices.add(int(deltas[2])))
    return record, actions


def _entry_record(entry: LedgerEntry) -> LedgerEntryRecord:
    return LedgerEntryRecord(
        entry.invoice_number,
        entry.entry_id,
        order_id=entry.order_id,
        customer_id=entry.customer_id,
        currency=entry.currency,
        source_id=entry.source_id,
        source_kind=entry.source_kind.value,
        amount=entry.amount,
        at=entry.at,
        at_key=entry.at.isoformat(timespec="microseconds") + "#" + entry.entry_id,
        at_day=entry.at.astimezone(UTC).date().isoformat(),
        by=entry.by,
        reason=entry.reason[:500],
        reverses=entry.reverses,
    )


def _payment_record(new: NewPayment, since: str) -> PaymentRecord:
    p = new.payment
    record = PaymentRecord(
        p.source_id,
        source=new.source,
        currency=p.currency,
        amount=p.amount,
        applied=p.applied,
        refunded=p.refunded,
        unapplied=p.unapplied,
        customer_id=p.customer_id,
        order_id=new.order_id,
        received_on=new.received_on.isoformat(),
        reference=(new.reference or None) and new.reference[:500],
        provider_ref=new.provider_ref,
        statement_id=new.statement_id,
        recorded_at=new.recorded_at,
        recorded_by=new.recorded_by,
        note=new.note,
    )
    if p.unapplied > 0:
        record.credit_customer = p.customer_id or UNIDENTIFIED
        record.credit_since = since
    return record


def _is_condition(exc: TransactWriteError) -> bool:
    return any(
        r and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in exc.cancellation_reasons
    )


def commit(change: CashCommit) -> None:
    """Write `change` in one transaction. Raises CashConflictError when something it read has changed (or an
    idempotency key exists): nothing was written, the caller reads and decides again."""
    if change.items > MAX_TRANSACTION_ITEMS:
        raise ValueError(
            f"a cash change of {change.items} items exceeds one transaction ({MAX_TRANSACTION_ITEMS})"
        )
    since = change.credit_since or datetime.now(UTC).isoformat()
    connection = InvoiceRecord._get_connection().connection
    try:
        with TransactWrite(connection=connection) as tx:
            for new in change.new_payments:
                tx.save(_payment_record(new, since), condition=PaymentRecord.payment_id.does_not_exist())
            for before, after in change.sources.values():
                if after.kind is SourceKind.PAYMENT:
                    tx.update(
                        PaymentRecord(after.source_id),
                        actions=[
                            PaymentRecord.applied.set(after.applied),
                            PaymentRecord.refunded.set(after.refunded),
                            PaymentRecord.unapplied.set(after.unapplied),
                            *(
                                [PaymentRecord.customer_id.set(after.customer_id)]
                                if after.customer_id and after.customer_id != before.customer_id
                                else []
                            ),
                            *_credit_attributes(PaymentRecord, after, since),
                        ],
                        condition=(PaymentRecord.applied == before.applied)
                        & (PaymentRecord.refunded == before.refunded),
                    )
                elif after.kind is SourceKind.CREDIT_NOTE:
                    tx.update(
                        CreditNoteRecord(after.source_id),
                        actions=[
                            CreditNoteRecord.applied.set(after.applied),
                            CreditNoteRecord.unapplied.set(after.unapplied),
                            *_credit_attributes(CreditNoteRecord, after, since),
                        ],
                        condition=CreditNoteRecord.applied == before.applied,
                    )
            orders: dict[str, str] = {}
            for read, becomes in change.receivables.values():
                condition: Condition = InvoiceRecord.applied == read.applied
                tx.update(
                    InvoiceRecord(becomes.order_id), actions=_receivable_actions(becomes), condition=condition
                )
                orders[becomes.order_id] = payment_status(becomes).value
            for order_id, status in orders.items():
                tx.update(
                    OrderRecord(order_id),
                    actions=[OrderRecord.payment_status.set(status)],
                    condition=OrderRecord.order_id.exists(),
                )
            for entry in change.entries:
                tx.save(_entry_record(entry), condition=LedgerEntryRecord.entry_id.does_not_exist())
            for (customer_id, currency), deltas in change.accounts.items():
                record, actions = account_move(customer_id, currency, deltas)
                if len(actions) > 1:
                    tx.update(record, actions=actions)
            for moved in change.exposure:
                exposure_actions, exposure_condition = exposure_update(moved)
                tx.update(
                    CustomerRecord(moved.customer_id), actions=exposure_actions, condition=exposure_condition
                )
            for write in change.extra:
                write(tx)
    except TransactWriteError as exc:
        if _is_condition(exc):
            raise CashConflictError(str(exc)) from exc
        raise


def save_exception(
    tx: TransactWrite | None,
    *,
    exception_id: str,
    kind: str,
    subject: str,
    reason: str,
    at: datetime,
    amount: Decimal | None = None,
    currency: str | None = None,
    customer_id: str | None = None,
) -> None:
    """An exception record for a person (written once: a second write of the same id keeps the first)."""
    record = CashExceptionRecord(
        exception_id[:200],
        kind=kind,
        subject=subject,
        reason=reason[:1000],
        amount=amount,
        currency=currency,
        customer_id=customer_id,
        state="OPEN",
        created_at=at,
        created_key=f"{at.isoformat(timespec='microseconds')}#{exception_id[:100]}",
        open_kind=kind,
    )
    if tx is None:
        try:
            record.save(condition=CashExceptionRecord.exception_id.does_not_exist())
        except Exception as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
        return
    tx.save(record)


def resolve_exceptions(
    tx: TransactWrite, subject_ids: Iterable[str], *, by: str, at: datetime, how: str
) -> None:
    for exception_id in subject_ids:
        tx.update(
            CashExceptionRecord(exception_id),
            actions=[
                CashExceptionRecord.state.set("RESOLVED"),
                CashExceptionRecord.resolved_at.set(at),
                CashExceptionRecord.resolved_by.set(by),
                CashExceptionRecord.resolution.set(how[:500]),
                CashExceptionRecord.open_kind.remove(),
            ],
            condition=CashExceptionRecord.exception_id.exists(),
        )


def open_exceptions(kind: str | None = None) -> list[CashExceptionRecord]:
    if kind:
        return list(CashExceptionRecord.open_by_kind.query(kind))
    return [e for e in CashExceptionRecord.scan() if e.state == "OPEN"]


def find_exception(exception_id: str) -> CashExceptionRecord | None:
    try:
        return CashExceptionRecord.get(exception_id, consistent_read=True)
    except DoesNotExist:
        return None


def get_or_none(model: type[Model], hash_key: str, range_key: str | None = None) -> Any:
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None

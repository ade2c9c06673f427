"""Returns (RMAs), credit notes and refunds.

A return names lines of one customer's invoiced orders (several orders per RMA); each line is credited at
its share of what the invoice charged for it (net of discount, with its tax: the order's price breakdown, the
same one the invoice was made from). The goods are received into a warehouse through the stock ledger
(restocked: a RECEIPT; scrapped: a RECEIPT and an ADJUSTMENT out, so the ledger shows both), then one credit
note is issued with its own gapless number (`CN-<year>-<n>`), PDF and JSON in S3, and applied:

* resolution CREDIT: to the returned invoices while they owe something, then to the customer's other open
  invoices, oldest first; what is left is credit applied to the next invoice;
* resolution REFUND: to the returned invoices, freeing what their payments paid (the payments' applications
  are reversed by as much), so that finance can refund it.

A refund is two decisions by two people (Saleor's granted refunds): one grants it (the amount is set aside
from the payment, so it cannot be applied elsewhere meanwhile), another executes it (the money moved).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from oms.aws import client
from oms.cash import ledger
from oms.cash.duties import Identity, refund_execution_refusal
from oms.cash.ledger import CashError, CashSource, SourceKind
from oms.cash.policy import CashPolicy
from oms.cash.service import apply_credit, commit, credit_since, entry_id_for, retrying
from oms.data import cash as store
from oms.data.bus import publish
from oms.data.cash import CashCommit
from oms.data.models import (
    CreditNoteRecord,
    CustomerRecord,
    InvoiceRecord,
    OrderRecord,
    RefundRecord,
    ReturnLineAttribute,
    ReturnRecord,
)
from oms.data.pricing import pricing_of
from oms.documents.cash_pdf import CashDocument, DocumentLine, render_cash_pdf
from oms.domain.events import CASH_SOURCE, CreditNoteIssued
from oms.domain.order import SafeId, Sku
from oms.money import ZERO, round_money
from oms.observability import MetricUnit, metrics
from oms.pricing.breakdown import compute_breakdown


class ReturnRefusedError(CashError):
    code = "RETURN_REFUSED"


class UnknownReturnError(CashError):
    code = "UNKNOWN_RETURN"


class UnknownRefundError(CashError):
    code = "UNKNOWN_REFUND"


class ReturnLineRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: SafeId
    sku: Sku
    quantity: int = Field(gt=0, le=10_000)
    disposition: Literal["RESTOCK", "SCRAP"] = "RESTOCK"
    warehouse_id: SafeId = "WH-NJ"


class ReturnRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rma_id: SafeId
    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=40)
    resolution: Literal["CREDIT", "REFUND"] = "CREDIT"
    reason: str = Field(min_length=1, max_length=500)


def _line_amounts(order: OrderRecord) -> dict[str, tuple[int, Decimal]]:
    """sku -> (quantity invoiced, what the invoice charged for the line incl. tax)."""
    breakdown = compute_breakdown(pricing_of(order))
    amounts: dict[str, tuple[int, Decimal]] = {}
    for item in breakdown.lines:
        if item.sku:
            quantity, total = amounts.get(item.sku, (0, ZERO))
            amounts[item.sku] = (quantity + item.quantity, total + item.total)
    return amounts


def _returned(record: ReturnRecord) -> Counter[tuple[str, str]]:
    return Counter({(line.order_id, line.sku): int(line.quantity) for line in record.lines})


def create_return(
    request: ReturnRequest, *, by: str, at: datetime, previous: Sequence[ReturnRecord] = ()
) -> ReturnRecord:
    """Authorize a return once (a second request with the same RMA id answers the first)."""
    existing = store.get_or_none(ReturnRecord, request.rma_id)
    if existing is not None:
        return existing
    orders: dict[str, OrderRecord] = {}
    lines: list[ReturnLineAttribute] = []
    returned_before: Counter[tuple[str, str]] = Counter()
    for other in previous:
        returned_before += _returned(other)
    asked: Counter[tuple[str, str]] = Counter()
    for line in request.lines:
        asked[(line.order_id, line.sku)] += line.quantity
    customer: str | None = None
    currency: str | None = None
    for line in request.lines:
        if line.order_id not in orders:
            try:
                orders[line.order_id] = OrderRecord.get(line.order_id, consistent_read=True)
            except DoesNotExist:
                raise ReturnRefusedError(f"order {line.order_id} not found") from None
        order = orders[line.order_id]
        invoice = store.invoice_of_order(order.order_id)
        if invoice is None:
            raise ReturnRefusedError(
                f"order {order.order_id} is not invoiced: cancel it instead of returning it"
            )
        customer = customer or order.customer.customer_id
        currency = currency or order.currency
        if order.customer.customer_id != customer or order.currency != currency:
            raise ReturnRefusedError("one return covers orders of one customer in one currency")
        invoiced = _line_amounts(order)
        if line.sku not in invoiced:
            raise ReturnRefusedError(f"order {order.order_id} has no line {line.sku}")
        quantity, total = invoiced[line.sku]
        already = returned_before[(order.order_id, line.sku)]
        if asked[(order.order_id, line.sku)] + already > quantity:
            raise ReturnRefusedError(
                f"{line.sku} of order {order.order_id}: {asked[(order.order_id, line.sku)]} asked, "
                f"{quantity} invoiced, {already} returned before"
            )
        amount = round_money(total * line.quantity / quantity, order.currency)
        lines.append(
            ReturnLineAttribute(
                order_id=order.order_id,
                invoice_number=invoice.invoice_number,
                sku=line.sku,
                quantity=line.quantity,
                amount=amount,
                disposition=line.disposition,
                warehouse_id=line.warehouse_id,
            )
        )
    assert customer is not None
    assert currency is not None
    record = ReturnRecord(
        request.rma_id,
        customer_id=customer,
        currency=currency,
        lines=lines,
        amount=sum((line.amount for line in lines), ZERO),
        resolution=request.resolution,
        state="AUTHORIZED",
        reason=request.reason,
        created_by=by,
        created_at=at,
    )
    try:
        record.save(condition=ReturnRecord.rma_id.does_not_exist())
    except Exception as exc:
        if "ConditionalCheckFailed" in str(exc):
            return ReturnRecord.get(request.rma_id, consistent_read=True)
        raise
    return record


@dataclass(frozen=True)
class Seller:
    lines: list[str]


def receive_return(
    rma_id: str,
    *,
    by: str,
    at: datetime,
    bucket: str,
    seller: Seller,
    policy: CashPolicy,
    move_stock: object,
) -> ReturnRecord:
    """The goods arrived: each line into stock (or scrapped) through the ledger, then the credit note, its
    documents, and its application. Each step is idempotent (references derived from the RMA)."""
    record = store.get_or_none(ReturnRecord, rma_id)
    if record is None:
        raise UnknownReturnError(f"no return {rma_id}")
    for index, line in enumerate(record.lines, start=1):
        move_stock(line, f"RMA-{rma_id}-{index}")  # type: ignore[operator]
    if record.state == "AUTHORIZED":
        try:
            record.update(
                actions=[
                    ReturnRecord.state.set("RECEIVED"),
                    ReturnRecord.received_by.set(by),
                    ReturnRecord.received_at.set(at),
                ],
                condition=ReturnRecord.state == "AUTHORIZED",
            )
        except Exception as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
    note = issue_credit_note(record, by=by, at=at, bucket=bucket, seller=seller)
    _apply_credit_note(record, note, at=at, by=by, policy=policy)
    record = ReturnRecord.get(rma_id, consistent_read=True)
    if record.state != "CREDITED":
        record.update(
            actions=[ReturnRecord.state.set("CREDITED"), ReturnRecord.credit_note_id.set(note.credit_note_id)]
        )
    return ReturnRecord.get(rma_id, consistent_read=True)


def format_credit_note_number(year: int, number: int) -> str:
    return f"CN-{year}-{number:07d}"


def issue_credit_note(
    record: ReturnRecord, *, by: str, at: datetime, bucket: str, seller: Seller
) -> CreditNoteRecord:
    """Number and store the return's credit note once (gapless per year), then write its documents."""
    note_id = f"cn_{record.rma_id}"
    note = store.get_or_none(CreditNoteRecord, note_id)
    for _ in range(20):
        if note is not None:
            break
        sequence_key = f"SEQUENCE#{at.year}"
        sequence = store.get_or_none(CreditNoteRecord, sequence_key)
        last = int(sequence.last_number) if sequence is not None and sequence.last_number else 0
        number = format_credit_note_number(at.year, last + 1)
        prefix = f"credit-notes/{at:%Y/%m}/{number}"
        candidate = CreditNoteRecord(
            note_id,
            number=number,
            customer_id=record.customer_id,
            currency=record.currency,
            amount=record.amount,
            applied=ZERO,
            unapplied=record.amount,
            rma_id=record.rma_id,
            issued_at=at,
            issued_by=by,
            reason=record.reason,
            pdf_key=f"{prefix}.pdf",
            json_key=f"{prefix}.json",
            credit_customer=record.customer_id,
            credit_since=credit_since(at, note_id),
        )
        guard = (
            CreditNoteRecord.credit_note_id.does_not_exist()
            if last == 0
            else CreditNoteRecord.last_number == last
        )
        account, actions = store.account_move(
            record.customer_id, record.currency, [ZERO, record.amount, ZERO]
        )
        try:
            with TransactWrite(connection=CreditNoteRecord._get_connection().connection) as tx:
                tx.save(CreditNoteRecord(sequence_key, last_number=last + 1), condition=guard)
                tx.save(candidate, condition=CreditNoteRecord.credit_note_id.does_not_exist())
                tx.update(account, actions=actions)
        except TransactWriteError as exc:
            if any(
                r and r.code in ("ConditionalCheckFailed", "TransactionConflict")
                for r in exc.cancellation_reasons
            ):
                note = store.get_or_none(CreditNoteRecord, note_id)
                continue
            raise
        note = candidate
        metrics.add_metric(name="CreditNotesIssued", unit=MetricUnit.Count, value=1)
    if note is None:
        raise RuntimeError(f"could not number the credit note of {record.rma_id}")
    if not note.documents_written:
        _write_documents(note, record, bucket=bucket, seller=seller)
        note.update(actions=[CreditNoteRecord.documents_written.set(True)])
        publish(
            CASH_SOURCE,
            CreditNoteIssued(
                credit_note_id=note.credit_note_id,
                number=str(note.number),
                customer_id=record.customer_id,
                currency=record.currency,
                amount=str(note.amount),
                rma_id=record.rma_id,
                pdf_key=str(note.pdf_key),
                issued_at=note.issued_at or at,
            ),
            resources=[str(note.number)],
        )
    return note


def credit_note_document(note: CreditNoteRecord, record: ReturnRecord, seller: Seller) -> CashDocument:
    try:
        name = str(CustomerRecord.get(record.customer_id).name)
    except DoesNotExist:
        name = record.customer_id
    assert note.issued_at is not None
    assert note.amount is not None
    return CashDocument(
        kind="Credit note",
        number=str(note.number),
        issued_at=note.issued_at,
        seller=seller.lines,
        customer_id=record.customer_id,
        customer_name=name,
        currency=record.currency,
        intro=f"Return {record.rma_id}: {record.reason}. This credit is applied to your open invoices"
        + (
            " and refunded"
            if record.resolution == "REFUND"
            else "; any remainder is applied to your next invoice"
        )
        + ".",
        lines=[
            DocumentLine(
                description=f"{int(line.quantity)} x {line.sku} ({line.disposition.lower()})",
                reference=f"{line.invoice_number}",
                amount=line.amount,
            )
            for line in record.lines
        ],
        total_label="Total credited",
        total=note.amount,
    )


def _write_documents(note: CreditNoteRecord, record: ReturnRecord, *, bucket: str, seller: Seller) -> None:
    document = credit_note_document(note, record, seller)
    s3 = client("s3")
    tags = {"credit_note_number": str(note.number), "rma_id": record.rma_id}
    s3.put_object(
        Bucket=bucket,
        Key=note.pdf_key,
        Body=render_cash_pdf(document),
        ContentType="application/pdf",
        Metadata=tags,
    )
    s3.put_object(
        Bucket=bucket,
        Key=note.json_key,
        Body=document.model_dump_json(indent=2).encode(),
        ContentType="application/json",
        Metadata=tags,
    )


def _apply_credit_note(
    record: ReturnRecord, note: CreditNoteRecord, *, at: datetime, by: str, policy: CashPolicy
) -> None:
    source = store.source_of(note.credit_note_id)
    if source is None or source.unapplied <= 0:
        return
    invoices = list(dict.fromkeys(line.invoice_number for line in record.lines))
    if record.resolution == "REFUND":
        for number in invoices:
            _swap_onto_paid_invoice(note.credit_note_id, number, at=at, by=by)
        return
    for number in invoices:
        receivable = store.receivable_of(store.invoice_by_number(number))  # type: ignore[arg-type]
        source = store.source_of(note.credit_note_id)
        if source is None or source.unapplied <= 0:
            return
        if receivable.outstanding > 0:
            apply_credit(
                note.credit_note_id,
                at=at,
                by=by,
                policy=policy,
                applications=[(number, min(source.unapplied, receivable.outstanding))],
                reason=f"credit note {note.number} for return {record.rma_id}",
            )
    apply_credit(
        note.credit_note_id, at=at, by=by, policy=policy, reason=f"credit note {note.number} applied"
    )


def _swap_onto_paid_invoice(note_id: str, invoice_number: str, *, at: datetime, by: str) -> None:
    """Apply the credit note to an invoice its payments settled: each payment's application is reversed by
    as much as the note applies, so what the payment paid is free to refund. One transaction."""

    def decide() -> None:
        note = store.source_of(note_id)
        invoice = store.invoice_by_number(invoice_number)
        if note is None or invoice is None or note.unapplied <= 0:
            return
        receivable = store.receivable_of(invoice)
        change = CashCommit(credit_since=credit_since(at, note_id))
        left = note.unapplied
        current = receivable
        for entry in sorted(store.entries_of_invoice(invoice_number), key=lambda e: e.at, reverse=True):
            if left <= 0:
                break
            if entry.source_kind is not SourceKind.PAYMENT or entry.amount <= 0:
                continue
            if store.find_entry(invoice_number, ledger.reversal_id(entry.entry_id)) is not None:
                continue
            payment = change.sources.get(entry.source_id, (None, store.source_of(entry.source_id)))[1]
            assert payment is not None
            undone = ledger.reverse(
                entry, payment, current, at=at, by=by, reason=f"freed by credit note {note_id}"
            )
            change.entries.append(undone.entry)
            assert undone.source is not None
            freed_here = min(entry.amount, left)
            change.move_account(receivable.customer_id, receivable.currency, credit=freed_here)
            current, payment_after = undone.receivable, undone.source
            if entry.amount > left:
                # An application larger than the note: reversed whole (entries are never edited), and what
                # the note does not replace applied again from the same payment.
                again = ledger.apply(
                    payment_after,
                    current,
                    entry.amount - left,
                    entry_id=entry_id_for(entry.source_id, invoice_number, f"reapplied:{note_id}"),
                    at=at,
                    by=by,
                    reason=f"re-applied after credit note {note_id} took {left} of it",
                )
                change.entries.append(again.entry)
                assert again.source is not None
                current, payment_after = again.receivable, again.source
            change.source(payment, payment_after)
            left -= freed_here
        share = min(note.unapplied, current.outstanding)
        if share <= 0:
            return
        applied = ledger.apply(
            note,
            current,
            share,
            entry_id=entry_id_for(note_id, invoice_number, "swap"),
            at=at,
            by=by,
            reason=f"credit note {note_id} on a paid invoice (its payment freed for a refund)",
        )
        assert applied.source is not None
        change.entries.append(applied.entry)
        change.source(note, applied.source)
        change.receivable(receivable, applied.receivable)
        freed = receivable.outstanding - current.outstanding  # negative: what reversals re-opened
        change.move_account(
            receivable.customer_id, receivable.currency, receivables=-freed - share, credit=-share
        )
        commit(change)

    retrying(decide)


# ---------------------------------------------------------------------------------------------- refunds
def grant_refund(
    *,
    refund_id: str,
    payment_id: str,
    amount: Decimal,
    reason: str,
    by: str,
    at: datetime,
    rma_id: str | None = None,
) -> RefundRecord:
    existing = store.get_or_none(RefundRecord, refund_id)
    if existing is not None:
        return existing

    def decide() -> RefundRecord:
        payment = store.source_of(payment_id)
        if payment is None or payment.kind is not SourceKind.PAYMENT:
            raise ledger.UnknownSourceError(f"no payment {payment_id}")
        after = ledger.refund(payment, amount)
        record = RefundRecord(
            refund_id,
            payment_id=payment_id,
            customer_id=payment.customer_id,
            currency=payment.currency,
            amount=amount,
            state="GRANTED",
            reason=reason,
            rma_id=rma_id,
            granted_by=by,
            granted_at=at,
        )
        change = CashCommit(credit_since=credit_since(at, payment_id))
        change.source(payment, after)
        if payment.customer_id:
            change.move_account(payment.customer_id, payment.currency, credit=-amount)
        change.extra.append(lambda tx: tx.save(record, condition=RefundRecord.refund_id.does_not_exist()))
        commit(change)
        return record

    return retrying(decide)


def execute_refund(refund_id: str, *, identity: Identity, at: datetime, reference: str) -> RefundRecord:
    """The money moved (the bank transfer or the provider's refund): by someone other than who granted it,
    holding the execute duty without the ones kept apart from it (oms.cash.duties)."""
    by = identity.subject
    record = store.get_or_none(RefundRecord, refund_id)
    if record is None:
        raise UnknownRefundError(f"no refund {refund_id}")
    if record.state == "EXECUTED":
        return record
    if record.state != "GRANTED":
        raise ReturnRefusedError(f"refund {refund_id} is {record.state}")
    refusal = refund_execution_refusal(identity, granted_by=record.granted_by)
    if refusal is not None:
        raise refusal
    record.update(
        actions=[
            RefundRecord.state.set("EXECUTED"),
            RefundRecord.executed_by.set(by),
            RefundRecord.executed_at.set(at),
            RefundRecord.execution_ref.set(reference[:200]),
        ],
        condition=RefundRecord.state == "GRANTED",
    )
    metrics.add_metric(name="RefundsExecuted", unit=MetricUnit.Count, value=1)
    return RefundRecord.get(refund_id, consistent_read=True)


def refund_of_payment_json(record: RefundRecord) -> str:
    return json.dumps({"refund_id": record.refund_id, "state": record.state}, default=str)


def _unused(*_: object) -> None:  # keeps imports used by type checkers
    _ = (CashSource, InvoiceRecord)

"""Invoice records and their gapless, per-year numbering.

The next number and the invoice record are written in one transaction guarded by the number last used,
so a number is never skipped (a crash writes neither) and never reused (two writers: one loses and retries).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from oms.data.cash import account_move, receivable_open_attributes
from oms.data.models import InvoiceRecord, InvoiceSequenceRecord
from oms.domain.cash import Receivable

MAX_NUMBERING_ATTEMPTS = 20


class NumberingContentionError(Exception):
    """Too many concurrent invoices for one sequence; the message is retried."""


def get_invoice(order_id: str) -> InvoiceRecord | None:
    try:
        return InvoiceRecord.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None


def format_invoice_number(year: int, number: int) -> str:
    return f"INV-{year}-{number:07d}"


def invoice_keys(invoice_number: str, issued_at: datetime) -> tuple[str, str]:
    prefix = f"invoices/{issued_at:%Y/%m}/{invoice_number}"
    return f"{prefix}.pdf", f"{prefix}.json"


def create_invoice_record(
    *,
    order_id: str,
    issued_at: datetime,
    currency: str,
    grand_total: Decimal,
    tax_total: Decimal,
    customer_id: str,
    due_date: str,
) -> InvoiceRecord:
    """Number and store the order's invoice, once. A second call returns the first invoice.

    The invoice is a receivable from the start: nothing applied, its grand total outstanding, and its
    customer's account owes that much more in the same transaction (the exposure credit control reads)."""
    sequence_key = f"SEQUENCE#{issued_at.year}"
    connection = InvoiceRecord._get_connection().connection
    for _ in range(MAX_NUMBERING_ATTEMPTS):
        existing = get_invoice(order_id)
        if existing is not None:
            return existing
        try:
            last = int(InvoiceSequenceRecord.get(sequence_key, consistent_read=True).last_number)
        except DoesNotExist:
            last = 0
        number = format_invoice_number(issued_at.year, last + 1)
        pdf_key, json_key = invoice_keys(number, issued_at)
        invoice = InvoiceRecord(
            order_id,
            invoice_number=number,
            issued_at=issued_at,
            currency=currency,
            grand_total=grand_total,
            tax_total=tax_total,
            customer_id=customer_id,
            due_date=due_date,
            pdf_key=pdf_key,
            json_key=json_key,
            **receivable_open_attributes(
                Receivable(
                    number,
                    order_id,
                    customer_id,
                    currency,
                    grand_total,
                    issued_on=issued_at.date(),
                    due_on=date.fromisoformat(due_date),
                )
            ),
        )
        account, account_actions = account_move(
            customer_id, currency, [grand_total, Decimal(0), Decimal(1 if grand_total > 0 else 0)]
        )
        sequence = InvoiceSequenceRecord(sequence_key, last_number=last + 1)
        guard = (
            InvoiceSequenceRecord.order_id.does_not_exist()
            if last == 0
            else InvoiceSequenceRecord.last_number == last
        )
        try:
            with TransactWrite(connection=connection) as tx:
                tx.save(sequence, condition=guard)
                tx.save(invoice, condition=InvoiceRecord.order_id.does_not_exist())
                tx.update(account, actions=account_actions)
        except TransactWriteError as exc:
            if any(
                r and r.code in ("ConditionalCheckFailed", "TransactionConflict")
                for r in exc.cancellation_reasons
            ):
                continue  # someone took the number, or invoiced this order: look again
            raise
        return invoice
    raise NumberingContentionError(f"could not number the invoice of {order_id}")

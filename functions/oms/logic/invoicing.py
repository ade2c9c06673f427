"""Invoicing a shipped order: one gaplessly numbered invoice, rendered to PDF and JSON in S3, exactly once.

Every step is safe to repeat: the invoice record is created once (later attempts read it back), the
documents are rendered deterministically from it and overwrite themselves byte for byte, and the order's
billing status moves once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel
from pynamodb.exceptions import DoesNotExist

from oms.aws import client
from oms.data.invoices import create_invoice_record
from oms.data.models import CustomerRecord, InvoiceRecord, OrderRecord
from oms.data.orders import get_order, set_billing_status, ship_to
from oms.documents.invoice_pdf import render_invoice_pdf
from oms.domain.invoice import InvoiceDocument, InvoiceLine, Party
from oms.domain.status import BillingStatus, OrderStatus
from oms.domain.tax import line_tax, tax_rate_for
from oms.logic.tracking import SHIPPED_PHASE, NotReadyError
from oms.money import ZERO, round_money
from oms.observability import MetricUnit, metrics

ACTOR = "service:invoice"


class SellerProfile(BaseModel):
    name: str
    address_lines: list[str]
    tax_id: str
    email: str | None = None


def payment_terms_days(customer_id: str) -> int:
    """The customer's agreed terms (days); channel customers without an account pay at checkout (0)."""
    try:
        return int(CustomerRecord.get(customer_id).payment_terms_days)
    except DoesNotExist:
        return 0


@dataclass(frozen=True)
class InvoiceAmounts:
    """An order's invoice amounts, computed once: the invoice record, the JSON and the PDF all carry these."""

    lines: list[InvoiceLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    grand_total: Decimal


def invoice_amounts(record: OrderRecord) -> InvoiceAmounts:
    """What the customer is billed: the order's amounts as accepted (the channel's, checked against the
    catalog and the tax table by validation, or accepted as they are by a person who released a hold).

    Tax per line is the tax the order records on the line; tax in the order's total beyond its lines' is
    tax on shipping. Lines without their own tax (a channel that sends only the total) get the tax
    table's per-line amount, with the rest on shipping. Never a second computation that could disagree
    with the first (decision 0016)."""
    currency = record.currency
    address = ship_to(record)
    rate = tax_rate_for(address.jurisdiction)
    if rate is None:
        raise ValueError(f"no tax rate for {address.jurisdiction}; the order should have been held")
    given = [line.tax for line in record.lines]
    use_given = sum(given, ZERO) <= record.tax_total and (any(given) or record.tax_total == 0)
    lines = []
    for line in record.lines:
        net = line.unit_price * int(line.quantity) - line.discount
        lines.append(
            InvoiceLine(
                sku=line.sku,
                description=line.name,
                quantity=int(line.quantity),
                unit_price=line.unit_price,
                discount=line.discount,
                net_amount=round_money(net, currency),
                tax_rate=rate,
                tax_amount=line.tax if use_given else line_tax(net, rate, currency),
            )
        )
    line_tax_total = round_money(sum((line.tax_amount for line in lines), ZERO), currency)
    shipping_tax = record.tax_total - line_tax_total
    if shipping_tax < 0:
        raise ValueError(
            f"order {record.order_id}: its lines carry more tax ({line_tax_total}) than its total "
            f"({record.tax_total}); it cannot be invoiced as it is"
        )
    subtotal = round_money(sum((line.unit_price * line.quantity for line in lines), ZERO), currency)
    discount_total = round_money(sum((line.discount for line in lines), ZERO), currency)
    return InvoiceAmounts(
        lines=lines,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=record.shipping_total,
        shipping_tax=shipping_tax,
        tax_total=record.tax_total,
        grand_total=subtotal - discount_total + record.shipping_total + record.tax_total,
    )


def build_invoice_document(
    record: OrderRecord, invoice: InvoiceRecord, seller: SellerProfile, terms_days: int
) -> InvoiceDocument:
    amounts = invoice_amounts(record)
    address = ship_to(record)
    customer = record.customer
    return InvoiceDocument(
        invoice_number=invoice.invoice_number,
        order_id=record.order_id,
        external_id=record.external_id,
        channel=record.channel,
        issued_at=invoice.issued_at,
        due_date=invoice.issued_at.date() + timedelta(days=terms_days),
        payment_terms_days=terms_days,
        seller=Party(
            name=seller.name, address_lines=seller.address_lines, tax_id=seller.tax_id, email=seller.email
        ),
        bill_to=Party(
            name=customer.name,
            address_lines=[
                line for line in (address.line1, address.line2, address.city, address.country) if line
            ],
            tax_id=None,
        ),
        ship_to=address,
        currency=record.currency,
        lines=amounts.lines,
        subtotal=amounts.subtotal,
        discount_total=amounts.discount_total,
        shipping_total=amounts.shipping_total,
        shipping_tax=amounts.shipping_tax,
        tax_total=amounts.tax_total,
        grand_total=amounts.grand_total,
    )


def issue_invoice(order_id: str, *, bucket: str, seller: SellerProfile, now: datetime) -> InvoiceRecord:
    record = get_order(order_id)
    if OrderStatus(record.status) not in SHIPPED_PHASE:
        raise NotReadyError(f"order {order_id} is {record.status}; invoices are issued at shipment")
    terms = payment_terms_days(record.customer.customer_id)
    amounts = invoice_amounts(record)
    invoice = create_invoice_record(
        order_id=order_id,
        issued_at=now,
        currency=record.currency,
        grand_total=amounts.grand_total,
        tax_total=amounts.tax_total,
        customer_id=record.customer.customer_id,
        due_date=(now.date() + timedelta(days=terms)).isoformat(),
    )
    document = build_invoice_document(record, invoice, seller, terms)
    s3 = client("s3")
    tags = {"order_id": order_id, "invoice_number": invoice.invoice_number}
    s3.put_object(
        Bucket=bucket,
        Key=invoice.pdf_key,
        Body=render_invoice_pdf(document),
        ContentType="application/pdf",
        Metadata=tags,
    )
    s3.put_object(
        Bucket=bucket,
        Key=invoice.json_key,
        Body=document.model_dump_json(indent=2).encode("utf-8"),
        ContentType="application/json",
        Metadata=tags,
    )
    if set_billing_status(
        order_id,
        BillingStatus.INVOICED,
        by=ACTOR,
        at=now,
        extra=[
            OrderRecord.invoice_number.set(invoice.invoice_number),
            OrderRecord.invoice_pdf_key.set(invoice.pdf_key),
        ],
    ):
        metrics.add_metric(name="OrdersInvoiced", unit=MetricUnit.Count, value=1)
    return invoice
